"""dtype=np.float32 runs entirely in float32, and gives float64's results to float32 precision.

NumPy 2 promotes a float32 array to float64 when it meets a NumPy float64 *scalar*
(``np.float64(0.1) * X``), but not when it meets a Python float (``0.1 * X``). One such scalar
anywhere in a training step would silently double the memory traffic, so these tests record
the dtype of everything a float32 model computes: every layer's output and input gradient,
every parameter, gradient and buffer, the optimizer's state, the loss's arrays and predict_proba.
"""

import numpy as np
import pytest

from deeplearner import (SGD, Activation, Adam, BatchNorm, CrossEntropyForSoftMax, Dense, Dropout,
                         MeanSquaredError, RMSprop, Sequential, gradcheck)


def data(n=96, n_features=12, n_classes=4, seed=0):
    """Labels 0..3 and features that depend on them, so a few steps of training move every weight."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    X = rng.standard_normal((n, n_features)) + 2.0 * np.eye(n_classes, n_features)[y]
    return X, y


def every_kind_of_layer():
    return [Dense(16), BatchNorm(), Activation("relu"), Dropout(0.2),
            Dense(12, init="he_normal"), BatchNorm(), Activation("tanh"),
            Dense(8), Activation("sigmoid"), Dense(8), Activation("leaky_relu"),
            Dense(4), Activation("softmax")]


def classifier(dtype, optimizer, seed=0, layers=None):
    return Sequential(layers or every_kind_of_layer(), optimizer, CrossEntropyForSoftMax(),
                      input_shape=12, seed=seed, dtype=dtype)


def record_dtypes(model):
    """Wrap every layer's forward and backward to collect (what, dtype) of each array they return."""
    seen = []

    def wrap(layer, method, what):
        original = getattr(layer, method)

        def recording(*args, **kwargs):
            result = original(*args, **kwargs)
            if result is not None:               # a first layer may skip its input gradient
                seen.append((f"{what} of layer {layer.name}", result.dtype))
            return result
        setattr(layer, method, recording)

    for layer in model.layers:
        wrap(layer, "forward", "output")
        wrap(layer, "backward", "input gradient")
    return seen


def arrays_of(model):
    """(what, array) for every parameter, gradient, buffer and optimizer state array of the model."""
    for i, layer in enumerate(model.layers):
        for group in ("params", "grads", "buffers"):
            for name, array in getattr(layer, group, {}).items():
                yield f"layer {i} {group}[{name!r}]", array
    for key, slots in model.optimizer.state.items():
        for name, value in slots.items():
            if isinstance(value, np.ndarray):
                yield f"optimizer state[{key!r}][{name!r}]", value


@pytest.mark.parametrize("optimizer", [SGD(learning_rate=0.1, momentum=0.9),
                                       SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
                                       SGD(learning_rate=0.1), Adam(), RMSprop()],
                         ids=["sgd-momentum", "sgd-nesterov", "sgd", "adam", "rmsprop"])
def test_a_float32_classifier_computes_everything_in_float32(optimizer):
    X, y = data()
    model = classifier(np.float32, optimizer)
    seen = record_dtypes(model)
    model.fit(X, y, X[:32], y[:32], epochs=2, batch_size=32, verbose=0)   # float64 data in: cast once
    model.evaluate(X, y)
    P = model.predict_proba(X)

    assert seen, "the wrappers recorded nothing"
    upcast = [what for what, dtype in seen if dtype != np.float32]
    upcast += [what for what, array in arrays_of(model) if array.dtype != np.float32]
    assert upcast == []
    assert len(model.optimizer.state) > 0
    assert P.dtype == np.float32
    assert model.loss.P.dtype == np.float32


def test_a_float32_regression_computes_everything_in_float32():
    X, y = data()
    targets = np.stack([X[:, 0] - X[:, 1], X[:, 2]], axis=1)                  # (n, 2) float64
    model = Sequential([Dense(16), BatchNorm(), Activation("relu"), Dense(2)],
                       SGD(learning_rate=0.05, momentum=0.9), MeanSquaredError(), input_shape=12,
                       seed=0, dtype=np.float32)
    seen = record_dtypes(model)
    history = model.fit(X, targets, X, targets, epochs=2, batch_size=16, verbose=0)
    assert [what for what, dtype in seen if dtype != np.float32] == []
    assert [what for what, array in arrays_of(model) if array.dtype != np.float32] == []
    assert model.loss.diff.dtype == np.float32
    assert model.predict(X).dtype == np.float32
    assert all(isinstance(value, float) for value in history["loss"] + history["val_loss"])


class Float64Cube:
    """A user's activation written without thought for dtypes: it always returns float64."""

    name = "cube"

    def forward(self, X):
        return np.asarray(X, dtype=np.float64) ** 3

    def backward(self, X, Y, dY):
        return 3.0 * np.asarray(X, dtype=np.float64) ** 2 * dY


def test_a_users_float64_activation_does_not_upcast_a_float32_model():
    """Activation casts its function's Y and dX back to the input's dtype (a no-op for the built-ins)."""
    X, y = data()
    model = classifier(np.float32, SGD(learning_rate=0.01), layers=[
        Dense(8), Activation(Float64Cube()), Dense(4), Activation("softmax")])
    seen = record_dtypes(model)
    model.fit(X, y, epochs=1, batch_size=32, verbose=0)
    assert seen, "the wrappers recorded nothing"
    assert [what for what, dtype in seen if dtype != np.float32] == []
    assert [what for what, array in arrays_of(model) if array.dtype != np.float32] == []


def test_numpy_float64_scalars_would_be_caught():
    """The trap the tests above guard against is real: a NumPy float64 scalar upcasts float32."""
    X = np.ones(3, dtype=np.float32)
    assert (np.float64(0.5) * X).dtype == np.float64
    assert (0.5 * X).dtype == np.float32


def test_gradcheck_checks_the_gradient_for_the_data_and_leaves_training_as_it_was():
    """Whatever the first layer does with dX (fit skips it), gradcheck checks it, and afterwards
    the model trains exactly as a twin that was never checked."""
    def make():
        return classifier(np.float64, SGD(learning_rate=0.1, momentum=0.9), layers=[
            Dense(6), BatchNorm(), Activation("tanh"), Dense(4), Activation("softmax")])
    model, twin = make(), make()
    X, y = data(n=10)
    assert model.train_on_batch(X, y) == twin.train_on_batch(X, y)
    result = gradcheck(model, X, y)
    assert "X" in result.errors and result.max_error < 1e-6
    assert gradcheck(model.layers[0], X).errors["X"] < 1e-6    # a standalone check of that layer too
    for _ in range(3):
        assert model.train_on_batch(X, y) == twin.train_on_batch(X, y)
    for mine, its in zip(model.get_weights(), twin.get_weights()):
        assert all(np.array_equal(mine[key], its[key]) for key in its)


# ---------------------------------------------------------------- float32 agrees with float64
def with_batchnorm():
    return [Dense(16), BatchNorm(), Activation("relu"), Dense(12), BatchNorm(), Activation("tanh"),
            Dense(4), Activation("softmax")]


def without_batchnorm():
    return [Dense(16), Activation("relu"), Dense(12), Activation("tanh"), Dense(4), Activation("softmax")]


# Adam is paired with a network without BatchNorm: a Dense bias just before BatchNorm has a true
# gradient of 0, computed as rounding noise (1e-17 in float64, 1e-9 in float32), and Adam divides
# by the gradient's own size, turning float32's larger noise into real steps. They change nothing
# in training (BatchNorm removes the shift) but do move the running mean seen at inference.
@pytest.mark.parametrize("optimizer, layers", [(SGD(learning_rate=0.1, momentum=0.9), with_batchnorm),
                                               (Adam(learning_rate=0.01), without_batchnorm)],
                         ids=["sgd-momentum-batchnorm", "adam"])
def test_float32_and_float64_give_the_same_results_to_float32_precision(optimizer, layers):
    """Same seed, same data: the same initial weights, then the same training to rtol 1e-3."""
    import copy
    X, y = data()
    models = {dtype: classifier(dtype, copy.copy(optimizer), layers=layers())
              for dtype in (np.float32, np.float64)}
    for w32, w64 in zip(*(model.get_weights() for model in models.values())):
        for key in w32:
            np.testing.assert_array_equal(w32[key], w64[key].astype(np.float32))

    histories = {dtype: model.fit(X, y, X[:48], y[:48], epochs=3, batch_size=32, shuffle=True, verbose=0)
                 for dtype, model in models.items()}
    np.testing.assert_allclose(histories[np.float32]["loss"], histories[np.float64]["loss"], rtol=1e-3)
    np.testing.assert_allclose(histories[np.float32]["val_loss"], histories[np.float64]["val_loss"], rtol=1e-3)
    for w32, w64 in zip(*(model.get_weights() for model in models.values())):
        for key in w32:
            np.testing.assert_allclose(w32[key], w64[key], rtol=1e-3, atol=1e-4, err_msg=key)
    np.testing.assert_allclose(models[np.float32].predict_proba(X), models[np.float64].predict_proba(X),
                               rtol=1e-3, atol=1e-5)


# ---------------------------------------------------------------- float64 data a float32 model cannot hold
FLOAT32_REFUSED = r"X holds values up to {}, beyond float32's range \(3\.4e\+38\): scale the data or build the " \
                  r"model with dtype=np\.float64\."


def float32_model():
    return classifier(np.float32, SGD(learning_rate=0.1), layers=[Dense(4), Activation("softmax")])


@pytest.mark.parametrize("call", ["predict", "predict_proba", "evaluate", "fit"])
@pytest.mark.parametrize("values, shown", [((1e300, 0.5), r"1e\+300"), ((1e39, -1e39), r"1e\+39"),
                                           ((-2.0 ** 128, 1.0), r"3\.4e\+38")])
def test_a_float32_model_refuses_float64_values_beyond_float32s_range(call, values, shown):
    """Cast to float32 they would be inf, and the model would answer inf or NaN; values that
    cancel in a sum (1e39 and -1e39) are found too."""
    X, y = data(n=10)
    X[3, :2] = values
    model = float32_model()
    with pytest.raises(ValueError, match=FLOAT32_REFUSED.format(shown)):
        if call == "fit":
            model.fit(X, y, verbose=0)
        elif call == "evaluate":
            model.evaluate(X, y)
        else:
            getattr(model, call)(X)


def test_the_float32_range_check_draws_the_line_where_the_cast_would_give_inf():
    """float32's largest value is 2^128 - 2^104; a float64 below 2^128 - 2^103 rounds to it, from
    there on to inf."""
    X, _ = data(n=4)
    model = float32_model()
    below, limit = 2.0 ** 128 - 2.0 ** 103 - 2.0 ** 75, 2.0 ** 128 - 2.0 ** 103
    with np.errstate(over="ignore"):
        assert np.isfinite(np.float32(below)) and not np.isfinite(np.float32(limit))
    X[0, 0] = below
    assert model.predict_proba(X).dtype == np.float32                   # accepted
    X[0, 0] = limit
    with pytest.raises(ValueError, match="beyond float32's range"):
        model.predict_proba(X)


def test_the_float32_range_check_sees_strided_data_and_leaves_float64_models_alone():
    X, _ = data(n=6)
    wide = np.repeat(X, 2, axis=1)                                     # (6, 24): every column twice
    wide[2, 0] = 1e300
    model = float32_model()
    with pytest.raises(ValueError, match=FLOAT32_REFUSED.format(r"1e\+300")):
        model.predict_proba(wide[:, ::2])                             # a view, not contiguous
    X[2, 0] = 1e300
    assert np.isfinite(classifier(np.float64, SGD()).predict_proba(X)).all()   # float64 holds 1e300

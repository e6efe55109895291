"""L2, the coupled penalty: its value and gradient, the layers that hold it, saving, total_penalty, messages."""

import numpy as np
import pytest

import deeplearner
from deeplearner import (SGD, L2, Activation, BatchNorm, Conv2D, CrossEntropyForSoftMax, Dense, Flatten,
                         MeanSquaredError, Sequential, gradcheck, load_model)
from helpers import split_step
from deeplearner.parallel.replicas import Replicas
from deeplearner.regularizers import total_penalty


def built(layer, input_shape, seed=0):
    layer.build(input_shape, np.random.default_rng(seed), np.float64)
    return layer


def numeric_gradient(f, array, eps=1e-6):
    """Central differences of f() in every entry of ``array`` (changed in place and put back)."""
    out = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = f()
        array[index] = original - eps
        minus = f()
        array[index] = original
        out[index] = (plus - minus) / (2 * eps)
    return out


# ---------------------------------------------------------------- L2 itself
def test_l2_by_hand():
    """sum(W^2) = 1 + 4 + 9 + 0 = 14: penalty 0.1 * 14 = 1.4, gradient 0.2 W."""
    W = np.array([[1.0, -2.0], [3.0, 0.0]])
    assert L2(0.1)(W) == pytest.approx(1.4, abs=1e-15)
    np.testing.assert_allclose(L2(0.1).gradient(W), [[0.2, -0.4], [0.6, 0.0]], rtol=1e-15)
    assert isinstance(L2(0.1)(W), float)
    assert L2().l2 == 0.01 and L2().get_config() == {"l2": 0.01}              # Keras's default


def test_l2_gradient_is_the_derivative_of_its_value():
    W = np.random.default_rng(0).normal(size=(3, 2, 2))
    regularizer = L2(0.3)
    np.testing.assert_allclose(regularizer.gradient(W), numeric_gradient(lambda: regularizer(W), W),
                               rtol=1e-8, atol=1e-10)


def test_l2_keeps_float32():
    W = np.ones((2, 2), dtype=np.float32)
    assert L2(1e-3).gradient(W).dtype == np.float32


# ---------------------------------------------------------------- in Dense and Conv2D
LAYERS = {
    "dense": (lambda r: Dense(3, kernel_regularizer=r), 4, (5, 4)),
    "conv2d": (lambda r: Conv2D(2, 3, padding=1, kernel_regularizer=r), (2, 4, 4), (3, 2, 4, 4)),
}


@pytest.mark.parametrize("kind", LAYERS)
def test_backward_adds_the_penalty_gradient_to_dW(kind):
    """grads["W"] with L2(l2) = grads["W"] without it + 2 l2 W; b's and dX are unchanged."""
    make, shape, X_shape = LAYERS[kind]
    rng = np.random.default_rng(1)
    X = rng.normal(size=X_shape)
    plain, penalized = built(make(None), shape), built(make(L2(0.05)), shape)
    Y = plain.forward(X, True)
    dY = rng.normal(size=Y.shape)
    dX_plain = plain.backward(dY)
    penalized.forward(X, True)
    dX = penalized.backward(dY)
    W = penalized.params["W"]
    np.testing.assert_allclose(penalized.grads["W"], plain.grads["W"] + 0.1 * W, rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(penalized.grads["b"], plain.grads["b"])
    np.testing.assert_array_equal(dX, dX_plain)
    assert penalized.penalty() == pytest.approx(0.05 * np.sum(W ** 2), rel=1e-14)
    assert plain.penalty() == 0.0


@pytest.mark.parametrize("kind", LAYERS)
def test_gradcheck_of_a_regularized_layer(kind):
    """gradcheck differentiates sum(forward(X) * G) + penalty(), with a random G."""
    make, shape, X_shape = LAYERS[kind]
    layer = built(make(L2(0.2)), shape)
    result = gradcheck(layer, np.random.default_rng(2).normal(size=X_shape))
    assert result.max_error < 1e-7, result


def test_the_penalty_gradient_is_that_of_loss_plus_penalty_in_a_model():
    """compute_gradients' dW against central differences of the data loss + total_penalty.

    The data loss is MSE of predict (no Dropout or BatchNorm here, so inference computes what training does).
    """
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    model = Sequential([Dense(4, kernel_regularizer=L2(0.1)), Activation("tanh"), Dense(2, kernel_regularizer="l2")],
                       SGD(), MeanSquaredError(), input_shape=3, seed=0)
    model.compute_gradients(X, y)
    for i in (0, 2):
        W = model.layers[i].params["W"]
        numeric = numeric_gradient(lambda: MeanSquaredError().forward(model.predict(X), y)
                                   + total_penalty(model.layers), W)
        np.testing.assert_allclose(model.layers[i].grads["W"], numeric, rtol=1e-6, atol=1e-9)


def test_train_on_batch_steps_on_the_penalized_gradient():
    """SGD: W = W - lr (dW_data + 2 l2 W)."""
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))

    def model(regularizer):
        return Sequential([Dense(2, kernel_regularizer=regularizer)], SGD(learning_rate=0.5), MeanSquaredError(),
                          input_shape=3, seed=0)

    plain, penalized = model(None), model(L2(0.2))
    W = plain.layers[0].params["W"].copy()
    plain.compute_gradients(X, y)
    expected = W - 0.5 * (plain.layers[0].grads["W"] + 0.4 * W)
    penalized.train_on_batch(X, y)
    np.testing.assert_allclose(penalized.layers[0].params["W"], expected, rtol=1e-14, atol=1e-15)


def test_a_split_batch_adds_the_penalty_gradient_once():
    """Each replica's backward runs on part of the batch; part 0 alone adds 2 l2 W, the parts' sum is dW."""
    def cnn():
        return Sequential([Conv2D(3, 3, padding=1, kernel_regularizer=L2(0.3)), BatchNorm(), Activation("relu"),
                           Flatten(), Dense(4, kernel_regularizer=L2(0.2)), Activation("softmax")],
                          SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(), input_shape=(2, 5, 5),
                          seed=0)
    rng = np.random.default_rng(5)
    alone, split = cnn(), cnn()
    replicas = Replicas(split, 3, min_rows=1)
    for _ in range(2):
        X, T = rng.normal(size=(9, 2, 5, 5)), np.eye(4)[rng.integers(0, 4, 9)]
        alone.train_step(X, T)
        split_step(replicas, X, T)
    for i in (0, 4):
        for name in ("W", "b"):
            np.testing.assert_allclose(split.layers[i].grads[name], alone.layers[i].grads[name], rtol=1e-11,
                                       atol=1e-13)
            np.testing.assert_allclose(split.layers[i].params[name], alone.layers[i].params[name], rtol=1e-11,
                                       atol=1e-13)


def test_without_a_regularizer_dW_is_exactly_the_data_gradient():
    rng = np.random.default_rng(6)
    X, dY = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    layer = built(Dense(3), 4)
    layer.forward(X, True)
    layer.backward(dY)
    np.testing.assert_array_equal(layer.grads["W"], X.T @ dY)
    assert "kernel_regularizer" not in layer.get_config()


# ---------------------------------------------------------------- total_penalty
def test_total_penalty_adds_up_the_trainable_layers_that_have_one():
    a, b = built(Dense(2, kernel_regularizer=L2(0.1)), 3), built(Conv2D(2, 3, kernel_regularizer=L2(0.2)), (1, 3, 3))
    plain, frozen = built(Dense(2), 3), built(Dense(2, kernel_regularizer=L2(5.0)), 3)
    frozen.trainable = False
    expected = 0.1 * np.sum(a.params["W"] ** 2) + 0.2 * np.sum(b.params["W"] ** 2)
    assert total_penalty([a, Activation("relu"), b, plain, frozen]) == pytest.approx(expected, rel=1e-14)
    assert frozen.penalty() > 0                                       # the layer still knows its own
    assert total_penalty([]) == 0.0 and total_penalty([plain]) == 0.0
    assert Dense(2, kernel_regularizer=L2()).penalty() == 0.0         # not built yet: no weights


# ---------------------------------------------------------------- configs and saving
def test_keras_string_and_saved_form():
    assert Dense(2, kernel_regularizer="l2").kernel_regularizer == L2(0.01)
    assert Conv2D(2, 3, kernel_regularizer="L2").kernel_regularizer == L2(0.01)
    config = Dense(2, kernel_regularizer=L2(1e-4)).get_config()
    assert config["kernel_regularizer"] == {"class": "L2", "config": {"l2": 1e-4}}
    assert Dense(**config).get_config() == config
    conv = Conv2D(2, 3, kernel_regularizer=L2(1e-3))
    assert Conv2D(**conv.get_config()).kernel_regularizer == L2(1e-3)
    assert deeplearner.regularizers.L2 is L2 and "L2" in deeplearner.__all__ and "AdamW" in deeplearner.__all__


def test_a_regularized_model_saves_loads_and_trains_on_identically(tmp_path):
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(24, 1, 4, 4)), np.arange(24) % 3
    model = Sequential([Conv2D(2, 3, kernel_regularizer=L2(1e-3)), Activation("relu"), Flatten(),
                        Dense(3, kernel_regularizer=L2(1e-2)), Activation("softmax")],
                       SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(), input_shape=(1, 4, 4), seed=0)
    model.fit(X, y, epochs=2, batchsize=8, verbose=0)
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    assert loaded.layers[0].kernel_regularizer == L2(1e-3) and loaded.layers[3].kernel_regularizer == L2(1e-2)
    assert total_penalty(loaded.layers) == total_penalty(model.layers) > 0
    model.fit(X, y, epochs=1, batchsize=8, verbose=0)
    loaded.fit(X, y, epochs=1, batchsize=8, verbose=0)
    for a, b in zip(model.layers, loaded.layers):
        for name in a.params:
            np.testing.assert_array_equal(a.params[name], b.params[name])


def test_repr_shows_the_regularizer():
    assert repr(Dense(2, kernel_regularizer=L2(1e-4))) == \
        "Dense(2, kernel_regularizer={'class': 'L2', 'config': {'l2': 0.0001}})"
    assert repr(Dense(2)) == "Dense(2)"


# ---------------------------------------------------------------- errors
class MyL2(L2):
    pass


@pytest.mark.parametrize("make, error, message", [
    (lambda: L2(-0.1), ValueError, r"L2: l2 must be a number >= 0, received l2=-0\.1\. Typical values are 1e-5"),
    (lambda: L2("0.01"), ValueError, r"L2: l2 must be .*received l2='0\.01'.*L2\(1e-4\)"),
    (lambda: L2(float("inf")), ValueError, r"received l2=inf"),
    (lambda: Dense(2, kernel_regularizer="l1"), ValueError,
     r"Dense: unknown kernel_regularizer='l1'\. The one built in is 'l2' \(L2\(0\.01\)\); pass e\.g\. "
     r"kernel_regularizer=L2\(1e-4\)"),
    (lambda: Conv2D(2, 3, kernel_regularizer="l1_l2"), ValueError, r"Conv2D: unknown kernel_regularizer='l1_l2'"),
    (lambda: Dense(2, kernel_regularizer=0.01), TypeError,
     r"Dense: kernel_regularizer must be None, 'l2' or an L2 object such as L2\(1e-4\), "
     r"received kernel_regularizer=0\.01"),
    (lambda: Conv2D(2, 3, kernel_regularizer={"class": "L1", "config": {}}), TypeError,
     r"Conv2D: kernel_regularizer must be None, 'l2' or an L2 object"),
    (lambda: Dense(2, kernel_regularizer=L2), TypeError,
     r"Dense: kernel_regularizer=L2 is the class; pass an instance, e.g\. L2\(1e-4\)"),
    (lambda: Dense(2, kernel_regularizer=MyL2(0.1)).get_config(), ValueError,
     r"Dense: only deeplearner's L2 regularizer can be saved, this layer holds kernel_regularizer=L2\(l2=0\.1\)\. "
     r"Use L2\(l2=\.\.\.\)"),
])
def test_error_messages(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_saving_a_subclassed_regularizer_names_the_layer(tmp_path):
    model = Sequential([Dense(2, kernel_regularizer=MyL2(0.1))], SGD(), MeanSquaredError(), input_shape=3, seed=0)
    with pytest.raises(ValueError, match=r"save_model: layer 0 \(Dense\): Dense: only deeplearner's L2"):
        model.save(tmp_path / "model.npz")

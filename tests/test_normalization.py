"""LayerNorm, GroupNorm and InstanceNorm: statistics per sample, checked against loops, PyTorch and finite differences.

Every case has random gamma and beta (not the ones and zeros they start at, which would hide a
wrong use of gamma in backward) and a random upstream gradient.
"""

import numpy as np
import onnxruntime as ort
import pytest
from helpers import built, split_step

from deeplearner import (SGD, Activation, BatchNorm, Conv2D, CrossEntropyForSoftMax, Dense, Dropout, EarlyStopping,
                         Flatten, GroupNorm, InstanceNorm, LayerMonitor, LayerNorm, MaxPool2D, MeanSquaredError,
                         Sequential, gradcheck, load_model, to_onnx)
from deeplearner.layers.base import ShapeError
from deeplearner.parallel.replicas import Replicas, can_split

# name -> (make the layer, the shape of one sample, the number of groups)
CASES = {
    "LayerNorm rows": (LayerNorm, 7, 1),
    "LayerNorm images": (LayerNorm, (4, 3, 2), 1),
    "GroupNorm 1 group": (lambda: GroupNorm(1), (4, 3, 2), 1),
    "GroupNorm 2 groups": (lambda: GroupNorm(2), (4, 3, 2), 2),
    "GroupNorm C groups": (lambda: GroupNorm(4), (4, 3, 2), 4),
    "InstanceNorm": (InstanceNorm, (4, 3, 2), 4),
}


def random_layer(name, seed=0, dtype=np.float64):
    make, shape, _ = CASES[name]
    layer = built(make(), shape, dtype=dtype)
    rng = np.random.default_rng(seed + 100)
    layer.params["gamma"][:] = rng.uniform(0.5, 2.0, size=layer.params["gamma"].shape) * rng.choice([-1, 1])
    layer.params["beta"][:] = rng.normal(size=layer.params["beta"].shape)
    return layer


def data(shape, n=5, seed=0):
    """Samples whose scale and offset differ from sample to sample, so per-sample statistics matter."""
    rng = np.random.default_rng(seed)
    per_sample = (n,) + ((1,) if isinstance(shape, int) else (1, 1, 1))
    sample_shape = (shape,) if isinstance(shape, int) else shape
    return rng.normal(size=(n, *sample_shape)) * rng.uniform(0.5, 3, per_sample) + rng.normal(0, 5, per_sample)


# ---------------------------------------------------------------- a plain loop reference, steps as in the docstring
def loop_forward_backward(X, dY, groups, gamma, beta, eps):
    """Y, dX, dgamma, dbeta by loops over samples and groups; backward through dx_hat, dvar, dmu, dx."""
    n, C = X.shape[0], X.shape[1]
    X3, dY3 = X.reshape(n, C, -1), dY.reshape(n, C, -1)       # rows: (n, C, 1)
    Y3, dX3 = np.zeros_like(X3), np.zeros_like(X3)
    dgamma, dbeta = np.zeros(C), np.zeros(C)
    per_group = C // groups
    for i in range(n):
        for g in range(groups):
            channels = range(g * per_group, (g + 1) * per_group)
            x = np.concatenate([X3[i, c] for c in channels])
            dy = np.concatenate([dY3[i, c] for c in channels])
            gam = np.concatenate([np.full(X3.shape[2], gamma[c]) for c in channels])
            bet = np.concatenate([np.full(X3.shape[2], beta[c]) for c in channels])
            M = len(x)
            mu = sum(x) / M
            var = sum((x - mu) ** 2) / M
            x_hat = (x - mu) / np.sqrt(var + eps)
            y = gam * x_hat + bet
            dx_hat = gam * dy
            dvar = sum(dx_hat * (x - mu)) * -0.5 * (var + eps) ** -1.5
            dmu = sum(-dx_hat / np.sqrt(var + eps)) + dvar * sum(-2 * (x - mu)) / M
            dx = dx_hat / np.sqrt(var + eps) + dvar * 2 * (x - mu) / M + dmu / M
            for k, c in enumerate(channels):
                values = slice(k * X3.shape[2], (k + 1) * X3.shape[2])
                Y3[i, c], dX3[i, c] = y[values], dx[values]
                dgamma[c] += sum(dy[values] * x_hat[values])
                dbeta[c] += sum(dy[values])
    return Y3.reshape(X.shape), dX3.reshape(X.shape), dgamma, dbeta


@pytest.mark.parametrize("name", CASES)
def test_forward_and_backward_match_a_loop_over_samples_and_groups(name):
    layer = random_layer(name)
    X = data(CASES[name][1])
    Y = layer.forward(X, training=True)
    dY = np.random.default_rng(1).normal(size=Y.shape)
    dX = layer.backward(dY)
    Y_loop, dX_loop, dgamma, dbeta = loop_forward_backward(X, dY, CASES[name][2], layer.params["gamma"],
                                                           layer.params["beta"], layer.eps)
    np.testing.assert_allclose(Y, Y_loop, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dX, dX_loop, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grads["gamma"], dgamma, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["beta"], dbeta, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_gradients_match_finite_differences_with_a_random_upstream_gradient(name):
    layer = random_layer(name)
    result = gradcheck(layer, data(CASES[name][1]), seed=3)
    assert set(result.errors) == {"X", "gamma", "beta"}
    assert result.max_error < 1e-6, result


def torch_reference(name, X, dY, gamma, beta, eps):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    X_t = torch.tensor(X, requires_grad=True)
    gamma_t, beta_t = torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)
    if name == "LayerNorm rows":
        Y = F.layer_norm(X_t, (X.shape[1],), gamma_t, beta_t, eps)
    elif name == "InstanceNorm":
        Y = F.instance_norm(X_t, weight=gamma_t, bias=beta_t, eps=eps)
    else:    # LayerNorm on images with per-channel parameters is group_norm with one group
        Y = F.group_norm(X_t, CASES[name][2], gamma_t, beta_t, eps)
    Y.backward(torch.tensor(dY))
    return [t.detach().numpy() for t in (Y, X_t.grad, gamma_t.grad, beta_t.grad)]


@pytest.mark.parametrize("name", CASES)
def test_forward_and_every_gradient_agree_with_pytorch(name):
    layer = random_layer(name)
    X = data(CASES[name][1], n=6, seed=4)
    Y = layer.forward(X, training=True)
    dY = np.random.default_rng(5).normal(size=Y.shape)
    dX = layer.backward(dY)
    Y_t, dX_t, dgamma_t, dbeta_t = torch_reference(name, X, dY, layer.params["gamma"], layer.params["beta"],
                                                   layer.eps)
    np.testing.assert_allclose(Y, Y_t, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dX, dX_t, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grads["gamma"], dgamma_t, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["beta"], dbeta_t, rtol=1e-12, atol=1e-12)


def test_pytorch_agrees_on_a_larger_float32_group_norm():
    torch = pytest.importorskip("torch")
    layer = built(GroupNorm(4), (8, 6, 5), dtype=np.float32)
    rng = np.random.default_rng(0)
    layer.params["gamma"][:] = rng.normal(size=8)
    X = (rng.normal(size=(3, 8, 6, 5)) * 4 + 2).astype(np.float32)
    dY = rng.normal(size=X.shape).astype(np.float32)
    Y = layer.forward(X)
    dX = layer.backward(dY)
    assert Y.dtype == dX.dtype == layer.grads["gamma"].dtype == np.float32
    X_t = torch.tensor(X, requires_grad=True)
    gamma, beta = torch.tensor(layer.params["gamma"]), torch.tensor(layer.params["beta"])
    Y_t = torch.nn.functional.group_norm(X_t, 4, gamma, beta)
    Y_t.backward(torch.tensor(dY))
    np.testing.assert_allclose(Y, Y_t.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(dX, X_t.grad.numpy(), atol=1e-5)


# ---------------------------------------------------------------- invariants
@pytest.mark.parametrize("name", CASES)
def test_each_samples_group_has_mean_0_and_std_1_before_the_affine(name):
    make, shape, groups = CASES[name]
    layer = built(make(), shape)                       # gamma = 1, beta = 0: Y is x_hat
    X = data(shape, n=4)
    Y = layer.forward(X, training=True)
    per_group = Y.reshape(4, groups, -1)                # channels are consecutive inside a group
    np.testing.assert_allclose(per_group.mean(axis=2), 0, atol=1e-12)
    np.testing.assert_allclose(per_group.std(axis=2), 1, atol=1e-4)    # sqrt(var / (var + eps))
    # ...and not over the batch, as BatchNorm would: each feature's mean over the batch is not 0
    assert np.abs(Y.mean(axis=0)).max() > 0.05


@pytest.mark.parametrize("name", CASES)
def test_inference_computes_what_training_computes(name):
    layer = random_layer(name)
    X = data(CASES[name][1])
    np.testing.assert_allclose(layer.forward(X, training=False), layer.forward(X, training=True), rtol=1e-13,
                               atol=1e-13)
    assert layer.buffers == {}                          # no running statistics


@pytest.mark.parametrize("name", CASES)
def test_a_batch_of_one_sample_gives_that_samples_rows_of_the_whole_batch(name):
    layer = random_layer(name)
    X = data(CASES[name][1], n=4)
    dY = np.random.default_rng(2).normal(size=X.shape)
    Y_all, dX_all = layer.forward(X), layer.backward(dY)
    Y_one, dX_one = layer.forward(X[2:3]), layer.backward(dY[2:3])
    np.testing.assert_allclose(Y_one, Y_all[2:3], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(dX_one, dX_all[2:3], rtol=1e-11, atol=1e-13)


def test_the_first_layer_skips_dx_and_still_fills_its_gradients():
    layer = random_layer("GroupNorm 2 groups")
    X = data((4, 3, 2))
    dY = np.random.default_rng(2).normal(size=X.shape)
    layer.forward(X)
    layer.backward(dY)
    expected = {key: grad.copy() for key, grad in layer.grads.items()}
    layer.needs_input_grad = False
    layer.forward(X)
    assert layer.backward(dY) is None
    for key in expected:
        np.testing.assert_array_equal(layer.grads[key], expected[key])


def test_the_input_is_not_changed_and_outputs_are_new_arrays():
    layer = random_layer("LayerNorm images")
    X = data((4, 3, 2))
    X_copy = X.copy()
    Y1 = layer.forward(X)
    Y2 = layer.forward(X)
    dX = layer.backward(np.ones_like(X) * 0.5)
    np.testing.assert_array_equal(X, X_copy)
    assert not np.shares_memory(Y1, Y2) and not np.shares_memory(dX, X)


# ---------------------------------------------------------------- in a model
def rows_model(dtype=np.float64, seed=0, learning_rate=0.1):
    return Sequential([Dense(16), LayerNorm(), Activation("relu"), Dropout(0.1), Dense(10), LayerNorm(eps=1e-3),
                       Activation("softmax")], SGD(learning_rate=learning_rate, momentum=0.9), CrossEntropyForSoftMax(),
                      input_shape=64, seed=seed, dtype=dtype)


def image_model(dtype=np.float64, seed=0):
    return Sequential([Conv2D(4, 3, padding=1), GroupNorm(2), Activation("relu"), MaxPool2D(2),
                       InstanceNorm(), LayerNorm(), Flatten(), Dense(10), Activation("softmax")],
                      SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(), input_shape=(1, 8, 8),
                      seed=seed, dtype=dtype)


def as_images(X):
    return X.reshape(-1, 1, 8, 8)


def test_summary_and_repr_show_the_layers(capsys):
    model = image_model()
    model.summary()
    text = capsys.readouterr().out
    for row in ("GroupNorm", "InstanceNorm", "LayerNorm"):
        assert row in text
    assert [repr(model.layers[i]) for i in (1, 4, 5)] == ["GroupNorm(2)", "InstanceNorm()", "LayerNorm()"]
    assert repr(InstanceNorm(eps=1e-3)) == "InstanceNorm(eps=0.001)"
    assert model.layers[1].count_params() == (8, 0)     # gamma and beta of 4 channels, nothing else


def test_a_whole_model_passes_gradcheck():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 6)
    # Random inputs: the digits' many exact zeros would put ties into MaxPool2D, where no derivative exists.
    for model, X in ((rows_model(), rng.normal(size=(6, 64))), (image_model(), rng.normal(size=(6, 1, 8, 8)))):
        model.layers[1].params["gamma"][:] = np.linspace(0.5, 2, 16 if X.ndim == 2 else 4)
        result = gradcheck(model, X, y, max_entries=30)
        assert result.max_error < 1e-6, result


def test_a_model_trains_on_batches_of_one_sample(digits):
    X_train, X_valid, y_train, y_valid = digits
    model = rows_model(learning_rate=0.01)
    model.fit(X_train[:300], y_train[:300], epochs=2, batchsize=1, verbose=0)
    assert model.evaluate(X_valid, y_valid)[1] > 0.6     # it learned, one sample at a time
    assert model.train_on_batch(X_train[:1], y_train[:1]) > 0


@pytest.mark.parametrize("make, to_X", [(rows_model, lambda X: X), (image_model, as_images)],
                         ids=["rows", "images"])
def test_save_and_load_give_the_same_predictions(make, to_X, digits, tmp_path):
    X_train, X_valid, y_train, _ = digits
    model = make()
    model.fit(to_X(X_train[:200]), y_train[:200], epochs=2, verbose=0)
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    assert [repr(layer) for layer in loaded.layers] == [repr(layer) for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict_proba(to_X(X_valid)), model.predict_proba(to_X(X_valid)))


def test_a_float32_model_stays_float32_and_predicts_what_float64_does(digits):
    X_train, X_valid, y_train, _ = digits
    single, double = image_model(np.float32), image_model(np.float64)
    double.set_weights(single.get_weights())
    P32, P64 = single.predict_proba(as_images(X_valid)), double.predict_proba(as_images(X_valid))
    assert P32.dtype == np.float32
    np.testing.assert_allclose(P32, P64, atol=1e-5)
    single.fit(as_images(X_train[:100]), y_train[:100], epochs=1, verbose=0)
    assert all(value.dtype == np.float32 for layer in single.layers for value in layer.params.values())


def test_early_stopping_restores_the_best_weights(digits):
    X_train, X_valid, y_train, y_valid = digits
    model = rows_model()
    stop = EarlyStopping(monitor="val_accuracy", patience=2, restore_best_weights=True)
    model.fit(X_train[:400], y_train[:400], X_valid, y_valid, epochs=8, verbose=0, callbacks=[stop])
    # the weights of the best epoch, which is not the last one here: restoring them changed the model
    assert stop.best_epoch < len(model.history_["val_accuracy"])
    assert model.evaluate(X_valid, y_valid)[1] == max(model.history_["val_accuracy"])


def test_layer_monitor_records_the_normalization_layers(digits):
    X_train, X_valid, y_train, _ = digits
    model = image_model()
    monitor = LayerMonitor(as_images(X_valid[:50]), every=2)
    model.fit(as_images(X_train[:100]), y_train[:100], epochs=1, batchsize=20, verbose=0, callbacks=[monitor])
    assert {"1 GroupNorm", "4 InstanceNorm", "5 LayerNorm"} <= set(monitor.names)
    assert monitor.grad_norms["1 GroupNorm"]["gamma"].shape == (2,)
    assert np.all(monitor.grad_norms["5 LayerNorm"]["beta"] > 0)
    # after LayerNorm (gamma and beta not far from 1 and 0) the outputs are centred and scaled
    assert abs(monitor.outputs["5 LayerNorm"]["mean"][-1]) < 0.5


def test_a_batch_split_between_threads_gives_the_one_thread_step():
    """The replicas (model/replicas.py) keep their own buffers: a shared one would mix two parts' X_hat."""
    alone, split = image_model(), image_model()
    assert can_split(split)
    replicas = Replicas(split, 3, min_rows=1)
    rng = np.random.default_rng(0)
    for _ in range(3):
        X, T = rng.normal(size=(10, 1, 8, 8)), np.eye(10)[rng.integers(0, 10, 10)]
        loss_alone, _ = alone.train_step(X, T)
        loss_split, _ = split_step(replicas, X, T)
        assert loss_split == pytest.approx(loss_alone, rel=1e-12)
    for layer_alone, layer_split in zip(alone.layers, split.layers):
        for key in layer_alone.params:
            np.testing.assert_allclose(layer_split.params[key], layer_alone.params[key], rtol=1e-11, atol=1e-13)
    twins = [layers[1] for layers in replicas.layers]
    assert all(twin.params is split.layers[1].params for twin in twins)            # the same parameters
    assert len({id(vars(twin).get("_X_hat_buffer")) for twin in twins}) == len(twins)   # buffers of its own


# ---------------------------------------------------------------- ONNX
def onnx_case(kind, dtype):
    """A trained model (random gamma and beta) whose layers ONNX Runtime runs in ``dtype``; no Conv in float64."""
    if kind == "rows":
        model = Sequential([Dense(12), LayerNorm(), Activation("tanh"), Dense(3), LayerNorm(), Activation("softmax")],
                           SGD(learning_rate=0.1), CrossEntropyForSoftMax(), input_shape=6, seed=0, dtype=dtype)
        X = np.random.default_rng(0).normal(size=(40, 6)) * 3
    else:
        model = Sequential([MaxPool2D(1), GroupNorm(2), Activation("relu"), InstanceNorm(), LayerNorm(), Flatten(),
                            Dense(3), Activation("softmax")], SGD(learning_rate=0.1), CrossEntropyForSoftMax(),
                           input_shape=(4, 3, 5), seed=0, dtype=dtype)
        X = np.random.default_rng(0).normal(size=(40, 4, 3, 5)) * 3 + 1
    model.fit(X, np.arange(40) % 3, epochs=2, verbose=0)
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if "gamma" in layer.params:
            layer.params["gamma"][:] = rng.normal(size=layer.params["gamma"].shape)
            layer.params["beta"][:] = rng.normal(size=layer.params["beta"].shape)
    return model, X.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("kind", ["rows", "images"])
def test_onnx_runtime_predicts_what_predict_proba_does(kind, dtype, tmp_path):
    model, X = onnx_case(kind, dtype)
    to_onnx(model, tmp_path / "model.onnx")
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    for batch in (1, 7, 40):
        P = session.run(None, {"X": X[:batch]})[0]
        assert P.dtype == dtype
        np.testing.assert_allclose(P, model.predict_proba(X[:batch]), rtol=0,
                                   atol=1e-10 if dtype == np.float64 else 1e-5)


def test_the_onnx_graph_normalizes_with_basic_operators(tmp_path):
    model, _ = onnx_case("images", np.float64)
    proto = to_onnx(model, tmp_path / "model.onnx")
    ops = [node.op_type for node in proto.graph.node if node.name.startswith("1.GroupNorm/")]
    assert ops.count("ReduceMean") == 2 and "Reshape" in ops and "Div" in ops
    assert not {"GroupNormalization", "LayerNormalization", "InstanceNormalization"} & set(ops)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("channels, groups, nearest", [(6, 4, "groups=3 or groups=6"), (4, 3, "groups=2 or groups=4"),
                                                       (4, 6, "groups=4,"), (7, 2, "groups=1 or groups=7")])
def test_groups_that_do_not_divide_the_channels_fail_at_build_with_the_nearest_that_do(channels, groups, nearest):
    with pytest.raises(ShapeError, match=rf"GroupNorm: groups={groups} does not divide the {channels} channels of "
                                         rf"its input .* Use {nearest}"):
        built(GroupNorm(groups), (channels, 3, 3))


def test_the_model_names_the_layer_whose_groups_do_not_fit():
    with pytest.raises(ShapeError, match=r"layer 1 \(GroupNorm\) received samples of shape \(6, 4, 4\): "
                                         r"GroupNorm: groups=4 does not divide the 6 channels"):
        Sequential([Conv2D(6, 3, padding=1), GroupNorm(4), Flatten(), Dense(2), Activation("softmax")], SGD(),
                   CrossEntropyForSoftMax(), input_shape=(1, 4, 4))


@pytest.mark.parametrize("make", [lambda: GroupNorm(2), InstanceNorm], ids=["GroupNorm", "InstanceNorm"])
def test_rows_given_to_a_layer_for_images_are_refused_with_the_fix(make):
    name = type(make()).__name__
    with pytest.raises(ShapeError, match=rf"{name} takes images \(channels, height, width\), received flat rows "
                                         rf"of 10 features. For rows use LayerNorm\(\)"):
        built(make(), 10)
    with pytest.raises(ShapeError, match=rf"{name} takes images .* received samples of shape \(3, 4\)"):
        built(make(), (3, 4))


def test_layer_norm_refuses_a_sample_shape_that_is_neither_rows_nor_images():
    with pytest.raises(ShapeError, match=r"LayerNorm takes rows \(an int width\) or images \(channels, height, "
                                         r"width\), received \(3, 4\)"):
        built(LayerNorm(), (3, 4))


@pytest.mark.parametrize("make, shape, unit", [(LayerNorm, 1, "sample"), (InstanceNorm, (3, 1, 1), "channel of each "
                                               "sample"), (lambda: GroupNorm(1), (1, 1, 1), "sample")])
def test_a_single_value_to_normalize_over_is_refused(make, shape, unit):
    with pytest.raises(ShapeError, match=rf"would normalize each {unit} over a single value: the output would be "
                                         rf"beta whatever the input"):
        built(make(), shape)


@pytest.mark.parametrize("groups", [0, -2, 2.5, True, "2", None])
def test_groups_must_be_a_positive_integer(groups):
    with pytest.raises(ValueError, match=rf"GroupNorm: groups must be a positive integer, received "
                                         rf"groups={groups!r}\. Example: GroupNorm\(4\)"):
        GroupNorm(groups)


@pytest.mark.parametrize("make", [LayerNorm, InstanceNorm, lambda eps: GroupNorm(2, eps=eps)],
                         ids=["LayerNorm", "InstanceNorm", "GroupNorm"])
@pytest.mark.parametrize("eps", [0, -1e-5, float("nan"), float("inf"), "1e-5", True])
def test_eps_must_be_a_positive_number(make, eps):
    name = {LayerNorm: "LayerNorm", InstanceNorm: "InstanceNorm"}.get(make, "GroupNorm")
    with pytest.raises(ValueError, match=rf"{name}: eps must be a positive number, received eps=.*The usual "
                                         rf"value is 1e-5"):
        make(eps=eps)


@pytest.mark.parametrize("name", CASES)
def test_backward_without_a_training_forward_is_refused(name):
    layer = random_layer(name)
    X = data(CASES[name][1])
    message = rf"{type(layer).__name__}.backward needs a forward\(X, training=True\) first"
    with pytest.raises(RuntimeError, match=message):
        layer.backward(X)
    layer.forward(X, training=True)
    layer.forward(X, training=False)            # inference keeps nothing: a backward now is refused too
    with pytest.raises(RuntimeError, match=message):
        layer.backward(X)


def test_regression_with_layer_norm_trains_and_its_loss_falls():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = X @ rng.normal(size=(5, 1))
    model = Sequential([Dense(16), LayerNorm(), Activation("tanh"), Dense(1)], SGD(learning_rate=0.05),
                       MeanSquaredError(), input_shape=5, seed=0)
    history = model.fit(X, y, epochs=20, verbose=0)
    assert history["loss"][-1] < 0.2 * history["loss"][0]


def test_batchnorm_is_not_a_per_sample_layer():
    """The contrast the new layers exist for: BatchNorm's output for a sample depends on the batch."""
    X = data(7, n=6)
    batchnorm, layernorm = built(BatchNorm(), 7), built(LayerNorm(), 7)
    assert not np.allclose(batchnorm.forward(X)[:3], batchnorm.forward(X[:3]))
    np.testing.assert_allclose(layernorm.forward(X)[:3], layernorm.forward(X[:3]), rtol=1e-13)

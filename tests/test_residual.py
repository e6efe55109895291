"""Residual blocks and GlobalAvgPool2D: gradients, the identity, PyTorch, and every tool that walks a model's layers."""

import copy
import json

import numpy as np
import pytest
from helpers import SelfTrainingScale, built, split_step

from deeplearner import (SGD, Activation, BatchNorm, Callback, Conv2D, CrossEntropyForSoftMax, Dense, Dropout,
                         EarlyStopping, Flatten, GlobalAvgPool2D, L2, Layer, LayerMonitor, MaxPool2D, Residual,
                         Sequential, fold_batchnorm, gradcheck, load_model, recompute_batchnorm_statistics)
from deeplearner.layers.base import ShapeError
from deeplearner.parallel import replicas as replicas_module
from deeplearner.parallel.replicas import Replicas, can_split
from deeplearner.safeguards.divergence import DivergenceGuard

IMAGE = (3, 6, 6)


def images(n, shape=IMAGE, seed=0):
    return np.random.default_rng(seed).normal(size=(n, *shape))


def basic_block(channels, stride=1, c_in=None, zero_gamma=False):
    """conv-BN-relu-conv-BN, with a 1x1 projection when the shape changes (He et al.'s option B)."""
    F = [Conv2D(channels, 3, stride=stride, padding=1), BatchNorm(), Activation("relu"),
         Conv2D(channels, 3, padding=1), BatchNorm(gamma_initializer="zeros" if zero_gamma else "ones")]
    same = stride == 1 and (c_in is None or c_in == channels)
    return Residual(F, None if same else [Conv2D(channels, 1, stride=stride), BatchNorm()])


def resnet(seed=0, dtype=np.float64, extra=(), optimizer=None):
    """A small ResNet: stem, an identity block, a projection block holding a nested block, the head."""
    inner = Residual([Conv2D(4, 3, padding=1), BatchNorm(), Activation("relu")])
    down = Residual([Conv2D(4, 3, stride=2, padding=1), BatchNorm(), Activation("relu"), inner, Dropout(0.2),
                     Conv2D(4, 3, padding=1, kernel_regularizer=L2(1e-3)), BatchNorm()],
                    shortcut=[Conv2D(4, 1, stride=2), BatchNorm()])
    layers = [Conv2D(3, 3, padding=1), BatchNorm(), Activation("relu"), basic_block(3), Activation("relu"),
              down, Activation("relu"), *extra, GlobalAvgPool2D(), Dense(5), Activation("softmax")]
    return Sequential(layers, optimizer or SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(),
                      input_shape=IMAGE, seed=seed, dtype=dtype)


def labels(n, seed=0):
    return np.random.default_rng(seed).integers(0, 5, n)


# ---------------------------------------------------------------- gradients, by finite differences
@pytest.mark.parametrize("make, shape", [
    (lambda: basic_block(3), IMAGE),                                          # identity shortcut
    (lambda: basic_block(4, stride=2, c_in=3), IMAGE),                        # projection shortcut
    (lambda: Residual([Conv2D(3, 3, padding=1), Residual([BatchNorm(), Activation("tanh"),
                                                          Conv2D(3, 3, padding=1)]),
                       Activation("relu")]), IMAGE),                          # a nested block
    (lambda: Residual([Dense(5), Activation("tanh"), Dense(4)], shortcut=[Dense(4)]), 6),   # rows
])
def test_a_block_s_gradients_match_finite_differences(make, shape):
    block = built(make(), shape, seed=1)
    X = images(5, (shape,) if isinstance(shape, int) else shape, seed=2)
    result = gradcheck(block, X, seed=3)              # a random upstream gradient G, f = sum(Y * G)
    assert result.max_error < 1e-6, result
    assert set(result.errors) == {"X", *block.params}    # every inner parameter was checked


def test_a_whole_small_resnet_matches_finite_differences():
    model = resnet()
    model.layers[5].layers[5].rate = 0.0              # Dropout's mask would differ between the two sides
    result = gradcheck(model, images(6), labels(6), max_entries=40)
    assert result.max_error < 1e-6, result
    assert "5.shortcut.0.W" in result.errors and "5.3.0.W" in result.errors   # the projection, the nested block


def test_the_gradient_reaches_x_along_both_paths_and_they_add():
    block = built(Residual([Dense(3)], shortcut=[Dense(3)]), 4, seed=0)
    X, dY = images(2, (4,)), images(2, (3,), seed=1)
    block.forward(X)
    dX = block.backward(dY)
    F, P = block.layers[0].params["W"], block.shortcut[0].params["W"]
    np.testing.assert_allclose(dX, dY @ F.T + dY @ P.T, rtol=1e-14)
    np.testing.assert_allclose(block.grads["0.W"], X.T @ dY, rtol=1e-14)            # each path's own params
    np.testing.assert_allclose(block.grads["shortcut.0.W"], X.T @ dY, rtol=1e-14)


# ---------------------------------------------------------------- F = 0 is the identity
def test_a_block_whose_f_is_zero_is_the_identity_and_passes_the_gradient_through():
    block = built(Residual([Conv2D(3, 3, padding=1, init="zeros"), Activation("relu")]), IMAGE)
    X, dY = images(4), images(4, seed=1)
    assert np.array_equal(block.forward(X), X)
    assert np.array_equal(block.backward(dY), dY)     # relu'(0) = 0: the F path gives exactly 0


def test_a_block_whose_f_is_zero_with_a_projection_is_its_shortcut_alone():
    block = built(Residual([Conv2D(4, 3, stride=2, padding=1, init="zeros")],
                           shortcut=[Conv2D(4, 1, stride=2), BatchNorm()]), IMAGE)
    X = images(4)
    alone = X
    for layer in block.shortcut:
        alone = layer.forward(alone, training=False)
    assert np.array_equal(block.forward(X, training=False), alone)


def test_zero_gamma_makes_a_block_start_as_the_identity_in_training_too():
    block = built(basic_block(3, zero_gamma=True), IMAGE)
    X = images(8)
    assert np.array_equal(block.forward(X, training=True), X)
    assert np.array_equal(block.layers[-1].params["gamma"], np.zeros(3))
    assert BatchNorm(gamma_initializer="zeros").get_config()["gamma_initializer"] == "zeros"
    assert "gamma_initializer" not in BatchNorm().get_config()           # the default is not saved


# ---------------------------------------------------------------- against PyTorch
def test_a_projection_block_matches_pytorch_forward_dx_and_every_parameter_gradient():
    torch = pytest.importorskip("torch")
    block = built(basic_block(4, stride=2, c_in=3), IMAGE, seed=4)
    X, G = images(5, seed=5), images(5, (4, 3, 3), seed=6)
    Y, dX = block.forward(X), block.backward(G)

    nn = torch.nn
    convs = {"0": nn.Conv2d(3, 4, 3, stride=2, padding=1), "3": nn.Conv2d(4, 4, 3, padding=1),
             "shortcut.0": nn.Conv2d(3, 4, 1, stride=2)}
    norms = {key: nn.BatchNorm2d(4, eps=1e-5).double() for key in ("1", "4", "shortcut.1")}
    with torch.no_grad():
        for key, conv in convs.items():
            conv.double()                                  # before the copy: float32 would round the weights
            conv.weight.copy_(torch.from_numpy(block.params[f"{key}.W"]))
            conv.bias.copy_(torch.from_numpy(block.params[f"{key}.b"]))
    Xt = torch.from_numpy(X).requires_grad_(True)
    F = norms["4"](convs["3"](torch.relu(norms["1"](convs["0"](Xt)))))
    Yt = norms["shortcut.1"](convs["shortcut.0"](Xt)) + F
    Yt.backward(torch.from_numpy(G))
    np.testing.assert_allclose(Y, Yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dX, Xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for key, conv in convs.items():
        np.testing.assert_allclose(block.grads[f"{key}.W"], conv.weight.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(block.grads[f"{key}.b"], conv.bias.grad.numpy(), rtol=1e-9, atol=1e-11)
    for key, norm in norms.items():
        np.testing.assert_allclose(block.grads[f"{key}.gamma"], norm.weight.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(block.grads[f"{key}.beta"], norm.bias.grad.numpy(), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- the block's arrays are its layers'
def test_the_block_s_arrays_are_its_layers_own_and_the_optimizer_changes_them_in_place():
    model = resnet()
    block = model.layers[5]
    assert block.params["shortcut.0.W"] is block.shortcut[0].params["W"]
    assert block.params["3.0.W"] is block.layers[3].layers[0].params["W"]
    assert block.buffers["1.running_mean"] is block.layers[1].buffers["running_mean"]
    params, grads = model.parameters()
    assert params["5.3.0.W"] is block.layers[3].layers[0].params["W"]
    assert grads["5.3.0.W"] is block.layers[3].layers[0].grads["W"]
    before = block.shortcut[0].params["W"].copy()
    model.train_on_batch(images(8), labels(8))
    assert not np.array_equal(block.shortcut[0].params["W"], before)


def test_the_inner_layers_draw_their_weights_from_the_model_s_generator_in_order():
    as_block = Sequential([Residual([Conv2D(3, 3, padding=1), Conv2D(3, 3, padding=1)]), Flatten(), Dense(2),
                           Activation("softmax")], SGD(), CrossEntropyForSoftMax(), input_shape=IMAGE, seed=7)
    flat = Sequential([Conv2D(3, 3, padding=1), Conv2D(3, 3, padding=1), Flatten(), Dense(2),
                       Activation("softmax")], SGD(), CrossEntropyForSoftMax(), input_shape=IMAGE, seed=7)
    assert np.array_equal(as_block.layers[0].params["1.W"], flat.layers[1].params["W"])
    assert np.array_equal(as_block.layers[2].params["W"], flat.layers[3].params["W"])
    zeros = built(Residual([Dense(3, init="zeros")]), 3)
    assert not zeros.params["0.W"].any()


def test_weight_decay_shrinks_the_inner_weights():
    model = resnet(optimizer=SGD(learning_rate=0.1, weight_decay=0.5))
    W = model.layers[3].layers[0].params["W"]
    before = W.copy()
    params, grads = model.parameters()
    for grad in grads.values():
        grad[...] = 0.0
    model.optimizer.step(params, grads)
    np.testing.assert_allclose(W, before * (1 - 0.1 * 0.5), rtol=1e-15)


def test_count_params_and_a_frozen_block():
    model = resnet()
    block = model.layers[3]    # conv 3->3 (84), BN (6 + 6), relu, conv (84), BN (6 + 6)
    assert block.count_params() == (84 + 6 + 84 + 6, 12)
    block.trainable = False
    assert block.count_params() == (0, 192) and all(not layer.trainable for layer in block.layers)
    assert not any(key.startswith("3.") for key in model.parameters()[0])
    block.trainable = True
    block.layers[0].trainable = False
    with pytest.raises(ValueError, match=r"the layer at 0 is frozen \(trainable = False\) inside a block that "
                                         r"trains.*Freeze the whole block \(block.trainable = False\)"):
        model.train_on_batch(images(4), labels(4))


def test_the_divergence_guard_and_get_set_weights_cover_the_inner_arrays():
    model = resnet()
    inner = model.layers[5].layers[3].layers[1]               # the nested block's BatchNorm
    live = DivergenceGuard(model.layers).live
    assert any(array is inner.params["gamma"] for array in live)
    assert any(array is inner.buffers["running_var"] for array in live)
    weights = model.get_weights()
    model.fit(images(16), labels(16), epochs=1, batch_size=8, verbose=0, threads=1)
    assert not np.array_equal(inner.running_var, weights[5]["3.1.running_var"])
    model.set_weights(weights)
    assert np.array_equal(inner.running_var, weights[5]["3.1.running_var"])
    assert np.array_equal(inner.params["gamma"], weights[5]["3.1.gamma"])


def test_early_stopping_restores_the_inner_weights_of_the_best_epoch():
    class Keep(Callback):
        def __init__(self):
            self.weights = []

        def on_epoch_end(self, model, epoch, logs):
            self.weights.append(copy.deepcopy(model.get_weights()))

    model, keep = resnet(), Keep()
    X, y = images(40), labels(40)
    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    model.fit(X[:30], y[:30], X[30:], y[30:], epochs=6, batch_size=10, verbose=0, threads=1,
              callbacks=[keep, stop])
    best = keep.weights[stop.best_epoch - 1]                        # epochs count from 1
    if stop.best_epoch != len(keep.weights):                        # the restore ran
        assert np.array_equal(model.layers[5].layers[3].layers[0].params["W"], best[5]["3.0.W"])
    assert all(np.array_equal(value, best[i][key]) for i, layer in enumerate(model.get_weights())
               for key, value in layer.items())


# ---------------------------------------------------------------- save and load
def test_save_and_load_give_the_same_predictions_and_bit_identical_continued_training(tmp_path):
    model = resnet()
    X, y = images(30), labels(30)
    model.fit(X, y, epochs=2, batch_size=10, verbose=0, threads=1)
    model.save(tmp_path / "resnet.npz")
    loaded = load_model(tmp_path / "resnet.npz")
    assert loaded.layers[5].get_config() == model.layers[5].get_config()
    assert type(loaded.layers[5].layers[3]) is Residual
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    model.fit(X, y, epochs=2, batch_size=10, verbose=0, threads=1)
    loaded.fit(X, y, epochs=2, batch_size=10, verbose=0, threads=1)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        assert a.keys() == b.keys() and all(np.array_equal(a[key], b[key]) for key in a)


def test_a_block_s_config_is_json_and_rebuilds_it():
    block = basic_block(4, stride=2, c_in=3)
    config = json.loads(json.dumps(block.get_config()))
    assert config["layers"][0] == {"class": "Conv2D", "custom": False, "config": block.layers[0].get_config()}
    again = Residual(**config)
    assert again.get_config() == block.get_config()
    assert repr(again) == ("Residual([Conv2D(4, (3, 3), stride=(2, 2), padding=(1, 1)), BatchNorm(), "
                           "Activation('relu'), Conv2D(4, (3, 3), padding=(1, 1)), BatchNorm()], "
                           "shortcut=[Conv2D(4, (1, 1), stride=(2, 2)), BatchNorm()])")


class Scale(Layer):
    """Y = X * s, a layer of one's own with its weight in self.params."""

    def build(self, input_shape, rng, dtype):
        super().build(input_shape, rng, dtype)
        self.params = {"s": np.full(input_shape, 0.5, dtype=dtype)}
        self.grads = {"s": np.zeros_like(self.params["s"])}

    def forward(self, X, training=True):
        self.X = X
        return X * self.params["s"]

    def backward(self, dY):
        self.grads["s"] = np.sum(dY * self.X, axis=0)          # a new array each time: the block follows it
        return dY * self.params["s"]


def test_a_layer_of_one_s_own_inside_a_block_saves_loads_and_its_new_grads_reach_the_optimizer(tmp_path):
    model = Sequential([Dense(4), Residual([Scale(), Dense(4)]), Dense(2), Activation("softmax")],
                       SGD(learning_rate=0.5), CrossEntropyForSoftMax(), input_shape=3, seed=0)
    X, y = images(8, (3,)), labels(8) % 2
    s = model.layers[1].layers[0].params["s"]
    before = s.copy()
    model.train_on_batch(X, y)
    assert model.layers[1].grads["0.s"] is model.layers[1].layers[0].grads["s"]
    assert not np.array_equal(s, before)
    model.save(tmp_path / "m.npz")
    with pytest.raises(ValueError, match=r"layer 1 \(Residual\), its layers\[0\] is a Scale, which is not built "
                                         r"into deeplearner\. Pass its class: load_model\(path, "
                                         r"custom_objects=\{'Scale': Scale\}\)"):
        load_model(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz", custom_objects={"Scale": Scale})
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    with pytest.raises(TypeError, match=r"layers\[0\] describes a Scale, which is not built into deeplearner\. "
                                        r"Pass the layer itself"):
        Residual(**model.layers[1].get_config())


def test_a_seed_style_layer_inside_a_block_trains_itself_is_not_gradchecked_and_is_not_saved(tmp_path):
    model = Sequential([Dense(4), Residual([Dense(4), SelfTrainingScale()]), Dense(2), Activation("softmax")],
                       SGD(learning_rate=0.1), CrossEntropyForSoftMax(), input_shape=3, seed=0)
    X, y = images(8, (3,)), labels(8) % 2
    scale = model.layers[1].layers[1]
    result = gradcheck(model, X, y)
    assert result.max_error < 1e-6 and result.unchecked == ["1.1.SelfTrainingScale"]
    before = scale.s.copy()
    model.fit(X, y, epochs=1, verbose=0)
    assert not np.array_equal(scale.s, before)
    with pytest.raises(ValueError, match=r"layer 1 \(Residual\), its SelfTrainingScale keeps arrays in plain "
                                         r"attributes \['X', 's'\]"):
        model.save(tmp_path / "m.npz")


# ---------------------------------------------------------------- the summary
def test_the_summary_indents_the_layers_of_a_block_with_their_shapes_and_counts():
    model = Sequential([Conv2D(3, 3, padding=1),
                        Residual([Conv2D(4, 3, stride=2, padding=1), BatchNorm(), Activation("relu")],
                                 shortcut=[Conv2D(4, 1, stride=2)]),
                        GlobalAvgPool2D(), Dense(2), Activation("softmax")],
                       SGD(), CrossEntropyForSoftMax(), input_shape=(1, 6, 6), seed=0)
    lines = []
    model.summary(print_fn=lines.append)
    table = [line for line in lines[0].splitlines() if line.startswith("|")][1:]     # the header goes
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table]
    assert [row[0] for row in rows] == ["Conv2D", "Residual", "Conv2D", "BatchNorm", "relu", "shortcut: Conv2D",
                                        "GlobalAvgPool2D", "Dense", "softmax"]
    indented = [line.split("|")[1] for line in table]
    assert indented[2].startswith("   Conv2D") and indented[1].startswith(" Residual")
    # Conv2D(3) on 1 channel: 27 + 3; inside: Conv2D(4) on 3: 108 + 4; BatchNorm(4): 8 + 8; the 1x1: 12 + 4.
    assert [row[3] for row in rows] == ["30", "144", "112", "16", "0", "16", "0", "10", "0"]
    assert rows[2][1:3] == ["(None, 3, 6, 6)", "(None, 4, 3, 3)"] and rows[5][1:3] == rows[2][1:3]
    assert rows[6][1:3] == ["(None, 4, 3, 3)", "(None, 4)"]
    assert "Total params: 184" in lines[0] and "Non-trainable params: 8" in lines[0]   # the block counted once


# ---------------------------------------------------------------- the batch split between threads
def test_a_split_step_with_blocks_is_the_one_thread_step_up_to_rounding():
    alone, split = resnet(), resnet()
    assert can_split(split)
    replicas = Replicas(split, 3, min_rows=1)
    for step in range(3):
        X, T = images(11, seed=step), np.eye(5)[labels(11, seed=step)]
        loss_alone, output_alone = alone.train_step(X, T)
        loss_split, output_split = split_step(replicas, X, T)
        assert loss_split == pytest.approx(loss_alone, rel=1e-13)
        np.testing.assert_allclose(output_split, output_alone, rtol=1e-12, atol=1e-14)
    for a, b in zip(alone.get_weights(), split.get_weights()):
        for key in a:
            np.testing.assert_allclose(b[key], a[key], rtol=1e-11, atol=1e-13, err_msg=key)
    assert split.rng.bit_generator.state == alone.rng.bit_generator.state     # Dropout drew once per batch


def test_the_split_check_above_can_fail_if_the_parts_do_not_reach_inside_blocks(monkeypatch):
    monkeypatch.setattr(replicas_module, "pairs", lambda layers, twins: zip(layers, twins))
    alone, split = resnet(), resnet()
    replicas = Replicas(split, 3, min_rows=1)
    X, T = images(11), np.eye(5)[labels(11)]
    alone.train_step(X, T)
    split_step(replicas, X, T)                     # the inner BatchNorms normalize each part on its own
    inner = (alone.layers[5].layers[1].running_mean, split.layers[5].layers[1].running_mean)
    assert not np.allclose(*inner, rtol=1e-6)


def test_a_block_holding_a_layer_that_may_not_split_keeps_the_model_whole():
    model = resnet(extra=())
    model.layers[3].layers[2].forward = model.layers[3].layers[2].forward     # a hook put on an inner layer
    assert not can_split(model)


# ---------------------------------------------------------------- the first step's checks
class WrongShape(Layer):
    def forward(self, X, training=True):
        return X[:, :2]

    def backward(self, dY):
        return dY


class WrongGradient(Layer):
    def forward(self, X, training=True):
        return X

    def backward(self, dY):
        return dY[:, :2]


@pytest.mark.parametrize("layer, message", [
    (WrongShape(), r"Layer 1 \(Residual\), its layer 1 \(WrongShape\)\.forward returned Y of shape \(4, 2\), but "
                   r"it declared outputshape\(\) = 5"),
    (WrongGradient(), r"Layer 1 \(Residual\), its layer 1 \(WrongGradient\)\.backward returned dX of shape "
                      r"\(4, 2\), but its input X had shape \(4, 5\)"),
])
def test_the_first_step_names_a_wrong_layer_inside_a_block(layer, message):
    model = Sequential([Dense(5), Residual([Dense(5), layer]), Dense(2), Activation("softmax")], SGD(),
                       CrossEntropyForSoftMax(), input_shape=3, seed=0)
    with pytest.raises(ShapeError, match=message):
        model.train_on_batch(images(4, (3,)), labels(4) % 2)
    assert "watch" not in vars(model.layers[1])        # the check leaves nothing on the block


def test_after_the_first_step_a_block_runs_unwatched():
    model = resnet()
    model.train_on_batch(images(4), labels(4))
    assert model.checked and model.layers[5].watch is None and model.layers[5].layers[3].watch is None


# ---------------------------------------------------------------- LayerMonitor
def test_the_monitor_records_each_layer_inside_a_block_by_its_path():
    model = resnet()
    monitor = LayerMonitor(images(6, seed=9), every=1)
    model.fit(images(8), labels(8), epochs=1, batch_size=8, verbose=0, callbacks=[monitor], threads=1)
    names = monitor.names
    assert names.index("5 Residual") < names.index("5 Residual / 0 Conv2D") < names.index(
        "5 Residual / 3 Residual / 0 Conv2D") < names.index("5 Residual / shortcut 0 Conv2D") < names.index(
        "6 relu")
    inner = model.layers[5].layers[3].layers[0]
    assert monitor.grad_norms["5 Residual / 3 Residual / 0 Conv2D"]["W"][0] == pytest.approx(
        np.linalg.norm(inner.grads["W"]))
    assert "5 Residual" not in monitor.grad_norms          # a block's arrays are its layers'
    assert monitor.outputs["5 Residual / 2 relu"]["dead"].shape == (1,)
    assert monitor.name_of(5) == "5 Residual" and model.layers[5].watch is None


# ---------------------------------------------------------------- float32, ONNX, the inference tools
def test_a_float32_resnet_trains_in_float32():
    model = resnet(dtype=np.float32)
    history = model.fit(images(20).astype(np.float32), labels(20), epochs=2, batch_size=10, verbose=0)
    assert model.layers[5].params["3.0.W"].dtype == np.float32
    assert model.predict_proba(images(3)).dtype == np.float32 and np.isfinite(history["loss"]).all()


def test_onnx_runtime_predicts_what_a_resnet_predicts(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from deeplearner import to_onnx
    model = resnet(dtype=np.float32)
    model.fit(images(40), labels(40), epochs=2, batch_size=20, verbose=0)
    to_onnx(model, tmp_path / "resnet.onnx")
    proto = onnx.load(str(tmp_path / "resnet.onnx"))
    adds = [node.name for node in proto.graph.node if node.op_type == "Add" and node.name.endswith("Residual/Add")]
    assert adds == ["3.Residual/Add", "5.Residual/3.Residual/Add", "5.Residual/Add"]
    session = ort.InferenceSession(str(tmp_path / "resnet.onnx"), providers=["CPUExecutionProvider"])
    for n in (1, 7, 1000):
        X = images(n, seed=n).astype(np.float32)
        assert np.abs(session.run(None, {"X": X})[0] - model.predict_proba(X)).max() <= 1e-5


def test_onnx_of_a_float64_block_of_rows_and_global_pooling_agrees_to_1e_10(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from deeplearner import to_onnx
    model = Sequential([MaxPool2D(2), GlobalAvgPool2D(), Residual([Dense(4), BatchNorm(), Activation("tanh"),
                                                                   Dense(3)]),
                        Dense(2), Activation("softmax")], SGD(), CrossEntropyForSoftMax(), input_shape=IMAGE, seed=0)
    model.fit(images(20), labels(20) % 2, epochs=2, batch_size=10, verbose=0)
    to_onnx(model, tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    X = images(7, seed=3)
    assert np.abs(session.run(None, {"X": X})[0] - model.predict_proba(X)).max() <= 1e-10


def test_fold_batchnorm_keeps_a_resnet_s_predictions_and_recompute_refuses_a_block_holding_batchnorm():
    model = resnet()
    model.fit(images(20), labels(20), epochs=1, batch_size=10, verbose=0)
    folded = fold_batchnorm(model)
    np.testing.assert_allclose(folded.predict_proba(images(5)), model.predict_proba(images(5)), rtol=1e-10)
    with pytest.raises(ValueError, match=r"layer 3 \(Residual\) holds BatchNorm layers inside it, which this "
                                         r"function does not reach.*nothing was changed"):
        recompute_batchnorm_statistics(model, images(20))


# ---------------------------------------------------------------- GlobalAvgPool2D
def test_global_average_pooling_by_hand():
    pool = built(GlobalAvgPool2D(), (2, 2, 2))
    X = np.arange(16, dtype=np.float64).reshape(2, 2, 2, 2)
    np.testing.assert_allclose(pool.forward(X), [[1.5, 5.5], [9.5, 13.5]], rtol=1e-15)
    dX = pool.backward(np.array([[4.0, 8.0], [-4.0, 0.0]]))
    np.testing.assert_allclose(dX, np.repeat(np.repeat([[[[1.0]], [[2.0]]], [[[-1.0]], [[0.0]]]], 2, 2), 2, 3))
    assert pool.outputshape() == 2
    assert gradcheck(built(GlobalAvgPool2D(), IMAGE), images(3)).max_error < 1e-9


def test_global_average_pooling_needs_images():
    with pytest.raises(ShapeError, match=r"GlobalAvgPool2D needs images of shape \(channels, height, width\), "
                                         r"received the flat width 400"):
        GlobalAvgPool2D().build(400, np.random.default_rng(0), np.float64)


# ---------------------------------------------------------------- the first layer skips dX
def test_a_block_first_in_a_model_skips_dx_and_gradcheck_still_checks_it():
    model = Sequential([basic_block(3), GlobalAvgPool2D(), Dense(2), Activation("softmax")], SGD(),
                       CrossEntropyForSoftMax(), input_shape=IMAGE, seed=0)
    assert model.layers[0].needs_input_grad is False and model.layers[0].layers[0].needs_input_grad is False
    assert model.layers[0].layers[3].needs_input_grad is True
    _, dX = model.compute_gradients(images(4), labels(4) % 2)
    assert dX is None
    assert gradcheck(model, images(4), labels(4) % 2, max_entries=20).max_error < 1e-6


def test_a_block_holding_batchnorm_on_rows_needs_two_samples_per_batch():
    model = Sequential([Residual([Dense(3), BatchNorm()]), Dense(2), Activation("softmax")], SGD(),
                       CrossEntropyForSoftMax(), input_shape=3, seed=0)
    with pytest.raises(ValueError, match=r"Residual \(layer 0\) needs at least 2 samples per batch"):
        model.fit(images(4, (3,)), labels(4) % 2, batch_size=1, verbose=0)


# ---------------------------------------------------------------- every error message
def test_a_block_whose_f_changes_the_shape_without_a_shortcut_says_both_shapes_and_the_fix():
    with pytest.raises(ShapeError, match=r"layer 1 \(Residual\) received samples of shape \(3, 6, 6\): Residual: "
                                         r"F maps samples of shape \(3, 6, 6\) to \(8, 3, 3\), so X \+ F\(X\) cannot "
                                         r"be added\. Give the block a projection shortcut that maps X to \(8, 3, 3\): "
                                         r"shortcut=\[Conv2D\(8, 1, stride=2\), BatchNorm\(\)\]"):
        Sequential([Conv2D(3, 3, padding=1), Residual([Conv2D(8, 3, stride=2, padding=1)]), Flatten(), Dense(2),
                    Activation("softmax")], SGD(), CrossEntropyForSoftMax(), input_shape=(1, 6, 6))
    with pytest.raises(ShapeError, match=r"F maps samples of shape \(5,\) to \(3,\).*shortcut=\[Dense\(3\)\]"):
        built(Residual([Dense(3)]), 5)


def test_a_shortcut_of_the_wrong_shape_says_so():
    with pytest.raises(ShapeError, match=r"the shortcut maps samples of shape \(3, 6, 6\) to \(8, 6, 6\), but F maps "
                                         r"them to \(8, 3, 3\); the two are added, so they must have the same shape\. "
                                         r"A shortcut that fits: shortcut=\[Conv2D\(8, 1, stride=2\), BatchNorm\(\)\]"):
        built(Residual([Conv2D(8, 3, stride=2, padding=1)], shortcut=[Conv2D(8, 1)]), IMAGE)


def test_an_inner_layer_that_cannot_take_its_input_is_named_with_its_place():
    with pytest.raises(ShapeError, match=r"Residual: the layer at shortcut\.0 \(Dense\) received samples of shape "
                                         r"\(3, 6, 6\): Dense takes flat rows.*Add Flatten\(\) before it"):
        built(Residual([Conv2D(3, 3, padding=1)], shortcut=[Dense(4)]), IMAGE)


@pytest.mark.parametrize("arguments, error, message", [
    ((Dense(3),), TypeError, r"Residual: layers must be a list of layers, e\.g\. Residual\(\[Conv2D\(8, 3, "
                             r"padding=1\), BatchNorm\(\)\]\), received Dense\(3\)"),
    (([],), ValueError, r"Residual: layers is empty\. Pass at least one layer"),
    (([Dense(3)], []), ValueError, r"Residual: shortcut is empty\..*or shortcut=None for the identity"),
    (([Dense],), TypeError, r"Residual: layers\[0\] is the class Dense; pass an instance, e\.g\. Dense\(\.\.\.\)"),
    (([Dense(3), "relu"],), TypeError, r"Residual: layers\[1\] \('relu'\) is not a layer; a layer needs "
                                       r"forward\(X, training\), backward\(dY\) and outputshape\(\)"),
    (([Dense(3)], Dense(3)), TypeError, r"Residual: shortcut must be a list of layers"),
])
def test_the_constructor_s_messages(arguments, error, message):
    with pytest.raises(error, match=message):
        Residual(*arguments)


def test_one_layer_object_twice_in_a_block_is_refused():
    norm = BatchNorm()
    with pytest.raises(ValueError, match=r"Residual: the layer at shortcut\.0 \(BatchNorm\) appears twice in the "
                                         r"block\. Each place needs its own layer object"):
        Residual([Dense(3), norm], shortcut=[norm])
    with pytest.raises(ValueError, match=r"the layer at 1\.0 \(BatchNorm\) appears twice"):
        Residual([norm, Residual([norm])])


def test_batchnorm_s_gamma_initializer_message():
    with pytest.raises(ValueError, match=r"BatchNorm: gamma_initializer must be 'ones' \(the default\) or 'zeros' "
                                         r"\(a residual block's last BatchNorm\), received gamma_initializer='one'"):
        BatchNorm(gamma_initializer="one")

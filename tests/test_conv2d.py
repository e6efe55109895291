"""Conv2D: gradient checks, the loop reference, a case by hand, PyTorch if present, dtype, errors.

The loop reference (deeplearner/layers/reference.py) is the definition written out over n, f,
i, j: the fast im2col code must give its numbers in forward and in all three gradients. Both
are handed the padding the layer worked out, so the padding itself is checked against numbers
written here by hand (test_same_padding_goes_where_tensorflow_puts_it).
"""

import json
from pathlib import Path

import numpy as np
import pytest

from deeplearner import Conv2D, gradcheck
from deeplearner.layers.base import ShapeError
from deeplearner.layers.reference import conv2d_backward, conv2d_forward
from deeplearner.layers.windows import same_padding
from helpers import built

TOLERANCE = 1e-6

# (channels, height, width, filters, kernel_size, stride, padding): strides 1 and 2, padding 0,
# 1, a pair and "same", square and rectangular kernels, non-square images, 1 and 3 channels.
CASES = [
    (1, 5, 5, 2, 3, 1, 0),
    (3, 6, 5, 2, 3, 2, 1),
    (1, 5, 7, 3, (2, 3), 1, "same"),
    (3, 7, 6, 2, 3, 2, "same"),
    (3, 5, 6, 2, (2, 3), 2, 0),
    (1, 4, 6, 2, 2, 1, (1, 2)),
    (2, 6, 6, 2, 4, 3, "same"),
    (2, 6, 7, 2, 3, (2, 1), 1),          # a stride whose two numbers differ: swapped, they give other shapes
    (1, 7, 5, 3, (3, 2), (1, 2), "same"),
]
IDS = [f"c{c}-{h}x{w}-f{f}-k{k}-s{s}-p{p}" for c, h, w, f, k, s, p in CASES]


def conv_layer(case, seed=0, dtype=np.float64):
    """A built Conv2D for ``case`` with a random, non-zero bias; and an input batch of 2."""
    C, h, w, F, kernel_size, stride, padding = case
    rng = np.random.default_rng(seed)
    layer = built(Conv2D(F, kernel_size, stride, padding), (C, h, w), seed, dtype)
    layer.params["b"][...] = rng.standard_normal(F)
    return layer, rng.standard_normal((2, C, h, w)).astype(dtype)


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv2d_gradcheck(case):
    """dX, dW and db match central differences, with a random upstream gradient."""
    layer, X = conv_layer(case)
    result = gradcheck(layer, X)
    assert set(result.errors) == {"X", "W", "b"}
    assert result.max_error < TOLERANCE, result


def test_gradcheck_catches_a_kernel_that_is_not_rotated():
    """A test that can fail: dX computed with W flipped by 180 degrees (a classic slip) is caught."""
    class Flipped(Conv2D):
        def _col2im(self, dY):
            W = self.params["W"]
            self.params["W"] = W[:, :, ::-1, ::-1]
            try:
                return super()._col2im(dY)
            finally:
                self.params["W"] = W
    layer = built(Flipped(2, 3, padding=1), (1, 4, 4))
    result = gradcheck(layer, np.random.default_rng(0).standard_normal((2, 1, 4, 4)))
    assert result.errors["X"] > 0.1 and result.errors["W"] < TOLERANCE


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conv2d_matches_the_loop_reference(case):
    layer, X = conv_layer(case)
    W, b = layer.params["W"], layer.params["b"]
    Y = layer.forward(X, training=True)
    np.testing.assert_allclose(Y, conv2d_forward(X, W, b, layer.stride, layer.pads), rtol=1e-12, atol=1e-12)
    dY = np.random.default_rng(1).standard_normal(Y.shape)
    dX = layer.backward(dY)
    dX_ref, dW_ref, db_ref = conv2d_backward(X, W, layer.stride, layer.pads, dY)
    np.testing.assert_allclose(dX, dX_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["W"], dW_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], db_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES[:4], ids=IDS[:4])
def test_conv2d_matches_pytorch(case):
    torch = pytest.importorskip("torch")
    layer, X = conv_layer(case)
    Y = layer.forward(X, training=True)
    dY = np.random.default_rng(1).standard_normal(Y.shape)
    dX = layer.backward(dY)
    top, bottom, left, right = layer.pads
    X_t = torch.tensor(X, requires_grad=True)
    W_t = torch.tensor(layer.params["W"], requires_grad=True)
    b_t = torch.tensor(layer.params["b"], requires_grad=True)
    Y_t = torch.nn.functional.conv2d(torch.nn.functional.pad(X_t, (left, right, top, bottom)), W_t, b_t,
                                     stride=layer.stride)
    Y_t.backward(torch.tensor(dY))
    for ours, theirs in [(Y, Y_t), (dX, X_t.grad), (layer.grads["W"], W_t.grad), (layer.grads["b"], b_t.grad)]:
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- by hand
def hand_conv():
    """X = 1..9 in a 3x3 image, W = [[1, 2], [3, 4]], b = 1."""
    layer = built(Conv2D(1, 2), (1, 3, 3))
    layer.params["W"][...] = [[[[1.0, 2.0], [3.0, 4.0]]]]
    layer.params["b"][...] = 1.0
    return layer, np.arange(1.0, 10.0).reshape(1, 1, 3, 3)


def test_conv2d_forward_by_hand():
    """Y[0, 0] = 1*1 + 2*2 + 3*4 + 4*5 + 1 = 38, then 2+6+15+24+1 = 48, 4+10+21+32+1 = 68, 5+12+24+36+1 = 78."""
    layer, X = hand_conv()
    np.testing.assert_array_equal(layer.forward(X, training=True), [[[[38.0, 48.0], [68.0, 78.0]]]])


def test_conv2d_backward_by_hand():
    """dY = 1 at (0, 0) only: dW is the top-left window of X, db = 1, dX is W in the top-left corner."""
    layer, X = hand_conv()
    layer.forward(X, training=True)
    dX = layer.backward(np.array([[[[1.0, 0.0], [0.0, 0.0]]]]))
    np.testing.assert_array_equal(layer.grads["W"], [[[[1.0, 2.0], [4.0, 5.0]]]])
    np.testing.assert_array_equal(layer.grads["b"], [1.0])
    np.testing.assert_array_equal(dX, [[[[1.0, 2.0, 0.0], [3.0, 4.0, 0.0], [0.0, 0.0, 0.0]]]])
    # dY all ones: dX adds W at the four positions (the full correlation), dW sums the windows.
    layer.forward(X, training=True)
    dX = layer.backward(np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(dX, [[[[1.0, 3.0, 2.0], [4.0, 10.0, 6.0], [3.0, 7.0, 4.0]]]])
    np.testing.assert_array_equal(layer.grads["W"], [[[[12.0, 16.0], [24.0, 28.0]]]])


@pytest.mark.parametrize("size, kernel, stride, expected", [
    (5, 3, 1, (1, 1)), (5, 2, 1, (0, 1)), (6, 3, 2, (0, 1)), (7, 3, 2, (1, 1)), (5, 1, 2, (0, 0)),
    (8, 4, 3, (1, 1)), (4, 4, 1, (1, 2))])
def test_same_padding_follows_tensorflow(size, kernel, stride, expected):
    """TensorFlow's SAME: total = max((ceil(n/s) - 1) s + k - n, 0), the odd pixel at the bottom/right."""
    assert same_padding(size, kernel, stride) == expected
    layer = built(Conv2D(1, kernel, stride, "same"), (1, size, size + 1))
    assert layer.outputshape() == (1, -(-size // stride), -(-(size + 1) // stride))


@pytest.mark.parametrize("kernel, stride, shape, pads", [
    (2, 1, (1, 3, 3), (0, 1, 0, 1)),              # the odd pixel at the bottom and the right
    ((4, 1), 1, (2, 5, 4), (1, 2, 0, 0)),         # rows only: (top, bottom) = (1, 2), columns none
    ((1, 3), (1, 2), (1, 4, 6), (0, 0, 0, 1)),    # columns only, with a stride of (1, 2)
], ids=["k2-on-3x3", "rows-only", "columns-only"])
def test_same_padding_goes_where_tensorflow_puts_it(kernel, stride, shape, pads):
    """(top, bottom, left, right) written by hand: the loop reference and PyTorch are given these
    numbers, not the layer's own, so padding put on the wrong side or axis is caught."""
    rng = np.random.default_rng(3)
    layer = built(Conv2D(2, kernel, stride, "same"), shape)
    assert layer.pads == pads
    X = rng.standard_normal((2, *shape))
    Y = layer.forward(X, training=True)
    np.testing.assert_allclose(Y, conv2d_forward(X, layer.params["W"], layer.params["b"], layer.stride, pads),
                               rtol=1e-12, atol=1e-12)
    dY = rng.standard_normal(Y.shape)
    dX_ref, dW_ref, _ = conv2d_backward(X, layer.params["W"], layer.stride, pads, dY)
    np.testing.assert_allclose(layer.backward(dY), dX_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["W"], dW_ref, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- contract
def test_conv2d_shapes_params_and_init():
    layer = built(Conv2D(4, (2, 3), stride=(1, 2), padding=(1, 0)), (3, 6, 7))
    assert layer.params["W"].shape == layer.grads["W"].shape == (4, 3, 2, 3)
    assert layer.params["b"].shape == (4,) and not layer.params["b"].any()
    assert layer.outputshape() == (4, 7, 3)                         # (6 + 2 - 2) + 1, (7 - 3) // 2 + 1
    assert layer.forward(np.ones((5, 3, 6, 7))).shape == (5, 4, 7, 3)
    assert layer.count_params() == (4 * 3 * 2 * 3 + 4, 0)


def test_he_normal_and_glorot_uniform_use_the_kernel_fans():
    fan_in, fan_out = 16 * 9, 64 * 9
    W = built(Conv2D(64, 3), (16, 5, 5)).params["W"]
    assert W.std() == pytest.approx(np.sqrt(2 / fan_in), rel=0.03)
    W = built(Conv2D(64, 3, init="glorot_uniform"), (16, 5, 5)).params["W"]
    limit = np.sqrt(6 / (fan_in + fan_out))
    assert np.abs(W).max() <= limit and W.std() == pytest.approx(limit / np.sqrt(3), rel=0.03)


def test_a_first_layer_may_skip_dX_but_not_its_gradients():
    """As a model's first layer (needs_input_grad False) its gradients stay the same; skipping dX
    is a speed trick this test does not pin, but a dX that is returned must be right."""
    layer, X = conv_layer(CASES[1])
    dY = np.random.default_rng(1).standard_normal(layer.forward(X, training=True).shape)
    expected_dX = layer.backward(dY)
    expected = {key: grad.copy() for key, grad in layer.grads.items()}
    layer.needs_input_grad = False
    layer.forward(X, training=True)
    dX = layer.backward(dY)
    assert dX is None or np.array_equal(dX, expected_dX)
    for key, grad in layer.grads.items():
        np.testing.assert_array_equal(grad, expected[key])


def test_inference_keeps_no_input_and_backward_then_refuses():
    layer, X = conv_layer(CASES[0])
    layer.forward(X, training=False)
    assert layer.cols is None
    with pytest.raises(RuntimeError, match=r"Conv2D.backward needs a forward\(X, training=True\) first"):
        layer.backward(np.ones((2, 2, 3, 3)))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_stays_float32(case):
    layer, X = conv_layer(case, dtype=np.float32)
    Y = layer.forward(X, training=True)
    dX = layer.backward(np.ones_like(Y))
    arrays = [Y, dX, *layer.params.values(), *layer.grads.values()]
    assert [a.dtype for a in arrays] == [np.float32] * len(arrays)


@pytest.mark.parametrize("config", [
    {"filters": 8, "kernel_size": 3},
    {"filters": 2, "kernel_size": (2, 3), "stride": 2, "padding": "same", "init": "glorot_uniform"},
    {"filters": 1, "kernel_size": [1, 5], "stride": (1, 2), "padding": (0, 2)},
    {"filters": 3, "kernel_size": 3, "padding": "valid"}])
def test_get_config_rebuilds_the_layer(config):
    layer = Conv2D(**config)
    again = Conv2D(**json.loads(json.dumps(layer.get_config())))
    assert again.get_config() == layer.get_config()
    assert (again.kernel_size, again.stride, again.padding) == (layer.kernel_size, layer.stride, layer.padding)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs, message", [
    ({"filters": 0, "kernel_size": 3}, r"Conv2D: filters must be a positive int, received filters=0\. Example"),
    ({"filters": True, "kernel_size": 3}, r"filters must be a positive int, received filters=True"),
    ({"filters": 8.0, "kernel_size": 3}, r"filters must be a positive int, received filters=8\.0"),
    ({"filters": 8, "kernel_size": -3},
     r"Conv2D: kernel_size must be a positive int or a pair of them, received kernel_size=-3\. "
     r"Example: Conv2D\(8, 3\)"),
    ({"filters": 8, "kernel_size": (3,)}, r"kernel_size must be .*received kernel_size=\(3,\)"),
    ({"filters": 8, "kernel_size": (3, 0)}, r"kernel_size must be .*received kernel_size=\(3, 0\)"),
    ({"filters": 8, "kernel_size": True}, r"kernel_size must be .*received kernel_size=True"),
    ({"filters": 8, "kernel_size": "3"}, r"kernel_size must be .*received kernel_size='3'"),
    ({"filters": 8, "kernel_size": 3, "stride": 0},
     r"Conv2D: stride must be a positive int or a pair of them, received stride=0\. Example: Conv2D\(8, 3, stride=2\)"),
    ({"filters": 8, "kernel_size": 3, "padding": -1},
     r'Conv2D: padding must be a non-negative int, a pair of them, "valid" or "same", received padding=-1'),
    ({"filters": 8, "kernel_size": 3, "padding": (1, -1)}, r"padding must be .*received padding=\(1, -1\)"),
    ({"filters": 8, "kernel_size": 3, "padding": "full"}, r"padding must be .*received padding='full'"),
    ({"filters": 8, "kernel_size": 3, "padding": False}, r"padding must be .*received padding=False"),
    ({"filters": 8, "kernel_size": 3, "padding": 1.5}, r"padding must be .*received padding=1\.5"),
    ({"filters": 8, "kernel_size": 3, "init": "xavier"}, r"Conv2D: unknown init='xavier'\. Use one of"),
])
def test_constructor_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Conv2D(**kwargs)


@pytest.mark.parametrize("layer, shape, message", [
    (Conv2D(8, 3), 400, r"Conv2D needs images of shape \(channels, height, width\), received the flat width 400: "
                        r"build the model with input_shape=\(1, 20, 20\) and pass X of shape \(n, 1, 20, 20\)\. "
                        r"A Flatten or Dense layer makes flat rows: put it after Conv2D\."),
    (Conv2D(8, 3), 10, r"received the flat width 10: build the model with input_shape=\(channels, height, width\)"),
    (Conv2D(8, 3), (20, 20), r"received the shape \(20, 20\)\. Add the channel axis: input_shape=\(1, 20, 20\)\."),
    (Conv2D(8, 5), (1, 3, 3), r"Conv2D: kernel 5x5 is larger than the input 3x3 by 2 rows and 2 columns: "
                              r'use a smaller kernel_size, or more padding \(padding="same" always fits\)\.'),
    (Conv2D(8, (5, 4), padding=1), (1, 2, 3), r"kernel 5x4 is larger than the padded input 4x5 by 1 row: "),
    (Conv2D(8, (1, 4)), (1, 3, 3), r"kernel 1x4 is larger than the input 3x3 by 1 column: "),
])
def test_build_errors(layer, shape, message):
    with pytest.raises(ShapeError, match=message):
        built(layer, shape)


def test_the_micro_benchmark_runs(capsys, monkeypatch):
    """examples/bench_conv_layers.py, as a smoke test: every layer gets a row."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "examples"))
    import bench_conv_layers
    bench_conv_layers.main(["--quick", "--no-torch", "--batch", "2", "--alternatives"])
    out = capsys.readouterr().out
    assert all(name in out for name in ("conv1", "maxpool1", "conv2", "maxpool2", "flatten", "(chosen)"))

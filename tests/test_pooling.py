"""MaxPool2D and AvgPool2D: gradient checks, a loop reference, ties, PyTorch if present, dtype, errors."""

import json

import numpy as np
import pytest

from deeplearner import AvgPool2D, MaxPool2D, gradcheck
from deeplearner.layers.base import ShapeError
from deeplearner.layers.reference import pool_backward, pool_forward
from helpers import built

TOLERANCE = 1e-6
POOLS = [MaxPool2D, AvgPool2D]

# (pool_size, stride, height, width): side by side, sizes that do not divide (the remainder is
# dropped), overlapping windows (stride < pool_size), rectangular windows, gaps (stride > pool).
CASES = [(2, None, 4, 4), (2, None, 5, 7), (3, 1, 5, 6), (2, 1, 4, 5), ((2, 3), (1, 2), 6, 7),
         (3, 2, 7, 7), (2, 3, 7, 8)]
IDS = [f"p{p}-s{s}-{h}x{w}" for p, s, h, w in CASES]


def pool_layer(cls, case, channels=2, dtype=np.float64):
    pool_size, stride, h, w = case
    return built(cls(pool_size, stride), (channels, h, w), dtype=dtype)


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("cls", POOLS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pool_gradcheck(cls, case):
    """Random floats: no ties, so the max is differentiable at X."""
    layer = pool_layer(cls, case)
    X = np.random.default_rng(0).standard_normal((2, 2, *case[2:]))
    result = gradcheck(layer, X)
    assert result.max_error < TOLERANCE, result


def test_max_pool_backward_before_any_forward_is_the_layer_s_own_error():
    layer = pool_layer(MaxPool2D, CASES[0])
    with pytest.raises(RuntimeError, match=r"MaxPool2D\.backward needs a forward\(X, training=True\) first"):
        layer.backward(np.zeros((2, 2, 2, 2)))


@pytest.mark.parametrize("kind, cls", [("max", MaxPool2D), ("avg", AvgPool2D)])
@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("ties", [False, True], ids=["floats", "small-ints"])
def test_pool_matches_the_loop_reference(kind, cls, case, ties):
    rng = np.random.default_rng(1)
    layer = pool_layer(cls, case)
    X = rng.integers(0, 3, (2, 2, *case[2:])).astype(float) if ties else rng.standard_normal((2, 2, *case[2:]))
    Y = layer.forward(X, training=True)
    dY = rng.standard_normal(Y.shape)
    Y_ref = pool_forward(X, layer.pool_size, layer.stride, kind)
    dX_ref = pool_backward(X, layer.pool_size, layer.stride, kind, dY)
    np.testing.assert_allclose(Y, Y_ref, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(layer.backward(dY), dX_ref, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name, cls", [("max_pool2d", MaxPool2D), ("avg_pool2d", AvgPool2D)])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pool_matches_pytorch_ties_included(name, cls, case):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    layer = pool_layer(cls, case)
    X = rng.integers(0, 3, (2, 2, *case[2:])).astype(float)
    Y = layer.forward(X, training=True)
    dY = rng.standard_normal(Y.shape)
    X_t = torch.tensor(X, requires_grad=True)
    Y_t = getattr(torch.nn.functional, name)(X_t, layer.pool_size, layer.stride)
    Y_t.backward(torch.tensor(dY))
    np.testing.assert_allclose(Y, Y_t.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(layer.backward(dY), X_t.grad.numpy(), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- by hand
def test_max_pool_by_hand_with_ties_sends_the_gradient_to_the_first_maximum():
    """Windows [[1, 3], [3, 2]] and [[5, 5], [5, 5]]: all of dY goes to the first 3, the first 5."""
    layer = built(MaxPool2D(2), (1, 2, 4))
    X = np.array([[[[1.0, 3.0, 5.0, 5.0],
                    [3.0, 2.0, 5.0, 5.0]]]])
    np.testing.assert_array_equal(layer.forward(X, training=True), [[[[3.0, 5.0]]]])
    np.testing.assert_array_equal(layer.backward(np.array([[[[10.0, 20.0]]]])),
                                  [[[[0.0, 10.0, 20.0, 0.0],
                                     [0.0, 0.0, 0.0, 0.0]]]])


def test_max_pool_overlapping_windows_add_their_gradients():
    """2x2 windows with stride 1 over [[0, 9, 0], [0, 0, 0]]: both windows pick the 9."""
    layer = built(MaxPool2D(2, stride=1), (1, 2, 3))
    layer.forward(np.array([[[[0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]]]), training=True)
    np.testing.assert_array_equal(layer.backward(np.array([[[[1.0, 2.0]]]])), [[[[0.0, 3.0, 0.0], [0.0, 0.0, 0.0]]]])


def test_avg_pool_by_hand_drops_the_remainder():
    """A 3x3 image, 2x2 pool: one window (mean of 1, 2, 4, 5 = 3); the last row and column get no gradient."""
    layer = built(AvgPool2D(2), (1, 3, 3))
    X = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    np.testing.assert_array_equal(layer.forward(X, training=True), [[[[3.0]]]])
    np.testing.assert_array_equal(layer.backward(np.array([[[[4.0]]]])),
                                  [[[[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]]])


# ---------------------------------------------------------------- contract
@pytest.mark.parametrize("cls", POOLS)
def test_stride_defaults_to_pool_size_and_outputshape(cls):
    layer = built(cls((2, 3)), (4, 7, 8))
    assert layer.stride == (2, 3)
    assert layer.outputshape() == (4, 3, 2)
    assert layer.forward(np.ones((5, 4, 7, 8)), training=True).shape == (5, 4, 3, 2)
    assert layer.count_params() == (0, 0)


def test_max_pool_inference_keeps_nothing_and_backward_then_refuses():
    layer = built(MaxPool2D(2), (1, 4, 4))
    layer.forward(np.ones((2, 1, 4, 4)), training=False)
    assert layer.first is None
    with pytest.raises(RuntimeError, match=r"MaxPool2D.backward needs a forward\(X, training=True\) first"):
        layer.backward(np.ones((2, 1, 2, 2)))


@pytest.mark.parametrize("cls", POOLS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_stays_float32(cls, case):
    layer = pool_layer(cls, case, dtype=np.float32)
    X = np.random.default_rng(0).standard_normal((2, 2, *case[2:])).astype(np.float32)
    Y = layer.forward(X, training=True)
    dX = layer.backward(np.ones_like(Y))
    assert (Y.dtype, dX.dtype) == (np.float32, np.float32)


@pytest.mark.parametrize("cls", POOLS)
@pytest.mark.parametrize("kwargs", [{}, {"pool_size": 3, "stride": 1}, {"pool_size": (2, 3), "stride": [1, 2]}])
def test_get_config_rebuilds_the_layer(cls, kwargs):
    layer = cls(**kwargs)
    again = cls(**json.loads(json.dumps(layer.get_config())))
    assert again.get_config() == layer.get_config()
    assert (again.pool_size, again.stride) == (layer.pool_size, layer.stride)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("cls", POOLS)
@pytest.mark.parametrize("kwargs, message", [
    ({"pool_size": 0}, r"{0}: pool_size must be a positive int or a pair of them, received pool_size=0\. "
                       r"Example: {0}\(2\) or {0}\(\(2, 3\)\)\."),
    ({"pool_size": (2,)}, r"pool_size must be .*received pool_size=\(2,\)"),
    ({"pool_size": True}, r"pool_size must be .*received pool_size=True"),
    ({"pool_size": 2.0}, r"pool_size must be .*received pool_size=2\.0"),
    ({"stride": (1, 0)}, r"{0}: stride must be a positive int or a pair of them, received stride=\(1, 0\)\. "
                         r"Example: {0}\(3, stride=2\)\."),
])
def test_constructor_errors(cls, kwargs, message):
    with pytest.raises(ValueError, match=message.format(cls.__name__)):
        cls(**kwargs)


@pytest.mark.parametrize("cls", POOLS)
@pytest.mark.parametrize("pool_size, shape, message", [
    (2, 64, r"{0} needs images of shape \(channels, height, width\), received the flat width 64: build the "
            r"model with input_shape=\(1, 8, 8\) and pass X of shape \(n, 1, 8, 8\)\."),
    (3, (1, 2, 5), r"{0}: pool 3x3 is larger than the input 2x5 by 1 row: use a smaller pool_size, or keep "
                   r'the images larger before it \(padding="same" in the Conv2D layers, fewer pooling layers\)\.'),
    ((4, 6), (1, 3, 3), r"{0}: pool 4x6 is larger than the input 3x3 by 1 row and 3 columns: "),
])
def test_build_errors(cls, pool_size, shape, message):
    with pytest.raises(ShapeError, match=message.format(cls.__name__)):
        built(cls(pool_size), shape)

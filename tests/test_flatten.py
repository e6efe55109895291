"""Flatten: C order, the way back, flat input passed through, dtype, and PyTorch's layout if present."""

import numpy as np
import pytest

from deeplearner import Dense, Flatten, gradcheck


def built(layer, shape, dtype=np.float64):
    layer.build(shape, np.random.default_rng(0), dtype)
    return layer


def test_flatten_is_c_order():
    """Y[n, (c*h + i)*w + j] = X[n, c, i, j], i.e. X.reshape(n, -1)."""
    X = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    layer = built(Flatten(), (3, 4, 5))
    Y = layer.forward(X, training=True)
    assert layer.outputshape() == 60 and Y.shape == (2, 60)
    np.testing.assert_array_equal(Y, X.reshape(2, -1))
    assert Y[1, (2 * 4 + 3) * 5 + 1] == X[1, 2, 3, 1]


def test_backward_reshapes_back():
    layer = built(Flatten(), (3, 4, 5))
    dY = np.arange(120.0).reshape(2, 60)
    dX = layer.backward(dY)
    assert dX.shape == (2, 3, 4, 5)
    np.testing.assert_array_equal(dX.reshape(2, -1), dY)


def test_gradcheck():
    layer = built(Flatten(), (2, 3, 2))
    assert gradcheck(layer, np.random.default_rng(0).standard_normal((3, 2, 3, 2))).max_error < 1e-6


def test_a_flat_input_passes_through():
    layer = built(Flatten(), 7)
    X = np.ones((4, 7))
    assert layer.outputshape() == 7
    assert layer.forward(X, training=True).shape == (4, 7)
    assert layer.backward(X).shape == (4, 7)


def test_float32_stays_float32_and_config_rebuilds():
    layer = built(Flatten(), (2, 3, 3), np.float32)
    Y = layer.forward(np.ones((2, 2, 3, 3), dtype=np.float32), training=True)
    assert Y.dtype == layer.backward(Y).dtype == np.float32
    assert Flatten(**layer.get_config()).get_config() == {}


def test_dense_after_flatten_has_pytorchs_linear_weights_transposed():
    torch = pytest.importorskip("torch")
    X = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    flatten, dense = built(Flatten(), (3, 4, 4)), built(Dense(5), 48)
    linear = torch.nn.Linear(48, 5).double()
    with torch.no_grad():
        dense.params["W"][...] = linear.weight.numpy().T
        dense.params["b"][...] = linear.bias.numpy()
        expected = linear(torch.nn.Flatten()(torch.tensor(X))).numpy()
    np.testing.assert_allclose(dense.forward(flatten.forward(X)), expected, rtol=1e-12)

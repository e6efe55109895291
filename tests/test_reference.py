"""The plain loops of deeplearner/layers/reference.py: right by themselves, and equal to the fast layers.

Each reference backward is checked against central differences of its own forward (with a
random upstream gradient), so the loops are right on their own; the fast layers are then held to
them here (BatchNorm) and in test_conv2d.py and test_pooling.py (Conv2D and the pools).
"""

import numpy as np
import pytest

from deeplearner import BatchNorm
from deeplearner.layers import reference
from helpers import built


def numeric_gradient(f, A, G, eps=1e-6):
    """d sum(f(A) * G) / dA by central differences, entry by entry."""
    dA = np.zeros_like(A)
    for index in np.ndindex(A.shape):
        saved = A[index]
        A[index] = saved + eps
        plus = np.sum(f(A) * G)
        A[index] = saved - eps
        minus = np.sum(f(A) * G)
        A[index] = saved
        dA[index] = (plus - minus) / (2 * eps)
    return dA


def test_the_conv2d_reference_backward_is_the_derivative_of_its_forward():
    rng = np.random.default_rng(0)
    X, W, b = rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((3, 2, 3, 2)), rng.standard_normal(3)
    stride, pads = (2, 1), (1, 0, 0, 1)
    G = rng.standard_normal(reference.conv2d_forward(X, W, b, stride, pads).shape)
    dX, dW, db = reference.conv2d_backward(X, W, stride, pads, G)
    np.testing.assert_allclose(dX, numeric_gradient(lambda A: reference.conv2d_forward(A, W, b, stride, pads), X, G),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dW, numeric_gradient(lambda A: reference.conv2d_forward(X, A, b, stride, pads), W, G),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(db, G.sum(axis=(0, 2, 3)), rtol=1e-12)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_the_pool_reference_backward_is_the_derivative_of_its_forward(kind):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2, 2, 5, 6))               # random floats: no ties, the max is differentiable
    pool_size, stride = (2, 3), (1, 2)
    G = rng.standard_normal(reference.pool_forward(X, pool_size, stride, kind).shape)
    dX = reference.pool_backward(X, pool_size, stride, kind, G)
    numeric = numeric_gradient(lambda A: reference.pool_forward(A, pool_size, stride, kind), X, G)
    np.testing.assert_allclose(dX, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("shape", [(6, 3), (3, 2, 4, 5)], ids=["rows", "images"])
def test_the_batchnorm_reference_backward_is_the_derivative_of_its_forward(shape):
    rng = np.random.default_rng(2)
    X, gamma, beta = rng.normal(1.0, 2.0, shape), rng.normal(1.0, 0.5, shape[1]), rng.standard_normal(shape[1])
    G = rng.standard_normal(shape)                       # random: an all-ones G would make dX identically 0
    dX, dgamma, dbeta = reference.batchnorm_backward(X, gamma, 1e-5, G)
    numeric = numeric_gradient(lambda A: reference.batchnorm_forward(A, gamma, beta, 1e-5)[0], X, G)
    np.testing.assert_allclose(dX, numeric, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(dgamma, numeric_gradient(
        lambda A: reference.batchnorm_forward(X, A, beta, 1e-5)[0], gamma.copy(), G), rtol=1e-6)
    np.testing.assert_allclose(dbeta, G.reshape(shape[0], shape[1], -1).sum(axis=(0, 2)), rtol=1e-12)


@pytest.mark.parametrize("shape", [(7, 4), (3, 2, 4, 5)], ids=["rows", "images"])
def test_batchnorm_gives_the_reference_s_numbers(shape):
    rng = np.random.default_rng(3)
    layer = built(BatchNorm(), shape[1] if len(shape) == 2 else shape[1:])
    layer.params["gamma"][:] = rng.normal(1.0, 0.5, shape[1])
    layer.params["beta"][:] = rng.standard_normal(shape[1])
    X, dY = rng.normal(2.0, 3.0, shape), rng.standard_normal(shape)
    Y_ref, mu, var = reference.batchnorm_forward(X, layer.params["gamma"], layer.params["beta"], layer.eps)
    np.testing.assert_allclose(layer.forward(X, training=True), Y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.running_mean, 0.1 * mu, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, 0.9 + 0.1 * var, rtol=1e-12)
    dX_ref, dgamma_ref, dbeta_ref = reference.batchnorm_backward(X, layer.params["gamma"], layer.eps, dY)
    np.testing.assert_allclose(layer.backward(dY), dX_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(layer.grads["gamma"], dgamma_ref, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(layer.grads["beta"], dbeta_ref, rtol=1e-11, atol=1e-12)


def test_every_reference_is_linked_from_the_layer_it_describes():
    from deeplearner import AvgPool2D, Conv2D, MaxPool2D
    for cls, names in [(Conv2D, ["conv2d_forward", "conv2d_backward"]), (MaxPool2D, ["pool_forward", "pool_backward"]),
                       (AvgPool2D, ["pool_forward", "pool_backward"]),
                       (BatchNorm, ["batchnorm_forward", "batchnorm_backward"])]:
        for name in names:
            assert f"deeplearner.layers.reference.{name}" in cls.__doc__ and callable(getattr(reference, name))

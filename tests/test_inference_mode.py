"""Inference (training=False) keeps no caches: no reference to the caller's array, no stale backward."""

import gc
import weakref

import numpy as np
import pytest

from deeplearner import SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, Dropout, Sequential
from helpers import built


def test_predict_keeps_no_reference_to_the_callers_array():
    """Dense used to keep self.X, a view of the caller's whole input, alive after predict."""
    rng = np.random.default_rng(0)
    model = Sequential([Dense(5), BatchNorm(), Activation("relu"), Dropout(0.2), Dense(3), Activation("softmax")],
                       SGD(learning_rate=0.1), CrossEntropyForSoftMax(), 4, seed=0)
    model.fit(rng.standard_normal((20, 4)), np.arange(20) % 3, epochs=1, verbose=0)
    X = rng.standard_normal((50, 4))
    model.predict(X)
    for i, layer in enumerate(model.layers):
        for name, value in vars(layer).items():
            assert not (isinstance(value, np.ndarray) and np.shares_memory(value, X)), f"layer {i}: {name}"
    alive = weakref.ref(X)
    del X
    gc.collect()
    assert alive() is None


@pytest.mark.parametrize("layer, message", [
    (Dense(2), r"Dense\.backward needs a forward\(X, training=True\) first: a forward in inference mode"),
    (Activation("tanh"), r"Activation\('tanh'\)\.backward needs a forward\(X, training=True\) first"),
], ids=["Dense", "Activation"])
def test_backward_after_an_inference_forward_is_a_clear_error(layer, message):
    layer = built(layer, 3)
    X = np.random.default_rng(0).standard_normal((4, 3))
    with pytest.raises(RuntimeError, match=message):           # before any forward
        layer.backward(np.ones((4, layer.outputshape())))
    Y = layer.forward(X, training=True)
    layer.backward(np.ones_like(Y))                            # training forward: backward works
    layer.forward(X, training=False)
    with pytest.raises(RuntimeError, match=message):           # inference dropped the cache
        layer.backward(np.ones_like(Y))


def test_batchnorm_backward_after_an_inference_forward_differentiates_the_inference_map():
    """At inference BatchNorm is Y = X * scale + shift per feature: its backward is dY * scale,
    checked by central differences of sum(Y * G) with a random G (never the last training batch)."""
    layer = built(BatchNorm(), 3)
    rng = np.random.default_rng(4)
    with pytest.raises(RuntimeError, match=r"BatchNorm\.backward needs a forward\(X\) first"):
        layer.backward(rng.standard_normal((4, 3)))
    layer.forward(rng.normal(2.0, 3.0, (8, 3)), training=True)            # moves the running statistics
    layer.params["gamma"][:] = [0.5, -2.0, 1.5]
    X, G = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    layer.forward(X, training=False)
    dX = layer.backward(G)
    eps, numeric = 1e-6, np.zeros_like(X)
    for index in np.ndindex(X.shape):
        step = np.zeros_like(X)
        step[index] = eps
        numeric[index] = np.sum((layer.forward(X + step, False) - layer.forward(X - step, False)) * G) / (2 * eps)
    np.testing.assert_allclose(dX, numeric, rtol=1e-7, atol=1e-9)
    scale = layer.params["gamma"] / np.sqrt(layer.running_var + layer.eps)
    np.testing.assert_allclose(dX, G * scale, rtol=1e-14)


def test_batchnorm_inference_leaves_the_running_statistics_alone():
    layer = built(BatchNorm(), 3)
    X = np.random.default_rng(1).standard_normal((6, 3))
    layer.forward(X, training=True)
    running = {key: value.copy() for key, value in layer.buffers.items()}
    layer.forward(X + 5.0, training=False)
    assert all(np.array_equal(running[key], layer.buffers[key]) for key in running)


def test_dropout_backward_after_inference_is_the_identity_like_its_forward():
    layer = built(Dropout(0.5), 3)
    X = np.random.default_rng(2).standard_normal((4, 3))
    layer.forward(X, training=True)
    layer.forward(X, training=False)
    dY = np.random.default_rng(3).standard_normal((4, 3))
    assert layer.backward(dY) is dY

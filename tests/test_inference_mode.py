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
    (BatchNorm(), r"BatchNorm\.backward needs a forward\(X, training=True\) first: .*running statistics"),
], ids=["Dense", "Activation", "BatchNorm"])
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

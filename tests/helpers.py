"""Helpers the test modules share: a lone layer built as Sequential builds it, and a layer
written in the seed notebook's style. Imported as ``from helpers import built``: pytest puts this
folder on sys.path, as it does for conftest.py."""

import copy

import numpy as np

from deeplearner import Layer


def built(layer, input_shape, seed=0, dtype=np.float64):
    """Build ``layer`` for samples of ``input_shape`` (an int width, or (channels, height, width)),
    with its own generator from ``seed``, as Sequential would; return it."""
    layer.build(input_shape, np.random.default_rng(seed), dtype)
    return layer


class SelfTrainingScale(Layer):
    """Y = X * s, a layer in the seed notebook's style.

    Like the notebook's BathNorm it never calls Layer.__init__ (so it has no ``params``), creates
    its weight s in ``setup(optimizer, loss)`` as a plain attribute, keeps its own
    ``copy.copy(optimizer)``, and updates s inside ``backward``.
    """

    def __init__(self):
        pass

    def setup(self, optimizer, loss):
        self.s = np.linspace(0.5, 2.0, self.inputshape)     # (n,): a different scale per feature
        self.s_opt = copy.copy(optimizer)

    def forward(self, X, training=True):
        """X : (batch, n) -> Y : (batch, n)."""
        self.X = X
        return X * self.s

    def backward(self, dY):
        """dY : (batch, n) -> dX : (batch, n), with the s of the forward pass; then s moves."""
        s = self.s
        self.s = self.s_opt.update(self.s, np.sum(dY * self.X, axis=0))   # dL/ds, summed over the batch
        return dY * s


def split_step(replicas, X, T):
    """fit's step with the batch split into parts (deeplearner/parallel/replicas.py): the model's own
    train_step, handed the replicas. The first step's checks run on one thread, so they are skipped."""
    replicas.model.checked = True
    return replicas.model.train_step(X, T, replicas)

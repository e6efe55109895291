"""Losses: a scalar from predictions and targets, and its gradient.

A loss works like a layer: ``forward(Y_pred, T)`` returns the loss (a mean over the batch) and
remembers what ``backward()`` needs; ``backward()`` returns dL/dY_pred. ``T`` is the target
array, the same shape as ``Y_pred`` (one-hot rows for classification).
"""

import numpy as np

from .registry import add as register


class Loss:
    """Base class. ``takes_logits = True`` asks the model for the input of its final softmax."""

    def __init_subclass__(cls, **kwargs):
        """Defining a subclass registers it, so that ``load_model`` finds the built-in ones by name."""
        super().__init_subclass__(**kwargs)
        register(cls)

    takes_logits = False

    @property
    def name(self):
        return type(self).__name__

    def forward(self, Y_pred, T):
        raise NotImplementedError

    def backward(self):
        raise NotImplementedError


class CrossEntropyForSoftMax(Loss):
    """Softmax and cross-entropy fused, computed from the logits Z (the softmax's input).

    The model's last layer must be ``Activation("softmax")``; during training the model stops
    just before it and hands the logits here.

    Notes
    -----
    For Z and one-hot (or probability) targets T of shape (batch, k), N = batch::

        P = softmax(Z)                          row-wise
        L = -(1/N) sum_i sum_k T[i, k] log P[i, k]
        dL/dZ = (P - T) / N

    The gradient through softmax and log collapses to P - T, so the fused form needs no
    division by P (which underflows to 0). log P is computed as (Z - max) - log(sum exp(Z - max)),
    which never takes the log of 0 and never overflows exp.

    In plain NumPy the forward reads::

        Z_shifted = Z - Z.max(axis=1, keepdims=True)      # each row's max is 0: exp cannot overflow
        S = np.exp(Z_shifted).sum(axis=1, keepdims=True)
        P = np.exp(Z_shifted) / S
        L = -np.sum(T * (Z_shifted - np.log(S))) / N      # log P, without the log of a 0

    The code computes the same numbers with fewer passes over memory; each line says which
    plain line it replaces.
    """


    takes_logits = True

    def forward(self, Z, T):
        """Z, T : ndarray of shape (batch, k) -> L : float."""
        N, k = Z.shape
        # Rows of k ~ 10 logits are too short for NumPy's row-wise max and sum, which loop row
        # by row (3-6x slower here); argmax and a product with ones give the same numbers.
        Z_max = Z[np.arange(N), Z.argmax(axis=1)]           # (batch,); plain: Z.max(axis=1)
        Z_shifted = Z - Z_max[:, None]                      # (batch, k), each row's max is 0
        P = np.exp(Z_shifted)                               # (batch, k), in (0, 1]
        S = P @ np.ones(k, dtype=P.dtype)                   # (batch, k) @ (k,) -> (batch,); plain: P.sum(axis=1)
        P /= S[:, None]                                     # in place: P = softmax(Z)
        self.P, self.T = P, T
        log_P = Z_shifted                                   # reuse the array: log P = Z_shifted - log S
        log_P -= np.log(S)[:, None]                         # (batch, k)
        # sum_i sum_k T log P as one dot product of the flattened arrays: no (batch, k) product.
        return -float(np.vdot(T, log_P)) / N                # plain: -np.sum(T * log_P) / N

    def backward(self):
        """-> dZ : ndarray of shape (batch, k)."""
        dZ = self.P - self.T                                # (batch, k)
        dZ /= self.P.shape[0]                               # in place
        return dZ


class MeanSquaredError(Loss):
    """Mean of the squared errors over every element, as in PyTorch and Keras.

    Notes
    -----
    For Y_pred and T of shape (batch, k)::

        L = (1 / (batch k)) sum (Y_pred - T)^2
        dL/dY_pred = 2 (Y_pred - T) / (batch k)
    """

    def forward(self, Y_pred, T):
        """Y_pred, T : ndarray of shape (batch, k) -> L : float."""
        self.diff = Y_pred - T                              # (batch, k)
        return float(np.vdot(self.diff, self.diff)) / self.diff.size   # sum of squares, no (batch, k) temporary

    def backward(self):
        """-> dY_pred : ndarray of shape (batch, k)."""
        return (2.0 / self.diff.size) * self.diff

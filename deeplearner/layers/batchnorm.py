"""Batch normalization (Ioffe & Szegedy 2015, https://arxiv.org/abs/1502.03167)."""

import numbers

import numpy as np

from .base import Layer, column_sums


class BatchNorm(Layer):
    """Normalize each feature over the batch, then scale and shift it.

    Parameters
    ----------
    momentum : float in [0, 1)
        Weight of the old value in the running statistics (Keras's convention:
        ``momentum=0.9`` here is PyTorch's ``momentum=0.1``).
    eps : float > 0
        Added to the variance before the square root, so a constant feature does not divide by 0.

    Attributes
    ----------
    params : {"gamma", "beta"}, each of shape (n,)
        Scale and shift, learned. They start at ones and zeros, so the layer starts as a
        pure normalization.
    running_mean, running_var : ndarray of shape (n,)
        Running statistics used at inference, not trained (they are ``buffers``).
        They start at zeros and ones.

    Notes
    -----
    Training, for X of shape (batch, n) with N = batch (statistics are per feature, over axis 0)::

        mu    = (1/N) sum_i X[i]
        var   = (1/N) sum_i (X[i] - mu)^2            biased, as in the paper
        X_hat = (X - mu) / sqrt(var + eps)
        Y     = gamma * X_hat + beta

        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var  = momentum * running_var  + (1 - momentum) * var    (biased var stored)

    Inference (``training=False``) uses running_mean and running_var instead of mu and var.
    Training needs at least two samples: the variance of one sample is 0 and X_hat would be 0.

    Backward, given dY of shape (batch, n)::

        dbeta  = sum_i dY[i]
        dgamma = sum_i dY[i] * X_hat[i]
        dX     = gamma / (N sqrt(var + eps)) * (N dY - dbeta - X_hat * dgamma)

    The dX line is the chain rule through mu and var collected into one expression: each
    X[i] moves the output directly, through the mean and through the variance.
    """

    def __init__(self, momentum=0.9, eps=1e-5):
        super().__init__()
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not 0 <= momentum < 1:
            raise ValueError(f"BatchNorm: momentum must be in [0, 1), received momentum={momentum!r}. "
                             f"The usual value is 0.9 (PyTorch's 0.1 is 0.9 here).")
        if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps > 0:
            raise ValueError(f"BatchNorm: eps must be a positive number, received eps={eps!r}. "
                             f"The usual value is 1e-5.")
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.X_hat = None   # the normalized input of the last training forward, for backward

    def get_config(self):
        return {"momentum": self.momentum, "eps": self.eps}

    def build(self, input_dim, rng, dtype):
        super().build(input_dim, rng, dtype)
        self.params = {"gamma": np.ones(input_dim, dtype=dtype), "beta": np.zeros(input_dim, dtype=dtype)}
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        self.buffers = {"running_mean": np.zeros(input_dim, dtype=dtype),
                        "running_var": np.ones(input_dim, dtype=dtype)}

    @property
    def running_mean(self):
        return self.buffers["running_mean"]

    @property
    def running_var(self):
        return self.buffers["running_var"]

    def forward(self, X, training=True):
        """X : ndarray of shape (batch, n) -> Y : ndarray of shape (batch, n)."""
        gamma, beta = self.params["gamma"], self.params["beta"]
        if not training:
            # Inference keeps no cache: a backward now would mix this batch's dY with the
            # X_hat of an earlier training batch, so it is refused instead (see backward).
            self.X_hat = None
            # Y = gamma (X - mean) / std + beta, folded into Y = X * scale + shift:
            # the (n,) vectors are cheap, and X is read once.
            scale = gamma / np.sqrt(self.running_var + self.eps)    # (n,)
            shift = beta - self.running_mean * scale                # (n,)
            Y = X * scale                                           # (batch, n)
            Y += shift                                              # in place: no second (batch, n) array
            return Y

        if X.shape[0] < 2:
            raise ValueError(f"BatchNorm: training needs at least 2 samples per batch to estimate a "
                             f"variance, received a batch of {X.shape[0]}. Use a larger batchsize, or "
                             f"call forward(X, training=False) to use the running statistics.")
        N = X.shape[0]
        mu = column_sums(X) / N                             # (batch, n) -> (n,); see layer.py
        X_hat = X - mu                                      # (batch, n), centred; scaled in place below
        # var = mean((X - mu)^2): einsum sums the squares column by column, without
        # writing the (batch, n) array of squares to memory first.
        var = np.einsum("ij,ij->j", X_hat, X_hat) / N       # (batch, n) -> (n,), biased
        self.inv_std = 1.0 / np.sqrt(var + self.eps)        # (n,)
        X_hat *= self.inv_std                               # in place: (X - mu) / sqrt(var + eps)
        self.X_hat = X_hat

        # Update the running statistics in place, so anything holding these arrays sees the change.
        m, running_mean, running_var = self.momentum, self.running_mean, self.running_var
        running_mean *= m
        running_mean += (1 - m) * mu
        running_var *= m
        running_var += (1 - m) * var

        Y = gamma * X_hat                                   # (batch, n)
        Y += beta                                           # in place: no second (batch, n) array
        return Y

    def backward(self, dY):
        """dY : ndarray of shape (batch, n) -> dX : ndarray of shape (batch, n)."""
        if self.X_hat is None:
            raise RuntimeError("BatchNorm.backward needs a forward(X, training=True) first: a forward in "
                               "inference mode (training=False) uses the running statistics and keeps no "
                               "X_hat to back-propagate through.")
        N = dY.shape[0]
        dbeta = column_sums(dY, out=self.grads["beta"])                            # sum_i dY[i]: (n,)
        # dgamma = sum_i dY[i] * X_hat[i]: einsum, so the (batch, n) product is never stored.
        dgamma = np.einsum("ij,ij->j", dY, self.X_hat, out=self.grads["gamma"])    # (n,)
        scale = self.params["gamma"] * self.inv_std / N                            # (n,)
        # dX = scale * (N dY - dbeta - X_hat * dgamma), with scale multiplied into the (n,)
        # vectors first: dX and one temporary of shape (batch, n) instead of five such arrays.
        dX = self.X_hat * (-scale * dgamma)                                        # (batch, n)
        dX += dY * (N * scale)
        dX -= scale * dbeta                                                        # (n,) broadcast
        return dX

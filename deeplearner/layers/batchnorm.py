"""Batch normalization (Ioffe & Szegedy 2015, https://arxiv.org/abs/1502.03167), for rows and images."""

import numbers

import numpy as np

from ..validation import check_real
from .base import Layer, ShapeError, as_tuple, column_sums, kept_array


class BatchNorm(Layer):
    """Normalize each feature (or each image channel) over the batch, then scale and shift it.

    One class for both kinds of input, as in Keras and the seed's reference (the MXNet tutorial
    "cnn-batch-norm-scratch"):

    - rows X of shape (batch, n): one mean and variance per feature, over the batch;
    - images X of shape (batch, channels, height, width), channels first: one mean and variance
      per channel, over the batch and both image axes (a convolution's filter is the same at
      every position, so its outputs are normalized together).

    Parameters
    ----------
    momentum : float in [0, 1)
        Weight of the old value in the running statistics (Keras's convention:
        ``momentum=0.9`` here is PyTorch's ``momentum=0.1``).
    eps : float > 0
        Added to the variance before the square root, so a constant feature does not divide by 0.
    gamma_initializer : "ones" or "zeros"
        Where gamma starts (Keras's name). "zeros" for the last BatchNorm of a residual block's
        layers: the block then starts as the identity (Goyal et al. 2017; see `Residual`).

    Attributes
    ----------
    params : {"gamma", "beta"}, each of shape (C,)
        Scale and shift, learned; C is the number of features (rows) or channels (images). They
        start at ones (or zeros, see gamma_initializer) and zeros, so the layer starts as a pure
        normalization.
    running_mean, running_var : ndarray of shape (C,)
        Running statistics used at inference, not trained (they are ``buffers``).
        They start at zeros and ones.
    X_hat : ndarray of shape (batch, C, L) or None
        The normalized input of the last training forward (L = 1 for rows, height * width for
        images), kept for backward. The array is reused: the next training batch of the same
        shape is written into it, so keep a copy (``bn.X_hat.copy()``) to compare two batches.

    See Also
    --------
    deeplearner.layers.reference.batchnorm_forward, deeplearner.layers.reference.batchnorm_backward :
        The training forward and the step-by-step backward below, as plain loops over channels.

    Notes
    -----
    For one channel c, let x_1 .. x_M be the M values that share its statistics: M = batch for
    rows, M = batch * height * width for images. In training::

        mu      = (1/M) sum_i x_i
        var     = (1/M) sum_i (x_i - mu)^2          biased, as in the paper
        x_hat_i = (x_i - mu) / sqrt(var + eps)
        y_i     = gamma x_hat_i + beta

        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var  = momentum * running_var  + (1 - momentum) * var    (biased var stored)

    Inference (``training=False``) uses running_mean and running_var instead of mu and var, so
    the layer is the affine map y_i = x_i scale + shift, scale = gamma / sqrt(running_var + eps),
    and a backward after it returns dx_i = scale dy_i (what a saliency map needs).
    Training needs two values per channel: rows need a batch of 2 (the variance of one sample
    is 0, so x_hat would be 0); an image of 4x4 pixels already has 16 per channel.

    Backward, step by step, given dy_i = dL/dy_i; every sum runs over the channel's M values,
    and s = 1 / sqrt(var + eps)::

        1. dbeta    = sum_i dy_i                  dgamma = sum_i dy_i x_hat_i
        2. dx_hat_i = gamma dy_i
        3. var reaches L only through every x_hat_i = (x_i - mu) s:
               dvar = sum_i dx_hat_i (x_i - mu) (-1/2) (var + eps)^(-3/2)
        4. mu reaches L through every x_hat_i, and through var:
               dmu  = sum_i dx_hat_i (-s) + dvar (1/M) sum_i -2 (x_i - mu)
           The deviations x_i - mu sum to 0, so dmu = -s sum_i dx_hat_i.
        5. x_i reaches L through x_hat_i, through var and through mu:
               dx_i = dx_hat_i s + dvar 2 (x_i - mu) / M + dmu / M

    Collected: write x_i - mu = x_hat_i / s in step 3, so dvar 2 (x_i - mu) / M =
    -(s / M) x_hat_i sum_j dx_hat_j x_hat_j, and dmu / M = -(s / M) sum_j dx_hat_j. With
    dx_hat = gamma dy, the sums are gamma dgamma and gamma dbeta::

        dx_i = (gamma s / M) (M dy_i - dbeta - x_hat_i dgamma)
             = gamma s (dy_i - (dbeta + x_hat_i dgamma) / M)      (the order the code computes it in)

    It is the seed notebook's own expression,
    ``(1/N) gamma std_dev (N grad - sum(grad) - X_centered std_dev^2 sum(grad X_centered))``:
    its std_dev is s, and X_centered std_dev^2 sum(grad X_centered) = (x_hat / s) s^2
    (dgamma / s) = x_hat dgamma.
    """

    def __init__(self, momentum=0.9, eps=1e-5, gamma_initializer="ones", **unknown):
        super().__init__(**unknown)   # Layer refuses Keras's epsilon=, axis= and the like, naming the fix
        self.momentum = check_real("BatchNorm", "momentum", momentum, 0, 1, must="in [0, 1)",
                                   hint=" The usual value is 0.9 (PyTorch's 0.1 is 0.9 here).")
        self.eps = check_real("BatchNorm", "eps", eps, 0, low_open=True, hint=" The usual value is 1e-5.")
        if gamma_initializer not in ("ones", "zeros"):
            raise ValueError(f"BatchNorm: gamma_initializer must be 'ones' (the default) or 'zeros' (a residual "
                             f"block's last BatchNorm), received gamma_initializer={gamma_initializer!r}.")
        self.gamma_initializer = gamma_initializer
        self.X_hat = None             # the normalized input of the last training forward, for backward
        self.inference_scale = None   # gamma / sqrt(running_var + eps) of the last inference forward

    def get_config(self):
        config = {"momentum": self.momentum, "eps": self.eps}
        if self.gamma_initializer != "ones":   # only when set: configs without it stay as they were
            config["gamma_initializer"] = self.gamma_initializer
        return config

    def build(self, input_shape, rng, dtype):
        super().build(input_shape, rng, dtype)
        if isinstance(input_shape, numbers.Integral):
            channels, self.values_per_sample = int(input_shape), 1          # rows: (batch, n)
        elif len(input_shape) == 3:
            channels, height, width = input_shape                          # images: (batch, c, h, w)
            self.values_per_sample = height * width
        else:
            raise ShapeError(f"BatchNorm takes rows (an int width) or images (channels, height, width), "
                             f"received {tuple(input_shape)}.")
        gamma = np.full(channels, 1.0 if self.gamma_initializer == "ones" else 0.0, dtype=dtype)
        self.params = {"gamma": gamma, "beta": np.zeros(channels, dtype=dtype)}
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        self.buffers = {"running_mean": np.zeros(channels, dtype=dtype),
                        "running_var": np.ones(channels, dtype=dtype)}

    @property
    def min_training_batch(self):
        """Samples a training batch needs for two values per channel: 2 for rows, 1 for images."""
        return 1 if self.values_per_sample >= 2 else 2

    @property
    def running_mean(self):
        return self.buffers["running_mean"]

    @property
    def running_var(self):
        return self.buffers["running_var"]

    def forward(self, X, training=True):
        """X : ndarray of shape (batch, n) or (batch, channels, height, width) -> Y of X's shape."""
        gamma, beta = self.params["gamma"], self.params["beta"]
        X3 = X.reshape(len(X), len(gamma), -1)       # (batch, C, L): L = 1 for rows, h * w for images
        if not training:
            # Y = gamma (X - mean) / std + beta, folded into Y = X * scale + shift:
            # the (C,) vectors are cheap, and X is read once.
            scale = gamma / np.sqrt(self.running_var + self.eps)    # (C,)
            shift = beta - self.running_mean * scale                # (C,)
            # A backward now differentiates this affine map (dX = dY * scale), never the
            # X_hat of an earlier training batch.
            self.X_hat, self.inference_scale = None, scale
            Y = X3 * scale[:, None]                                 # (batch, C, L) * (C, 1)
            Y += shift[:, None]                                     # in place: no second array
            return Y.reshape(X.shape)

        # Sums over the batch go through self.whole_batch (base.py): the identity here.
        batch = self.whole_batch
        M = batch.size(X3) * X3.shape[2]                    # values per channel: batch * L
        if M < 2:
            raise ValueError(f"BatchNorm: training needs at least 2 samples per batch to estimate a variance "
                             f"(at least 2 values per channel), received a batch of {len(X)}. Use a larger "
                             f"batch_size, or call forward(X, training=False) to use the running statistics.")
        mu = batch.sum(channel_sums(X3)) / M                   # (batch, C, L) -> (C,); plain: X3.mean(axis=(0, 2))
        # X_hat = X3 - mu, written into an array kept from the last batch of this shape: a fresh
        # one per batch (1.3 MB for 100 images of 8 x 20 x 20) costs page faults, not arithmetic.
        X_hat = np.subtract(X3, mu[:, None], out=kept_array(self, "_X_hat_buffer", X3))   # (batch, C, L), centred
        var = batch.sum(channel_dots(X_hat, X_hat)) / M        # (C,), biased; plain: (X_hat**2).mean(axis=(0, 2))
        self.inv_std = 1.0 / np.sqrt(var + self.eps)        # (C,)
        X_hat *= self.inv_std[:, None]                      # in place: (X - mu) / sqrt(var + eps)
        self.X_hat, self.inference_scale = X_hat, None

        if batch.leads:                                     # once per batch
            self._update_running_statistics(mu, var)

        Y = X_hat * gamma[:, None]                          # (batch, C, L)
        Y += beta[:, None]                                  # in place: no second array
        return Y.reshape(X.shape)

    def _update_running_statistics(self, mu, var):
        """In place, so anything holding these arrays sees the change."""
        m, running_mean, running_var = self.momentum, self.running_mean, self.running_var
        running_mean *= m
        running_mean += (1 - m) * mu
        running_var *= m
        running_var += (1 - m) * var

    def backward(self, dY):
        """dY : ndarray of shape (batch, n) or (batch, channels, height, width) -> dX of dY's shape."""
        if self.X_hat is None:
            if getattr(self, "inference_scale", None) is None:
                raise RuntimeError("BatchNorm.backward needs a forward(X) first: it differentiates what the "
                                   "last forward computed.")
            # After forward(X, training=False), Y = X * scale + shift with constant (C,) vectors.
            scale = self.inference_scale
            return (dY.reshape(len(dY), len(scale), -1) * scale[:, None]).reshape(dY.shape)   # (batch, C, L)
        X_hat = self.X_hat                                                 # (batch, C, L)
        dY3 = dY.reshape(X_hat.shape)                                      # (batch, C, L), a view
        batch = self.whole_batch
        M = batch.size(X_hat) * X_hat.shape[2]
        dbeta = channel_sums(dY3, out=self.grads["beta"])            # (C,); plain: dY3.sum(axis=(0, 2))
        dgamma = channel_dots(dY3, X_hat, out=self.grads["gamma"])   # (C,); plain: (dY3 * X_hat).sum(axis=(0, 2))
        dbeta, dgamma = batch.sum((dbeta, dgamma))                   # over the whole batch: the same arrays here
        # Plain: dX = (gamma s / M)(M dY3 - dbeta - X_hat dgamma), each (C,) vector as [:, None].
        # Here dX = gamma s (dY3 - (dbeta + X_hat dgamma) / M), computed inside one new array:
        # about 1.15x faster than with a second temporary of dY's size.
        dX = X_hat * (dgamma / M)[:, None]                                 # (batch, C, L), returned: a new array
        dX += (dbeta / M)[:, None]                                         # (C, 1) broadcast, in place
        np.subtract(dY3, dX, out=dX)                                       # dY3 - (dbeta + X_hat dgamma) / M
        dX *= (self.params["gamma"] * self.inv_std)[:, None]               # times gamma s
        return dX.reshape(dY.shape)

    def onnx_nodes(self, builder, X):
        """ONNX export (see deeplearner/export/onnx.py): the inference forward, Y = X * scale + shift.

        scale and shift are computed as forward(X, training=False) computes them, and become
        constants of shape (C,) for rows (batch, C), or (C, 1, 1) for images (batch, C, H, W), so
        they broadcast over height and width. ONNX's BatchNormalization would hold eps as float32.
        """
        scale = self.params["gamma"] / np.sqrt(self.running_var + self.eps)    # (C,)
        shift = self.params["beta"] - self.running_mean * scale                # (C,)
        per_channel = (-1,) + (1,) * (len(as_tuple(self.inputshape)) - 1)      # (-1,) or (-1, 1, 1)
        Y = builder.node("Mul", [X, builder.constant("scale", scale.reshape(per_channel))])
        return builder.node("Add", [Y, builder.constant("shift", shift.reshape(per_channel))])


def channel_sums(A, out=None):
    """A : ndarray of shape (batch, C, L) -> sum over batch and L, ndarray of shape (C,).

    Plain NumPy: ``A.sum(axis=(0, 2))``. Written as products with vectors of ones (see
    ``column_sums``), which BLAS computes in one read of A, 2-8x faster on these narrow arrays.
    """
    batch, C, L = A.shape
    if L == 1:                                                   # rows: (batch, C, 1)
        return column_sums(A.reshape(batch, C), out=out)
    per_row = A.reshape(batch * C, L) @ np.ones(L, dtype=A.dtype)   # (batch * C, L) @ (L,) -> (batch * C,)
    return column_sums(per_row.reshape(batch, C), out=out)          # (batch, C) -> (C,)


def channel_dots(A, B, out=None):
    """A, B : ndarrays of shape (batch, C, L) -> sum over batch and L of A * B, shape (C,).

    Plain NumPy: ``(A * B).sum(axis=(0, 2))``. einsum adds the products as it goes, without
    writing the (batch, C, L) array of products to memory first.
    """
    return np.einsum("ncl,ncl->c", A, B, out=out)

"""Flatten: images (batch, C, h, w) to rows (batch, C*h*w), so that Dense layers can follow."""

import math

from .base import Layer, as_tuple


class Flatten(Layer):
    """Unroll each sample into one row, in C order: channel by channel, each row by row.

    Notes
    -----
    For X of shape (batch, C, h, w)::

        Y[n, (c*h + i)*w + j] = X[n, c, i, j]        Y = X.reshape(batch, C*h*w)
        dX = dY.reshape(batch, C, h, w)

    The order is NumPy's and PyTorch's (``nn.Flatten()``), so a Dense after Flatten has the
    weights, transposed, of a PyTorch ``nn.Linear`` after ``nn.Flatten()``. A sample that is
    already flat passes through unchanged. Nothing is copied when X is C-contiguous.
    """

    def build(self, input_shape, rng, dtype):
        super().build(input_shape, rng, dtype)
        self.width = math.prod(as_tuple(input_shape))

    def outputshape(self):
        return self.width

    def forward(self, X, training=True):
        """X : ndarray of shape (batch, C, h, w) -> Y : ndarray of shape (batch, C*h*w)."""
        return X.reshape(len(X), self.width)                    # (batch, C, h, w) -> (batch, C*h*w)

    def backward(self, dY):
        """dY : ndarray of shape (batch, C*h*w) -> dX : ndarray of shape (batch, C, h, w)."""
        return dY.reshape(len(dY), *as_tuple(self.inputshape))  # (batch, C*h*w) -> (batch, C, h, w)

    def onnx_nodes(self, builder, X):
        """ONNX export (see deeplearner/export/onnx.py): Flatten(axis=1) unrolls in the same C order."""
        return builder.node("Flatten", [X], axis=1)

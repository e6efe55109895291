"""GlobalAvgPool2D: the mean of each channel over the whole image, (batch, C, h, w) -> (batch, C)."""

import numpy as np

from .base import Layer
from .windows import image_shape


class GlobalAvgPool2D(Layer):
    """Average each channel over all its pixels: one number per channel, the head of a ResNet.

    Lin et al. 2014 ("Network in Network") put it before the classifier in place of large Dense
    layers; He et al. 2016 end every ResNet with it, then one Dense layer. It is AvgPool2D with a
    single window the size of the image, followed by Flatten, and it has no parameters.

    Notes
    -----
    For X of shape (batch, C, h, w), with L = h w pixels per channel::

        Y[n, c] = (1 / L) sum_{i, j} X[n, c, i, j]                  (batch, C)

    Each X[n, c, i, j] enters only Y[n, c], with the weight 1 / L, so::

        dX[n, c, i, j] = dY[n, c] / L                               (batch, C, h, w)
    """

    def build(self, input_shape, rng, dtype):
        super().build(input_shape, rng, dtype)
        self.channels, height, width = image_shape(input_shape, "GlobalAvgPool2D")
        self.pixels = height * width

    def outputshape(self):
        return self.channels

    def forward(self, X, training=True):
        """X : ndarray of shape (batch, C, h, w) -> Y : ndarray of shape (batch, C)."""
        n, C = len(X), self.channels
        # Plain: X.mean(axis=(2, 3)). A product with a vector of 1 / L weights averages each row of L
        # values in one BLAS pass, faster than mean's reduction over two axes.
        weights = np.full(self.pixels, 1.0 / self.pixels, dtype=X.dtype)      # (L,), each 1 / L
        Y = X.reshape(n * C, self.pixels) @ weights                             # (n C, L) @ (L,) -> (n C,)
        return Y.reshape(n, C)

    def backward(self, dY):
        """dY : ndarray of shape (batch, C) -> dX : ndarray of shape (batch, C, h, w)."""
        dX = np.empty((len(dY), *self.inputshape), dtype=dY.dtype)
        dX[...] = (dY / self.pixels)[:, :, None, None]                          # (batch, C, 1, 1) broadcast
        return dX

    def onnx_nodes(self, builder, X):
        """ONNX export (see deeplearner/export/onnx.py): ReduceMean over axes 2 and 3, which drops them.

        ReduceMean (not GlobalAveragePool, which keeps two axes of size 1 and has no float64
        kernel in ONNX Runtime's CPU provider) takes ``axes`` as an attribute up to opset 17.
        """
        return builder.node("ReduceMean", [X], axes=[2, 3], keepdims=0)

"""Dropout (Srivastava et al. 2014), in the "inverted" form every modern library uses."""

from ..validation import check_real
from .base import Layer


class Dropout(Layer):
    """Zero each input with probability ``rate`` during training.

    Parameters
    ----------
    rate : float in [0, 1)
        Fraction of inputs dropped. ``Dropout(0.0)`` is the identity.

    Notes
    -----
    Training, with a fresh mask M of independent Bernoulli(1 - rate) draws::

        Y  = X * M / (1 - rate)
        dX = dY * M / (1 - rate)

    Dividing by (1 - rate) at training time keeps E[Y] = X, so at inference (``training=False``)
    the layer is exactly the identity. The mask is drawn from the model's generator, so a
    model's ``seed`` fixes every mask.
    """

    def __init__(self, rate, **unknown):
        super().__init__(**unknown)
        self.rate = check_real("Dropout", "rate", rate, 0, 1, hint=" Example: Dropout(0.2) drops 20% of the inputs.")

    def get_config(self):
        return {"rate": self.rate}

    def build(self, input_shape, rng, dtype):
        super().build(input_shape, rng, dtype)
        self.rng = rng

    def forward(self, X, training=True):
        """X : ndarray of shape (batch, ...), rows or images -> Y : ndarray of X's shape."""
        if not training or self.rate == 0:
            self.mask = None
            return X
        keep = 1.0 - self.rate

        def draw(shape):   # in X's dtype, so that a float32 model stays float32 throughout
            return (self.rng.random(shape, dtype=X.dtype) < keep) / X.dtype.type(keep)

        self.mask = self.whole_batch.draw(draw, X.shape)   # the batch's mask: draw(X.shape) (base.py)
        return X * self.mask

    def backward(self, dY):
        """dY : ndarray of shape (batch, ...) -> dX : ndarray of dY's shape."""
        return dY if self.mask is None else dY * self.mask

    def onnx_nodes(self, builder, X):
        """ONNX export (see deeplearner/export/onnx.py): at inference Dropout is the identity."""
        return builder.node("Identity", [X])

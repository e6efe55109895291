"""Dense: the fully connected layer ``Y = X W + b``."""

import numbers

import numpy as np

from .. import initializers, regularizers
from ..validation import check_real
from .base import Layer, ShapeError, column_sums


class Dense(Layer):
    """Fully connected layer.

    Parameters
    ----------
    units : int
        Number of outputs (n_out).
    init : str or Initializer
        How ``W`` is drawn; ``b`` starts at zero. A name, or an object from
        ``deeplearner.initializers`` (where the formulas are derived):

        - "glorot_uniform" (the default, as in Keras): W ~ U(-r, r), r = sqrt(6 / (n_in + n_out));
        - "glorot_normal": W ~ N(0, 2 / (n_in + n_out));
        - "he_normal" (He et al. 2015, suited to relu): W ~ N(0, 2 / n_in);
        - "he_uniform": W ~ U(-r, r), r = sqrt(6 / n_in);
        - "normal", or ``Normal(std=0.01)`` for a scale of your choice: W ~ N(0, std^2);
        - "zeros".
    kernel_regularizer : L2, "l2" or None
        A penalty on W added to the loss, e.g. ``L2(1e-4)`` for 1e-4 * sum(W^2) ("l2" is
        ``L2(0.01)``, as in Keras); see `deeplearner.regularizers`. backward adds its gradient
        2 l2 W to dW, ``penalty()`` returns its value, and the loss ``fit`` reports includes it.

    Notes
    -----
    Forward, for X of shape (batch, n_in), W of shape (n_in, n_out), b of shape (n_out,)::

        Y = X W + b

    Backward, given dY = dL/dY of shape (batch, n_out)::

        dW = X^T dY          (n_in, n_out)
        db = sum_i dY[i]     (n_out,)
        dX = dY W^T          (batch, n_in)

    With a kernel_regularizer the loss has the penalty l2 sum(W^2) too, and dW gains 2 l2 W.

    ``forward(X, training=True)`` keeps X for dW; inference (``training=False``) keeps nothing, so
    ``predict`` leaves no reference to the caller's array behind, and backward then refuses to run.
    """

    def __init__(self, units, init="glorot_uniform", kernel_regularizer=None, **unknown):
        super().__init__(**unknown)   # Layer refuses Keras's activation= and the like, naming the fix
        self.units = check_real("Dense", "units", units, 1, integer=True, hint=" Example: Dense(100).")
        self.init = initializers.get(init, "Dense")   # an Initializer, e.g. GlorotUniform()
        self.kernel_regularizer = regularizers.get(kernel_regularizer, "Dense")   # an L2, or None
        self.X = None   # the input of the last training forward, for dW in backward

    def get_config(self):
        # A name ("he_normal"), or {"class": "Normal", "config": {"std": 0.01}}: JSON, for save.
        config = {"units": self.units, "init": initializers.serialize(self.init, "Dense")}
        if self.kernel_regularizer is not None:   # only when set: configs without one stay as they were
            config["kernel_regularizer"] = regularizers.serialize(self.kernel_regularizer, "Dense")
        return config

    def build(self, input_shape, rng, dtype):
        if not isinstance(input_shape, numbers.Integral):
            raise ShapeError(f"Dense takes flat rows, but its input has shape {tuple(input_shape)} per "
                             f"sample (images?). Add Flatten() before it.")
        super().build(input_shape, rng, dtype)
        n_in, n_out = input_shape, self.units
        self.params = {"W": self.init((n_in, n_out), rng, dtype),            # drawn from the model's rng
                       "b": initializers.Zeros()((n_out,), rng, dtype)}      # draws nothing
        # Gradients live in preallocated arrays that backward overwrites (out=...),
        # so a training step allocates nothing for them.
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def outputshape(self):
        return self.units

    def forward(self, X, training=True):
        """X : ndarray of shape (batch, n_in) -> Y : ndarray of shape (batch, n_out)."""
        self.X = X if training else None        # kept for dW in backward, only when training
        Y = X @ self.params["W"]                # (batch, n_in) @ (n_in, n_out) -> (batch, n_out)
        Y += self.params["b"]                   # in place: no second (batch, n_out) array
        return Y

    def backward(self, dY):
        """dY : ndarray of shape (batch, n_out) -> dX : ndarray of shape (batch, n_in).

        Returns None instead when ``needs_input_grad`` is False (see below).
        """
        if self.X is None:
            raise RuntimeError("Dense.backward needs a forward(X, training=True) first: a forward in "
                               "inference mode (training=False) keeps no input to compute dW from.")
        np.matmul(self.X.T, dY, out=self.grads["W"])   # (n_in, batch) @ (batch, n_out) -> (n_in, n_out)
        column_sums(dY, out=self.grads["b"])           # db = sum_i dY[i]: (batch, n_out) -> (n_out,)
        if self.kernel_regularizer is not None and self.whole_batch.leads:   # once per batch (base.py)
            # dW += 2 l2 W: the penalty's gradient
            self.grads["W"] += self.kernel_regularizer.gradient(self.params["W"])
        if not self.needs_input_grad:
            # The model's first layer: dX would be the gradient for the data, which nothing
            # reads. Skipping it saves a GEMM as large as the forward one (400 inputs -> 100
            # units: a third of the whole step's arithmetic).
            return None
        return dY @ self.params["W"].T                 # (batch, n_out) @ (n_out, n_in) -> (batch, n_in)

    def penalty(self):
        """The kernel_regularizer's penalty for the current W (l2 sum(W^2)), a float; 0.0 without one."""
        if self.kernel_regularizer is None or "W" not in self.params:
            return 0.0
        return self.kernel_regularizer(self.params["W"])

    def onnx_nodes(self, builder, X):
        """ONNX export (see deeplearner/export/onnx.py): Y = Gemm(X, W, b) = X W + b, shapes as in forward."""
        W, b = builder.constant("W", self.params["W"]), builder.constant("b", self.params["b"])
        return builder.node("Gemm", [X, W, b])

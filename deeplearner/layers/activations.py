"""Activation functions and the `Activation` layer that applies one.

Each function is a small object with a ``name``, ``forward(X) -> Y`` and
``backward(X, Y, dY) -> dX``. Backward receives both the input and the output because
some derivatives read best from one (relu: X > 0), some from the other (sigmoid: Y (1 - Y)).
Write your own the same way and pass an instance to ``Activation``.
"""

import numpy as np

from ..validation import check_real
from .base import Layer


class ReLU:
    """relu(X) = max(X, 0);  dX = dY * [X > 0]  (the derivative at 0 is taken as 0)."""

    name = "relu"

    def forward(self, X):
        """X : ndarray of shape (batch, ...), rows or images -> Y : ndarray of X's shape."""
        return np.maximum(X, 0)

    def backward(self, X, Y, dY):
        """X, Y, dY : ndarrays of one shape (batch, ...) -> dX : ndarray of that shape."""
        # Plain: dY * (X > 0). Writing the comparison straight into dX as 1.0 and 0.0 and
        # multiplying in place skips the boolean temporary: 1.1-1.5x faster, the same numbers.
        dX = np.greater(X, 0, out=np.empty_like(dY))
        dX *= dY
        return dX

    def onnx_nodes(self, builder, X):
        """ONNX export (see deeplearner/export/onnx.py)."""
        return builder.node("Relu", [X])

    __call__ = forward


class LeakyReLU:
    """leaky_relu(X) = X if X > 0 else alpha X;  dX = dY if X > 0 else alpha dY."""

    name = "leaky_relu"

    def __init__(self, alpha=0.01):
        # A Python float: a NumPy float64 scalar times a float32 array would give float64.
        self.alpha = check_real("LeakyReLU", "alpha", alpha, 0, 1, hint=" Example: LeakyReLU(alpha=0.01).")

    def forward(self, X):
        """X : ndarray of shape (batch, ...), rows or images -> Y : ndarray of X's shape."""
        return np.where(X > 0, X, self.alpha * X)

    def backward(self, X, Y, dY):
        """X, Y, dY : ndarrays of one shape (batch, ...) -> dX : ndarray of that shape."""
        return np.where(X > 0, dY, self.alpha * dY)

    def onnx_nodes(self, builder, X):
        """ONNX export: max(X, alpha X), which is X if X > 0 else alpha X for alpha in [0, 1).

        Not ONNX's LeakyRelu, whose alpha attribute is a float32 whatever the model's dtype: here
        alpha is a constant in the file's dtype (see deeplearner/export/onnx.py).
        """
        alpha_X = builder.node("Mul", [X, builder.constant("alpha", self.alpha)])
        return builder.node("Max", [X, alpha_X])

    __call__ = forward


class Sigmoid:
    """sigmoid(X) = 1 / (1 + exp(-X));  dX = dY * Y * (1 - Y).

    exp(-X) overflows for large negative X, so both signs go through E = exp(-|X|) in (0, 1]:
    sigmoid(|X|) = 1 / (1 + E) and sigmoid(-|X|) = E / (1 + E). This is what
    ``scipy.special.expit`` does; NumPy alone keeps SciPy's 20 MB out of every process.
    """

    name = "sigmoid"

    def forward(self, X):
        """X : ndarray of shape (batch, ...), rows or images -> Y : ndarray of X's shape."""
        E = np.exp(-np.abs(X))                  # (batch, n), in (0, 1]: never overflows
        Y_abs = 1 / (1 + E)                     # sigmoid(|X|)
        return np.where(X >= 0, Y_abs, E * Y_abs)

    def backward(self, X, Y, dY):
        """X, Y, dY : ndarrays of one shape (batch, ...) -> dX : ndarray of that shape."""
        return dY * Y * (1 - Y)

    def onnx_nodes(self, builder, X):
        """ONNX export (see deeplearner/export/onnx.py)."""
        return builder.node("Sigmoid", [X])

    __call__ = forward


class Tanh:
    """tanh(X);  dX = dY * (1 - Y^2)."""

    name = "tanh"

    def forward(self, X):
        """X : ndarray of shape (batch, ...), rows or images -> Y : ndarray of X's shape."""
        return np.tanh(X)

    def backward(self, X, Y, dY):
        """X, Y, dY : ndarrays of one shape (batch, ...) -> dX : ndarray of that shape."""
        return dY * (1 - Y * Y)

    def onnx_nodes(self, builder, X):
        """ONNX export (see deeplearner/export/onnx.py)."""
        return builder.node("Tanh", [X])

    __call__ = forward


class Softmax:
    """Row-wise softmax: Y[i, k] = exp(X[i, k]) / sum_j exp(X[i, j]).

    Backward is the Jacobian-vector product, for each row i::

        dX[i] = Y[i] * (dY[i] - sum_k dY[i, k] Y[i, k])

    This is dY[i] times the Jacobian of one row, diag(Y[i]) - Y[i]^T Y[i]: each X[i, k] moves its
    own Y[i, k] and, through the shared denominator, every other entry of the row.

    With `CrossEntropyForSoftMax` the model never calls this backward: it fuses the two and
    starts back-propagation from dX = (Y - T) / batch, which is exact and numerically stable.
    """

    name = "softmax"

    def forward(self, X):
        """X : ndarray of shape (batch, n) -> Y : ndarray of shape (batch, n)."""
        # Subtracting the row maximum leaves the result unchanged and keeps exp from overflowing.
        E = np.exp(X - X.max(axis=1, keepdims=True))   # (batch, k)
        E /= E.sum(axis=1, keepdims=True)              # (batch, k) / (batch, 1)
        return E

    def backward(self, X, Y, dY):
        """X, Y, dY : ndarrays of shape (batch, n) -> dX : ndarray of shape (batch, n)."""
        row_sum = np.sum(dY * Y, axis=1, keepdims=True)   # (batch, 1): sum_k dY[i, k] Y[i, k]
        return Y * (dY - row_sum)                        # (batch, n) - (batch, 1), broadcast

    def onnx_nodes(self, builder, X):
        """ONNX export (see deeplearner/export/onnx.py): softmax along axis 1, as forward."""
        return builder.node("Softmax", [X], axis=1)

    __call__ = forward


relu = ReLU()
leaky_relu = LeakyReLU()
sigmoid = Sigmoid()
tanh = Tanh()
softmax = Softmax()

ACTIVATIONS = {fn.name: fn for fn in (relu, leaky_relu, sigmoid, tanh, softmax)}


class Activation(Layer):
    """Apply an activation function element-wise, to rows or images (softmax: row-wise, to rows).

    Parameters
    ----------
    fn : str or activation object
        One of ``"relu"``, ``"leaky_relu"``, ``"sigmoid"``, ``"tanh"``, ``"softmax"``, or an
        object with ``name``, ``forward(X)`` and ``backward(X, Y, dY)`` such as ``relu``.
    """

    def __init__(self, fn, **unknown):
        super().__init__(**unknown)
        if isinstance(fn, str):
            if fn.lower() not in ACTIVATIONS:
                raise ValueError(f"Activation: unknown activation {fn!r}. "
                                 f"Use one of {sorted(ACTIVATIONS)}, e.g. Activation('relu').")
            fn = ACTIVATIONS[fn.lower()]
        elif not (callable(getattr(fn, "forward", None)) and callable(getattr(fn, "backward", None))):
            raise TypeError(f"Activation: expected a name from {sorted(ACTIVATIONS)} or an object with "
                            f"forward(X) and backward(X, Y, dY), received {fn!r}.")
        self.fn = fn
        self.X = self.Y = None   # input and output of the last training forward, for backward

    def get_config(self):
        """``{"fn": name}``: a file holds the name of a built-in function, never a function object."""
        builtin = ACTIVATIONS.get(getattr(self.fn, "name", None))
        if builtin is None or type(self.fn) is not type(builtin) or vars(self.fn) != vars(builtin):
            raise ValueError(
                f"Activation: only the built-in functions {sorted(ACTIVATIONS)}, with their default "
                f"settings, can be saved (by name); this layer holds {self.fn!r}. To save it, subclass "
                f"Activation with an __init__ that takes no arguments, e.g. class MyActivation(Activation): "
                f"def __init__(self): super().__init__(MyFunction()), and load the file with "
                f"load_model(path, custom_objects={{'MyActivation': MyActivation}}).")
        return {"fn": builtin.name}

    @property
    def name(self):
        return getattr(self.fn, "name", type(self.fn).__name__)

    def forward(self, X, training=True):
        """X : ndarray of shape (batch, ...) -> Y : ndarray of X's shape (softmax: rows (batch, k)).

        Keeps X and Y for backward only when training: inference keeps no reference to its input.
        """
        # A function of your own may return float64 for a float32 model: cast back to the
        # model's dtype (no copy, and so no cost, when it is already right, as for the built-ins).
        Y = np.asarray(self.fn.forward(X), dtype=X.dtype)
        self.X, self.Y = (X, Y) if training else (None, None)
        return Y

    def backward(self, dY):
        """dY : ndarray of shape (batch, ...) -> dX : ndarray of dY's shape."""
        if self.X is None:
            raise RuntimeError(f"Activation({self.name!r}).backward needs a forward(X, training=True) first: "
                               f"a forward in inference mode (training=False) keeps no X and Y to differentiate.")
        return np.asarray(self.fn.backward(self.X, self.Y, dY), dtype=self.X.dtype)   # as in forward

    def onnx_nodes(self, builder, X):
        """ONNX export (see deeplearner/export/onnx.py): the function's own onnx_nodes adds the node."""
        return builder.emit(self.fn, X)

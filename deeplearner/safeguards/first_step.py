"""A model's first training step checks what every layer returns, and names the layer that breaks the contract.

A layer of your own that returns the wrong thing would otherwise fail later, inside the *next*
layer: a backward returning dX of the wrong shape surfaces as a NumPy matmul error in dense.py,
one returning None as ``dtype('O')``, and neither names the layer or the problem. So the first
step checks, layer by layer, right where each result is made:

- ``forward(X, training)`` must return an ndarray of shape (batch, *outputshape()), in the
  model's dtype: that is what the next layer was built to take;
- ``backward(dY)`` must return dX, an ndarray of the shape and dtype of the layer's input (only
  the first layer may return None: nothing reads the gradient for the data), and a layer with
  ``params`` must fill ``grads`` with an array of the same shape for each of them.

How: the model's first step hands the one training step (deeplearner/model/step.py) a
`FirstStepChecks` as its ``watch``, which sees each layer's input and result as they are made.
The layers inside a `Residual` block are run by the block, not by the step: for the length of
the step (``with FirstStepChecks(model) as watch``) each block's own ``watch`` checks them the
same way, against the shapes they were built for, and the message names the block and the layer.
Every later step runs without one: the check costs nothing after the first batch. It runs again
only if that first step never reached backward (a NaN loss); the model's ``checked`` says so.
"""

import numpy as np

from ..layers import compat
from ..layers.base import ShapeError, as_tuple
from ..layers.residual import inner_layers


class FirstStepChecks:
    """The ``watch`` of a model's first training step: each method checks one layer's result.

    Positions count the model's layers from 0, as the step's do. Used as a context manager, it
    also watches the layers inside blocks while the step runs.
    """

    def __init__(self, model):
        self.model = model
        self.blocks = []

    def __enter__(self):
        for position, layer in enumerate(self.model.layers):
            self._watch_inside(layer, f"Layer {position} ({compat.layer_name(layer)})")
        return self

    def __exit__(self, *exception):
        for block in self.blocks:
            vars(block).pop("watch", None)     # the class's None again: later steps check nothing

    def _watch_inside(self, block, where):
        inner = inner_layers(block)
        if inner:
            block.watch = InnerChecks(where, self.model.dtype)
            self.blocks.append(block)
        for key, layer in inner:
            self._watch_inside(layer, f"{where}, its layer {key} ({compat.layer_name(layer)})")

    def forward(self, position, layer, X, Y):
        """After ``Y = layer.forward(X, training)``."""
        _check_forward(self.model, position, layer, X, Y)

    def backward(self, position, layer, dY, dX):
        """After ``dX = layer.backward(dY)``."""
        _check_backward(self.model, position, layer, dY, dX)


class InnerChecks:
    """A block's ``watch`` during the first step: the same checks for the layers inside it, by key."""

    def __init__(self, where, dtype):
        self.where, self.dtype = where, dtype

    def forward(self, key, layer, X, Y):
        where = f"{self.where}, its layer {key} ({compat.layer_name(layer)}).forward"
        check_output(where, layer, Y, (len(X), *as_tuple(layer.outputshape())), self.dtype)

    def backward(self, key, layer, dY, dX):
        where = f"{self.where}, its layer {key} ({compat.layer_name(layer)}).backward"
        check_gradients(where, layer, dX, (len(dY), *as_tuple(layer.inputshape)), self.dtype,
                        may_skip=getattr(layer, "needs_input_grad", True) is False)


def _check_forward(model, position, layer, X, Y):
    """X : (batch, *input_shape) went in; Y must be (batch, *outputshape()), the model's dtype."""
    where = f"Layer {position} ({compat.layer_name(layer)}).forward"
    check_output(where, layer, Y, (len(X), *model.output_shapes[position]), model.dtype)


def _check_backward(model, position, layer, dY, dX):
    """dY : (batch, *outputshape()) went in; dX must have the shape and dtype of the layer's input."""
    where = f"Layer {position} ({compat.layer_name(layer)}).backward"
    check_gradients(where, layer, dX, (len(dY), *model.input_shapes[position]), model.dtype, may_skip=position == 0)


def check_output(where, layer, Y, expected, dtype):
    """Y must be an ndarray of the ``expected`` shape (batch, *outputshape()) and the model's dtype."""
    _check_array(Y, where, "Y (its output)", expected, dtype, "return Y")
    if Y.shape != expected:
        raise ShapeError(f"{where} returned Y of shape {Y.shape}, but it declared outputshape() = "
                         f"{layer.outputshape()!r}, so the layers after it expect shape {expected}. Make forward "
                         f"return that shape, or outputshape() return what forward gives.")


def check_gradients(where, layer, dX, expected, dtype, may_skip):
    """dX must have the ``expected`` shape of the layer's input (None only if ``may_skip``); grads, params' shapes."""
    name = compat.layer_name(layer)
    if not (dX is None and may_skip):   # a first layer's dX would be the data's gradient: unread
        _check_array(dX, where, "dX (the gradient of the loss for its input)", expected, dtype, "return dX")
        if dX.shape != expected:
            raise ShapeError(f"{where} returned dX of shape {dX.shape}, but its input X had shape {expected}: "
                             f"dX holds dL/dX, one value for each value of X. Check the transposes and sums in "
                             f"{name}.backward.")
    grads = compat.grads_of(layer)
    for key, param in compat.params_of(layer).items():
        grad = grads.get(key)
        if not isinstance(grad, np.ndarray) or grad.shape != param.shape:
            got = "nothing" if grad is None else (f"shape {grad.shape}" if isinstance(grad, np.ndarray)
                                                  else f"a {type(grad).__name__}")
            raise ShapeError(f"{where} left {got} in self.grads[{key!r}], but self.params[{key!r}] has shape "
                             f"{param.shape}: backward must fill self.grads[{key!r}] with dL/d{key}, an array of "
                             f"the same shape, which the optimizer then applies.")


def _check_array(value, where, what, expected, dtype, statement):
    """Refuse None, non-arrays and a wrong dtype, saying what was expected instead."""
    if value is None:
        raise TypeError(f"{where} returned None; it must return {what} as an ndarray of shape {expected}. "
                        f"Add `{statement}` at its end.")
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{where} returned a {type(value).__name__}, not a NumPy array; it must return {what} "
                        f"as an ndarray of shape {expected}. Convert it, e.g. `return np.asarray(...)`.")
    if value.dtype != dtype:
        raise TypeError(f"{where} returned an array of dtype {value.dtype}, but the model computes in {dtype}. "
                        f"Make new arrays in the input's dtype (np.zeros_like(X), or .astype(X.dtype)).")

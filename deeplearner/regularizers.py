"""Regularizers: a penalty on a layer's weights, added to the loss that training minimizes.

    Dense(100, kernel_regularizer=L2(1e-4))     # adds 1e-4 * sum(W^2) to the loss
    Conv2D(8, 3, kernel_regularizer="l2")       # Keras's string: L2(0.01)

The layer holds the regularizer and does two things with it: its ``backward`` adds the
penalty's gradient to ``grads["W"]`` (so the optimizer is handed the gradient of loss +
penalty, and so are you after ``compute_gradients``), and its ``penalty()`` returns the
penalty for its current weights. `total_penalty` adds those up over a model's layers; the loss
``fit`` reports (``history["loss"]``) includes it, as Keras's does. Only the kernel W is
penalized, never the bias, as with Keras's ``kernel_regularizer``.

This is the coupled L2 penalty. The optimizers' ``weight_decay`` is the decoupled kind, which
leaves the loss and the gradient alone; `deeplearner.optimizers.Optimizer` says where the two
agree (SGD without momentum, with weight_decay = 2 l2) and where they do not (momentum, Adam).
"""

import numpy as np

from .validation import check_real


class L2:
    """The penalty l2 * sum(W^2) (Keras's ``L2``, default l2=0.01).

    Notes
    -----
    For a weight array W of any shape::

        penalty(W)  = l2 sum_i W_i^2
        dpenalty/dW = 2 l2 W

    Plain gradient descent on it alone shrinks W by the factor 1 - 2 lr l2 each step, hence the
    name "weight decay"; see `deeplearner.optimizers.Optimizer` for how this differs from the
    optimizers' decoupled ``weight_decay``, and what either does before a BatchNorm.
    """

    def __init__(self, l2=0.01):
        self.l2 = check_real("L2", "l2", l2, 0, must="a number >= 0",
                             hint=" Typical values are 1e-5 to 1e-2, e.g. L2(1e-4).")

    def __call__(self, W):
        """W : ndarray of any shape -> the penalty l2 sum(W^2), a float."""
        return float(self.l2 * np.sum(np.square(W)))

    def gradient(self, W):
        """W : ndarray of any shape -> 2 l2 W, a new ndarray of W's shape and dtype."""
        return (2 * self.l2) * W

    def get_config(self):
        return {"l2": self.l2}

    def __repr__(self):
        return f"L2(l2={self.l2!r})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    __hash__ = None   # equal by value, so not hashable


def get(regularizer, owner):
    """A layer's ``kernel_regularizer=`` argument -> an `L2` or None; ``owner`` ("Dense") names the layer in errors.

    Takes None, an `L2`, the string "l2" (Keras's: ``L2(0.01)``), or what `serialize` returned,
    ``{"class": "L2", "config": {"l2": 0.0001}}`` (as a saved model holds it).
    """
    if regularizer is None or isinstance(regularizer, L2):
        return regularizer
    if isinstance(regularizer, str):
        if regularizer.lower() != "l2":
            raise ValueError(f"{owner}: unknown kernel_regularizer={regularizer!r}. The one built in is "
                             f"'l2' (L2(0.01)); pass e.g. kernel_regularizer=L2(1e-4) from deeplearner.")
        return L2()
    if isinstance(regularizer, dict) and set(regularizer) == {"class", "config"} and regularizer["class"] == "L2":
        return L2(**regularizer["config"])
    if regularizer is L2:
        raise TypeError(f"{owner}: kernel_regularizer=L2 is the class; pass an instance, e.g. L2(1e-4).")
    raise TypeError(f"{owner}: kernel_regularizer must be None, 'l2' or an L2 object such as L2(1e-4), "
                    f"received kernel_regularizer={regularizer!r}.")


def serialize(regularizer, owner):
    """The JSON-able form a layer's ``get_config()`` stores: ``{"class": "L2", "config": {"l2": 0.0001}}``.

    Only deeplearner's own `L2` can be saved (a file never names code to run), not a subclass.
    """
    if type(regularizer) is not L2:
        raise ValueError(f"{owner}: only deeplearner's L2 regularizer can be saved, this layer holds "
                         f"kernel_regularizer={regularizer!r}. Use L2(l2=...), or save the weights instead "
                         f"(model.get_weights()).")
    return {"class": "L2", "config": regularizer.get_config()}


def total_penalty(layers):
    """The sum of ``layer.penalty()`` over the trainable layers that have that method; 0.0 if none.

    A frozen layer (``trainable = False``) adds nothing: its weights do not move, and Keras too
    counts only trainable weights' penalties. The model adds this to the loss of each training
    step, so ``history["loss"]`` is the data loss plus the penalty.
    """
    return float(sum(layer.penalty() for layer in layers
                     if getattr(layer, "trainable", True) and callable(getattr(layer, "penalty", None))))

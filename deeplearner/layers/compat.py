"""Layers in the seed notebook's style: the one place that knows how they differ.

The seed notebook's layers (its ``BathNorm``) never call ``Layer.__init__``. They have no
``params``, ``grads`` or ``buffers`` of their own: they keep their weights as plain attributes
(``self.gamma``), create them in ``setup(optimizer, loss)``, and update them themselves inside
``backward`` with ``copy.copy(optimizer).update(param, grad)``. Such layers keep working in a
`Sequential` model; the rest of the library asks the questions below instead of poking at a
layer's attributes itself, so the differences are written down once.
"""

import numpy as np


def is_seed_style(layer):
    """True for a layer without ``params`` of its own: its weights, if any, are invisible to us."""
    return "params" not in vars(layer)


def layer_name(layer):
    """The name shown in summaries and error messages."""
    return getattr(layer, "name", type(layer).__name__)


def params_of(layer):
    """The layer's trainable arrays by name (``{}`` for a seed-style layer)."""
    return getattr(layer, "params", {})


def grads_of(layer):
    """The gradients ``backward`` filled, by the same names as ``params_of``."""
    return getattr(layer, "grads", {})


def buffers_of(layer):
    """Arrays saved with the model but not trained (BatchNorm's running statistics)."""
    return getattr(layer, "buffers", {})


def is_trainable(layer):
    return getattr(layer, "trainable", True)


def build(layer, input_shape, rng, dtype, optimizer, loss):
    """Build ``layer`` for samples of ``input_shape`` (an int width or a tuple), then call the seed's hook.

    A seed-style layer may lack ``build`` and have only ``setup(optimizer, loss)``, reading
    ``self.inputshape``, which is set for it.
    """
    if callable(getattr(layer, "build", None)):
        layer.build(input_shape, rng, dtype)
    else:
        layer.inputshape = input_shape
    if callable(getattr(layer, "setup", None)):
        layer.setup(optimizer, loss)


def plain_arrays(layer):
    """Names of a seed-style layer's array attributes, which ``save`` could not see; [] otherwise."""
    if not is_seed_style(layer):
        return []
    return sorted(name for name, value in vars(layer).items() if isinstance(value, np.ndarray))

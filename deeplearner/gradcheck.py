"""Check back-propagation against finite differences.

``gradcheck(target, X, T)`` compares the gradients a layer, a loss or a whole model computes
with central differences of the scalar it should be the gradient of::

    df/dx[i]  ~  (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)      error O(eps^2)

For a layer, f(X, params) = sum(forward(X) * G) with a *random* upstream gradient G, so backward
must return G pulled back through the layer; f adds the layer's ``penalty()`` when it has a
kernel_regularizer, whose gradient its backward adds. (An all-ones G is a trap: BatchNorm's dX is
then exactly 0 and any wrong formula for it passes.) For a loss, f = loss.forward(Y_pred, T). For a
model, f = loss(model(X), T) with the model in training mode.

Only layers that keep ``params`` and ``grads`` (every built-in layer, and your own that call
``Layer.__init__``) have their parameters checked. A layer in the seed notebook's style keeps its
weights as plain attributes and updates them inside ``backward``: gradcheck still checks the
gradients flowing *through* it (dX, and the layers before it), puts its attributes back after
the analytic pass and again at the end, and lists it in ``GradcheckResult.unchecked``.

Each array gets the error ||analytic - numeric|| / max(||analytic|| + ||numeric||, 1): relative
for gradients of norm above 1, absolute below. The floor keeps a gradient that is exactly 0
(a Dense bias just before BatchNorm: the normalization removes any constant shift) from
looking like a failure when the differences show rounding noise of 1e-10. The price: a wrong
gradient whose whole norm is below about 1e-6 goes unnoticed, as it would in PyTorch's
gradcheck (atol=1e-5). In float64 a correct Dense or Conv2D scores below about 1e-9 and a
correct BatchNorm from about 3e-10 to 1e-6, depending on the batch (its output is a ratio of
sums, so the central differences round more); a BatchNorm dX 1% too large scored 1e-6 to 5e-3.
"""

import copy

import numpy as np

from .layers import compat
from .layers.residual import inner_layers
from .losses import Loss
from .model.sequential import Sequential


class GradcheckResult:
    """Relative errors by array name ("X", "W", "0.W", ...); ``max_error`` is the worst.

    ``unchecked`` names the seed-style layers (no ``params``) whose own parameters were not
    checked, e.g. ``["1.BathNorm"]``; empty when every parameter was.
    """

    def __init__(self, errors, unchecked=()):
        self.errors = errors
        self.unchecked = list(unchecked)

    @property
    def max_error(self):
        return max(self.errors.values())

    def __repr__(self):
        rows = "\n".join(f"  {name:>14}: {error:.2e}" for name, error in self.errors.items())
        note = (f"\n  parameters not checked (seed-style layers, no params/grads): {', '.join(self.unchecked)}"
                if self.unchecked else "")
        return f"GradcheckResult(max_error={self.max_error:.2e})\n{rows}{note}"


def gradcheck(target, X, T=None, *, eps=1e-6, max_entries=None, seed=0):
    """Compare ``target``'s gradients with central differences; return a `GradcheckResult`.

    Parameters
    ----------
    target : Layer (built), Loss or Sequential, in float64
    X : ndarray of shape (batch, *input_shape)
        The input (for a loss: the predictions or logits it receives).
    T : ndarray, needed for a loss or a model
        Targets for a loss; labels or targets for a model, as ``fit`` takes them.
    eps : float
        Step of the central differences.
    max_entries : int or None
        Check at most this many randomly chosen entries of each array (None: all of them).
    seed : int
        Seeds the upstream gradient G and the choice of entries.

    The target is left as it was: weights, running statistics, generator state, ``classes_``,
    and the attributes of seed-style layers (which train themselves inside ``backward``; their
    parameters are not checked, see ``GradcheckResult.unchecked``).
    """
    if isinstance(target, Loss) and T is None:
        raise ValueError("gradcheck of a loss needs the targets: gradcheck(loss, Y_pred, T).")
    rng = np.random.default_rng(seed)
    X = np.array(X, dtype=np.float64)               # a private copy we may perturb
    # Every forward pass in training mode moves BatchNorm's running statistics and draws from
    # the generator: take both back afterwards, so checking a model leaves it as it was.
    saved = target.get_weights() if callable(getattr(target, "get_weights", None)) else None
    target_rng = getattr(target, "rng", None)
    replay = _replaying(target_rng)
    layers = target.layers if isinstance(target, Sequential) else [] if isinstance(target, Loss) else [target]
    restore_seed_style, unchecked = _seed_style_snapshot(layers, target_rng)
    # A model's first layer skips dX in training (nothing reads it); the check wants it.
    first = target.layers[0] if isinstance(target, Sequential) else target
    skipped_input_grad = getattr(first, "needs_input_grad", True) is False
    if skipped_input_grad:
        first.needs_input_grad = True
    try:
        if isinstance(target, Sequential):
            f, analytic, arrays = _model_problem(target, X, T, replay)
        elif isinstance(target, Loss):
            f, analytic, arrays = _loss_problem(target, X, np.asarray(T, dtype=np.float64))
        else:
            f, analytic, arrays = _layer_problem(target, X, rng, replay)
        # A seed-style layer has just updated itself in backward: put it back, so the
        # differences below see the parameters the analytic gradients were computed with.
        restore_seed_style()
        errors = {}
        for name, array in arrays.items():
            numeric, checked = _numeric_gradient(f, array, eps, max_entries, rng)
            errors[name] = _relative_error(analytic[name][checked], numeric[checked])
    finally:
        if saved is not None:
            target.set_weights(saved)
        restore_seed_style()
        replay()
        if skipped_input_grad:
            first.needs_input_grad = False
    return GradcheckResult(errors, unchecked)


def _seed_style_snapshot(layers, rng):
    """Save every seed-style layer's attributes; return (a function putting them back, their names).

    A seed-style layer (no ``params`` of its own) keeps its weights as plain attributes and may
    replace them, and its optimizer copies' state, inside backward: only a deep copy of all its
    attributes can take that back.
    """
    seed_style = [(i, layer) for i, layer in _numbered([(str(i), layer) for i, layer in enumerate(layers)])
                  if compat.is_seed_style(layer)]
    # The memo {id(rng): rng} makes deepcopy keep a reference to the model's generator as that
    # very generator, not a detached copy of it. A fresh memo each time: deepcopy fills it.
    saved = [(layer, copy.deepcopy(vars(layer), {id(rng): rng})) for _, layer in seed_style]

    def restore():
        for layer, state in saved:
            vars(layer).clear()
            vars(layer).update(copy.deepcopy(state, {id(rng): rng}))   # the snapshot stays intact
    names = [f"{i}.{compat.layer_name(layer)}" for i, layer in seed_style]
    return restore, names


def _numbered(pairs, prefix=""):
    """(path, layer) for each (key, layer) of ``pairs`` and every layer inside a block: "3", "3.0", "3.shortcut.0"."""
    for key, layer in pairs:
        yield prefix + key, layer
        yield from _numbered(inner_layers(layer), f"{prefix}{key}.")


def _require_float64(arrays, what):
    for name, array in arrays.items():
        if array.dtype != np.float64:
            raise ValueError(f"gradcheck needs float64, but {what} '{name}' is {array.dtype}. "
                             f"Build the model or layer with dtype=np.float64 for the check.")


def _replaying(rng):
    """Return a function that resets ``rng`` to its present state (so Dropout draws the same mask)."""
    if rng is None:
        return lambda: None
    state = rng.bit_generator.state
    return lambda: setattr(rng.bit_generator, "state", state)


def _layer_problem(layer, X, rng, replay):
    params = compat.params_of(layer)
    _require_float64(params, "parameter")
    G = rng.standard_normal(layer.forward(X, True).shape)   # random upstream gradient
    replay()
    layer.forward(X, True)
    analytic = {"X": layer.backward(G)}
    analytic.update({name: grad.copy() for name, grad in compat.grads_of(layer).items()})

    def f():
        replay()
        penalty = layer.penalty() if callable(getattr(layer, "penalty", None)) else 0.0   # kernel_regularizer
        return float(np.sum(layer.forward(X, True) * G)) + penalty
    return f, analytic, {"X": X, **params}


def _loss_problem(loss, Y_pred, T):
    loss.forward(Y_pred, T)
    analytic = {"X": loss.backward()}
    return (lambda: loss.forward(Y_pred, T)), analytic, {"X": Y_pred}


def _model_problem(model, X, y, replay):
    if y is None:
        raise ValueError("gradcheck of a model needs the targets: gradcheck(model, X, y).")
    if model.dtype != np.float64:
        raise ValueError("gradcheck needs a float64 model: build it with dtype=np.float64.")
    # compute_loss and compute_gradients learn no classes_: the model stays as it is.
    def f():
        replay()
        return model.compute_loss(X, y)
    replay()
    _, dX = model.compute_gradients(X, y)
    analytic, arrays = {"X": dX}, {"X": X}
    for i, layer in enumerate(model.layers):
        for name, param in compat.params_of(layer).items():
            analytic[f"{i}.{name}"] = layer.grads[name].copy()
            arrays[f"{i}.{name}"] = param
    return f, analytic, arrays


def _numeric_gradient(f, array, eps, max_entries, rng):
    """Central differences of f() with respect to each (or a sample of) entries of ``array``."""
    numeric = np.zeros_like(array)
    flat_indices = np.arange(array.size)
    if max_entries is not None and array.size > max_entries:
        flat_indices = rng.choice(array.size, size=max_entries, replace=False)
    checked = np.zeros(array.shape, dtype=bool)
    for flat in flat_indices:
        index = np.unravel_index(flat, array.shape)
        original = array[index]
        array[index] = original + eps
        f_plus = f()
        array[index] = original - eps
        f_minus = f()
        array[index] = original                     # exact restore: we saved the value, not x - eps + eps
        numeric[index] = (f_plus - f_minus) / (2 * eps)
        checked[index] = True
    return numeric, checked


def _relative_error(analytic, numeric):
    scale = max(np.linalg.norm(analytic) + np.linalg.norm(numeric), 1.0)
    return float(np.linalg.norm(analytic - numeric) / scale)

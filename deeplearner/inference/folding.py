"""fold_batchnorm: a copy of a trained model with each BatchNorm after a Dense or Conv2D folded into its weights."""

import copy

import numpy as np

from ..layers import compat
from ..layers.batchnorm import BatchNorm
from ..layers.conv2d import Conv2D
from ..layers.dense import Dense
from ..model import Sequential

FOLDABLE = (Dense, Conv2D)


def fold_batchnorm(model):
    """Return a new model in which each BatchNorm right after a Dense or Conv2D is folded into that layer.

    The folded model predicts what ``model`` predicts, to rounding, with one layer less per fold
    and none of BatchNorm's work. ``model`` itself is left as it is.

    Parameters
    ----------
    model : Sequential
        Trained: the folded weights hold BatchNorm's running statistics as they are now
        (``recompute_batchnorm_statistics`` first, if you use it).

    Returns
    -------
    Sequential
        New layers (copies), with the same input shape, dtype, seed, loss and ``classes_``, and a
        copy of the optimizer without its state (momentum belonged to the old layers).

    Notes
    -----
    At inference BatchNorm is an affine map per unit, with the running statistics fixed. After a
    Dense layer, output unit j is::

        z_j = sum_i x_i W_ij + b_j
        y_j = gamma_j (z_j - mean_j) / sqrt(var_j + eps) + beta_j

    With k_j = gamma_j / sqrt(var_j + eps), one number per unit::

        y_j = k_j z_j - k_j mean_j + beta_j
            = sum_i x_i (W_ij k_j) + (b_j - mean_j) k_j + beta_j

    which is one Dense layer with::

        W'_ij = W_ij k_j                        (each column of W scaled by its unit's k_j)
        b'_j  = (b_j - mean_j) k_j + beta_j

    A Conv2D's filter f makes output channel f, sum_{c, p, q} W[f, c, p, q] window + b[f], and
    BatchNorm normalizes each channel: the same with W'[f] = W[f] k_f for the whole filter. The
    fold is computed in float64 and cast to the model's dtype.

    Folded only: a BatchNorm whose layer just before it is a Dense or a Conv2D (those classes
    exactly; a subclass of your own may compute something else). Any other BatchNorm stays, and
    so do the other layers. Folding holds at inference only: in training BatchNorm normalizes
    with each batch's statistics, which no fixed weights can do, so train the original and fold
    a copy to deploy (``to_onnx`` of the folded model writes the smaller graph).
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"fold_batchnorm: model must be a deeplearner Sequential, received {type(model).__name__}.")
    for i, layer in enumerate(model.layers):
        if compat.is_seed_style(layer):
            raise ValueError(f"fold_batchnorm: layer {i} ({compat.layer_name(layer)}) keeps its weights in plain "
                             f"attributes (it has no self.params), so its copy could not be given them. Derive it "
                             f"from deeplearner.Layer, call super().__init__() and keep its arrays in self.params "
                             f"and self.buffers.")
    layers, weights, i = [], [], 0
    while i < len(model.layers):
        layer = model.layers[i]
        after = model.layers[i + 1] if i + 1 < len(model.layers) else None
        layers.append(copy.deepcopy(layer))      # a new object; Sequential builds it again below
        if type(layer) in FOLDABLE and type(after) is BatchNorm:
            weights.append(_folded(layer.get_weights(), after, model.dtype))
            i += 2                               # the BatchNorm is gone
        else:
            weights.append(layer.get_weights())
            i += 1

    optimizer = copy.deepcopy(model.optimizer)
    if isinstance(getattr(optimizer, "state", None), dict):
        optimizer.state = {}                     # keyed by the old layers' positions
    folded = Sequential(layers, optimizer, copy.deepcopy(model.loss), input_shape=model.input_shape,
                        seed=model.seed, dtype=model.dtype)
    folded.set_weights(weights)                  # the copies' own weights, or the folded ones
    folded.classes_ = None if model.classes_ is None else np.array(model.classes_, copy=True)
    return folded


def _folded(weights, norm, dtype):
    """A Dense's or Conv2D's weights {"W", "b"} with the BatchNorm ``norm`` after it folded in."""
    W, b = weights["W"].astype(np.float64), weights["b"].astype(np.float64)
    gamma, beta = norm.params["gamma"].astype(np.float64), norm.params["beta"].astype(np.float64)
    k = gamma / np.sqrt(norm.running_var.astype(np.float64) + norm.eps)     # (n_out,) or (F,)
    if W.ndim == 2:
        W = W * k                                 # Dense: (n_in, n_out) * (n_out,), column j times k_j
    else:
        W = W * k[:, None, None, None]            # Conv2D: (F, C, kh, kw) * (F, 1, 1, 1), filter f times k_f
    b = (b - norm.running_mean.astype(np.float64)) * k + beta                # (n_out,) or (F,)
    return {**weights, "W": W.astype(dtype), "b": b.astype(dtype)}

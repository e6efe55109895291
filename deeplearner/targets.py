"""From the user's labels to the one-hot target rows a loss compares against, and back.

Labels may be integers or strings, of shape (n,) or (n, 1) as ``scipy.io.loadmat`` returns them.
``learn_classes`` fixes which output unit stands for which label (the model keeps it as
``classes_``); ``one_hot`` and ``classes_[argmax]`` go back and forth.
"""

import numpy as np


def is_one_hot(y, n_out):
    """True for a (n, n_out) array of 0s and 1s with a single 1 per row."""
    return (y.ndim == 2 and y.shape[1] == n_out and n_out > 1 and y.dtype.kind in "biuf"
            and bool(np.isin(y, (0, 1)).all()) and bool((y.sum(axis=1) == 1).all()))


def as_labels(y):
    """(n,) or (n, 1) -> (n,); whole-number floats (as loadmat may give) become integers."""
    y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    if y.dtype.kind == "f" and np.array_equal(y, np.round(y)):
        y = y.astype(np.int64)
    return y


def learn_classes(y, n_out, name="y"):
    """Return ``classes_``: the label that output unit k stands for is ``classes_[k]``.

    Integer labels within 0..n_out-1 map to themselves (label k is unit k, even when some labels
    are absent from this y). Any other label set maps in sorted order, as scikit-learn does,
    so the seed's labels 1..10 use units 0..9.
    """
    if y.dtype.kind in "iub" and y.min() >= 0 and y.max() < n_out:
        return np.arange(n_out)
    if y.dtype.kind == "f":
        raise ValueError(f"{name} holds non-integer numbers such as {y[y != np.round(y)][0].item()!r}, but a classifier "
                         f"needs class labels. Pass integer or string labels, or use MeanSquaredError "
                         f"with targets of shape (n_samples, {n_out}) for regression.")
    classes = np.unique(y)
    if len(classes) > n_out:
        raise ValueError(f"{name} has {len(classes)} different labels but the model has only {n_out} output "
                         f"units. Make the last Dense layer Dense({len(classes)}), or check the labels: "
                         f"{_preview(classes)}.")
    return classes


def one_hot(y, classes, dtype, n_columns=None, name="y"):
    """y : (n,) labels -> T : ndarray of shape (n, n_columns), with T[i, k] = [y[i] == classes[k]].

    ``n_columns`` defaults to len(classes); a model with more output units than labels passes
    its width, and the extra columns stay 0.
    """
    if (classes.dtype.kind in "US") != (y.dtype.kind in "US"):
        raise ValueError(f"{name} holds {'text' if y.dtype.kind in 'US' else 'numeric'} labels such as "
                         f"{_preview(y[:3])}, but the model was trained on {_preview(classes)} (its classes_). "
                         f"Pass labels of the same kind as in fit.")
    index = np.searchsorted(classes, y)                     # (n,) candidate unit of each label
    index = np.minimum(index, len(classes) - 1)
    unknown = classes[index] != y
    if unknown.any():
        raise ValueError(f"{name} contains labels the model was not trained on: {_preview(np.unique(y[unknown]))}. "
                         f"The model knows {_preview(classes)} (its classes_).")
    T = np.zeros((len(y), n_columns or len(classes)), dtype=dtype)
    T[np.arange(len(y)), index] = 1
    return T


def _preview(values, limit=10):
    shown = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in values[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"

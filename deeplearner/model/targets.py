"""From the user's labels to the one-hot target rows a loss compares against, and back.

Labels may be integers, strings or booleans, of shape (n,) or (n, 1) as ``scipy.io.loadmat``
returns them. ``learn_classes`` fixes which output unit stands for which label (the model keeps
it as ``classes_``); ``one_hot`` and ``classes_[argmax]`` go back and forth. ``encode`` is the
one entry point the model uses: labels, one-hot rows or regression targets in, T out.
"""

import numpy as np


def encode(y, n_out, classes, learn, takes_logits, dtype, name="y"):
    """Turn ``y`` into the target rows T the loss compares against; return ``(T, classes)``.

    y : ndarray of shape (n,), (n, 1) or (n, n_out), checked by ``validation.check_y``
    classes : the model's ``classes_`` so far (None before the first fit, and for regression)
    learn : whether labels may fix ``classes`` now (fit, train_on_batch) or must match it
    takes_logits : True for `CrossEntropyForSoftMax`, whose rows must be probabilities

    Returns T : ndarray of shape (n, n_out) in ``dtype``, and the classes, learned or unchanged.
    The caller decides whether to keep the learned classes (fit keeps them once all checks pass).
    """
    if y.ndim == 2 and y.shape[1] == n_out and n_out > 1:         # target rows, one per sample
        if y.dtype.kind not in "biuf":
            raise TypeError(f"{name} has shape {y.shape} but holds {y.dtype} values: target rows must be "
                            f"numbers. For class names pass one label per sample, shape (n_samples,).")
        if takes_logits:
            # The fused gradient (P - T) / batch is the cross-entropy's only when each row of T
            # sums to 1; for other rows it would train on the gradient of a different function.
            sums = y.sum(axis=1)
            if (y < 0).any() or not np.allclose(sums, 1):
                row = int(np.argmax((y < 0).any(axis=1) | ~np.isclose(sums, 1)))
                raise ValueError(f"{name} row {row} is not a probability distribution (it sums to "
                                 f"{sums[row]:g}): with CrossEntropyForSoftMax each target row must be "
                                 f"one-hot or soft labels >= 0 summing to 1. Or pass integer labels, e.g. "
                                 f"{name}.argmax(axis=1).")
        if classes is None and learn and (takes_logits or is_one_hot(y, n_out)):
            classes = np.arange(n_out)
        return y.astype(dtype), classes
    if y.ndim == 2 and y.shape[1] != 1:
        raise ValueError(f"{name} has shape {y.shape}, but the model has {n_out} outputs. Pass labels of "
                         f"shape (n_samples,) or targets of shape (n_samples, {n_out}).")
    labels = as_labels(y)
    if n_out == 1:                                                # one output unit: regression
        if labels.dtype.kind not in "biuf":
            raise TypeError(f"{name} holds {labels.dtype} values, but a model with one output unit predicts "
                            f"one number per sample. For classes use Dense(n_classes) and a softmax.")
        return labels.reshape(-1, 1).astype(dtype), classes
    if classes is None:
        if not learn:
            raise ValueError("This model has not learned its classes yet: call fit (or train_on_batch) "
                             "before evaluate or predict.")
        classes = learn_classes(labels, n_out, name)
        if y.dtype.kind == "f":
            classes = classes.astype(y.dtype)       # labels 1.0, 2.0 come back from predict as floats
    return one_hot(labels, classes, dtype, n_columns=n_out, name=name), classes


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
    if y.dtype.kind == "b":
        return np.array([False, True])
    if y.dtype.kind in "iu" and y.min() >= 0 and y.max() < n_out:
        return np.arange(n_out)
    if y.dtype.kind == "f":
        example = y[y != np.round(y)][0].item()
        raise ValueError(f"{name} holds non-integer numbers such as {example!r}, but a classifier "
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
                         f"The model knows {_preview(classes)} (its classes_, fixed by the first fit or "
                         f"train_on_batch); "
                         f"build a new model to train on a different set of labels.")
    T = np.zeros((len(y), n_columns or len(classes)), dtype=dtype)
    T[np.arange(len(y)), index] = 1
    return T


def _preview(values, limit=10):
    shown = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in values[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"

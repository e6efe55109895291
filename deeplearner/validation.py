"""Checks run once at the boundary (fit, evaluate, predict), so the math inside can trust its input.

Every message says what was expected, what was received, and how to fix it.
"""

import numbers

import numpy as np


def check_X(X, n_features, dtype, name="X", convert=True):
    """Return ``X`` as a finite 2-D array of ``dtype`` with ``n_features`` columns.

    X : array-like of shape (n_samples, n_features)
    convert : bool
        Cast to ``dtype`` here (fit: once for all epochs). With False the caller casts chunk
        by chunk, so predicting on a huge float64 array never holds a second full copy.
    """
    try:
        X = np.asarray(X)
    except ValueError as error:   # ragged nested lists
        raise ValueError(f"{name} must be a 2-D array of numbers of shape (n_samples, {n_features}); "
                         f"it could not be converted ({error}).") from None
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, received an array of dtype {X.dtype}. "
                        f"Convert it first, e.g. {name}.astype(float), after encoding any text columns.")
    if X.ndim != 2:
        if X.ndim == 0:
            hint = " Pass a table of samples, one row each, not a single number."
        elif X.ndim == 1:
            hint = (f" If these are {X.shape[0]} samples of one feature use {name}.reshape(-1, 1); if this "
                    f"is one sample use {name}.reshape(1, -1).")
        else:
            hint = f" Flatten each sample first, e.g. {name}.reshape(len({name}), -1)."
        raise ValueError(f"{name} must be a 2-D array of shape (n_samples, {n_features}), received an array "
                         f"of shape {X.shape}.{hint}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}): pass at least one sample.")
    if X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features per sample, but the model expects "
                         f"{n_features} (its input_dim). Pass data with {n_features} columns, or build the "
                         f"model with input_dim={X.shape[1]}.")
    if convert:
        X = X.astype(dtype, copy=False)
    # A sum is finite only if every term is, so one pass with no (n, d) temporary settles the
    # common case; only a suspicious sum (NaN, inf, or overflow of huge values) looks closer.
    with np.errstate(over="ignore", invalid="ignore"):
        suspicious = X.dtype.kind == "f" and not np.isfinite(X.sum(dtype=np.float64))
    if suspicious and not np.isfinite(X).all():
        bad = np.argwhere(~np.isfinite(X))
        raise ValueError(f"{name} contains {len(bad)} NaN or infinite values (the first at row {bad[0][0]}, "
                         f"column {bad[0][1]}). Remove those rows or fill the gaps in, e.g. with the column mean.")
    return X


def check_y(y, n_samples, name="y", X_name="X"):
    """Return ``y`` as an array of 1 or 2 dimensions with ``n_samples`` rows."""
    y = np.asarray(y)
    if y.ndim == 0 or y.ndim > 2:
        raise ValueError(f"{name} must have shape (n_samples,), (n_samples, 1) or (n_samples, n_classes), "
                         f"received shape {y.shape}.")
    if y.ndim == 2 and y.shape[0] == 1 and y.shape[1] == n_samples != 1:
        raise ValueError(f"{name} has shape {y.shape}: one row of {n_samples} labels, it looks transposed. "
                         f"Pass {name}.ravel() (or {name}.T) to give each of the {n_samples} samples its label.")
    if len(y) != n_samples:
        raise ValueError(f"{X_name} and {name} have different lengths: {n_samples} samples in {X_name} but "
                         f"{len(y)} in {name}. Pass one label per sample.")
    if y.dtype.kind in "fc" and not np.isfinite(y).all():
        raise ValueError(f"{name} contains {int((~np.isfinite(y)).sum())} NaN or infinite values. "
                         f"Every sample needs a valid label: drop the unlabeled rows.")
    if y.dtype.kind == "O":
        raise TypeError(f"{name} must hold numbers or strings of one type, received dtype object. "
                        f"Convert it, e.g. np.asarray({name}, dtype=str) or {name}.astype(int).")
    return y


def check_positive_int(value, name, owner="fit", example=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        hint = f" Pass e.g. {name}={example}." if example is not None else ""
        raise ValueError(f"{owner}: {name} must be a positive integer, received {name}={value!r}.{hint}")
    return int(value)

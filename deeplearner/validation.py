"""Checks run once at the boundary (fit, evaluate, predict), so the math inside can trust its input.

Every message says what was expected, what was received, and how to fix it.
"""

import math
import numbers

import numpy as np


def check_input_shape(shape, name="input_shape"):
    """A model's ``input_shape``: a positive int, or a tuple of positive ints -> a tuple."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    ok = (isinstance(shape, (tuple, list)) and 1 <= len(shape) and
          all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1 for n in shape))
    if not ok:
        raise ValueError(f"Sequential: {name} must be a positive integer (the number of features) or a tuple "
                         f"of them (channels, height, width), received {name}={shape!r}. Examples: "
                         f"{name}=400, {name}=(1, 20, 20).")
    return tuple(int(n) for n in shape)


def check_X(X, input_shape, dtype, name="X", convert=True):
    """Return ``X`` as a finite array of ``dtype`` of shape ``(n_samples, *input_shape)``.

    X : array-like of shape (n_samples, n_features) for a flat model, or
        (n_samples, channels, height, width) for an image model (``input_shape`` a tuple)
    convert : bool
        Cast to ``dtype`` here (fit: once for all epochs). With False the caller casts chunk
        by chunk, so predicting on a huge float64 array never holds a second full copy.
    """
    expected = f"(n_samples, {', '.join(map(str, input_shape))})"
    try:
        X = np.asarray(X)
    except ValueError as error:   # ragged nested lists
        raise ValueError(f"{name} must be an array of numbers of shape {expected}; "
                         f"it could not be converted ({error}).") from None
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, received an array of dtype {X.dtype}. "
                        f"Convert it first, e.g. {name}.astype(float), after encoding any text columns.")
    if X.ndim != 1 + len(input_shape) or X.shape[1:] != tuple(input_shape):
        if X.ndim == 0:
            raise ValueError(f"{name} must be an array of shape {expected}, received a single number. "
                             f"Pass a table of samples, one row each.")
        if X.ndim >= 1 and X.shape[0] == 0:
            raise ValueError(f"{name} is empty (shape {X.shape}): pass at least one sample.")
        raise ValueError(_shape_problem(X.shape, tuple(input_shape), name, expected))
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}): pass at least one sample.")
    # One pass with no (n, d) temporary settles the common case: a sum is finite only if every
    # term is; only a suspicious sum (NaN, inf, or overflow of huge values) looks closer. For a
    # float32 model fed wider floats the pass sums squares instead: that sum is at least the
    # largest square, with no cancellation, so it also sees a value that float32 cannot hold.
    narrowing = X.dtype.kind == "f" and X.dtype.itemsize > np.dtype(dtype).itemsize
    with np.errstate(over="ignore", invalid="ignore"):
        if narrowing:
            suspicious = not _sum_of_squares(X) < FLOAT32_OVERFLOW ** 2      # NaN compares False
        else:
            suspicious = X.dtype.kind == "f" and not np.isfinite(X.sum(dtype=np.float64))
    if suspicious:
        _refuse_what_the_model_cannot_hold(X, name, narrowing)
    if convert:
        X = X.astype(dtype, copy=False)
    return X


# float32's largest value is 2^128 - 2^104; from halfway to the next one, 2^128 - 2^103, a
# float64 rounds to inf when cast to float32.
FLOAT32_OVERFLOW = 2.0 ** 128 - 2.0 ** 103


def _sum_of_squares(X):
    """sum(X * X) in one read of X and no temporary, e.g. einsum("ij,ij->", X, X) for rows.

    Not BLAS's dot: on a busy machine its threads made it 10 times slower than this loop.
    """
    axes = list(range(X.ndim))                        # every axis summed: the result is a scalar
    return np.einsum(X, axes, X, axes, [])


def _refuse_what_the_model_cannot_hold(X, name, narrowing):
    """The closer look after a suspicious pass: NaN or infinities, or values beyond float32."""
    if not np.isfinite(X).all():
        bad = np.argwhere(~np.isfinite(X))
        if X.ndim == 2:
            where, fix = f"row {bad[0][0]}, column {bad[0][1]}", "rows or fill the gaps in, e.g. with the column mean"
        else:
            index = ", ".join(str(int(i)) for i in bad[0])
            axes = "(sample, channel, row, column)" if X.ndim == 4 else "index"
            where, fix = f"{axes} ({index})", "samples or fill the gaps in, e.g. with the mean pixel"
        raise ValueError(f"{name} contains {len(bad)} NaN or infinite values (the first at {where}). "
                         f"Remove those {fix}.")
    largest = max(abs(float(X.max())), abs(float(X.min())))              # two passes, no temporary
    if narrowing and largest >= FLOAT32_OVERFLOW:
        raise ValueError(f"{name} holds values up to {largest:.3g}, beyond float32's range "
                         f"({np.finfo(np.float32).max:.2g}): scale the data or build the model with "
                         f"dtype=np.float64.")


def _shape_problem(shape, input_shape, name, expected):
    """The message for X of the wrong shape: what was expected, what came, and the likely fix."""
    received = f"{name} must have shape {expected}, received shape {shape}."
    per_sample, n = shape[1:], int(np.prod(input_shape))
    if len(input_shape) == 1:                                  # a flat model
        received = f"{name} must be a 2-D array of shape {expected}, received an array of shape {shape}."
        if len(shape) == 1:
            return (f"{received} If these are {shape[0]} samples of one feature use {name}.reshape(-1, 1); "
                    f"if this is one sample use {name}.reshape(1, -1).")
        if len(shape) == 2:
            return (f"{name} has {shape[1]} features per sample, but the model expects {input_shape[0]} (its "
                    f"input_shape). Pass data with {input_shape[0]} columns, or build the model with "
                    f"input_shape={shape[1]}.")
        return (f"{received} Flatten each sample first, e.g. {name}.reshape(len({name}), -1), or build an "
                f"image model with input_shape={per_sample} and Flatten() before its first Dense.")
    if len(input_shape) == 3:                                  # an image model (channels, height, width)
        c, h, w = input_shape
        if per_sample == (h, w) and c == 1:
            return (f"{received} The images have no channel axis: add one with {name}[:, None] "
                    f"(shape (n, 1, {h}, {w})).")
        if per_sample == (h, w, c):
            return (f"{received} The images look channels-last (n, height, width, channels); deeplearner takes "
                    f"channels first: pass {name}.transpose(0, 3, 1, 2).")
        if per_sample == (n,):
            return (f"{received} Each sample is a flat row of {n} values, but this image model takes "
                    f"(channels, height, width) = {input_shape}. Fold the rows into images, e.g. "
                    f"{name}.reshape(-1, {c}, {h}, {w}) for row-major pixels, or "
                    f"deeplearner.datasets.to_images({name})[:, None] for the column-major 20x20 digits of "
                    f"handwritten.mat.")
    return f"{received} Pass samples of shape {input_shape}, or build the model with input_shape={per_sample}."


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


def check_real(owner, name, value, low=-math.inf, high=math.inf, *, low_open=False, high_open=True,
               integer=False, must=None, hint=""):
    """Return ``value`` as a float (an int if ``integer``) when it is a real number in the interval.

    The interval runs from ``low`` to ``high``, closed at ``low`` and open at ``high`` unless
    ``low_open`` / ``high_open`` say otherwise. A bool is refused although Python counts it as an
    int (``Dropout(True)`` is a mistake, not a rate of 1), and so are NaN and the infinities.
    Otherwise raises ``ValueError("{owner}: {name} must be {must}, received {name}={value!r}.{hint}")``,
    where ``must`` describes the interval unless given, e.g. "a number in [0, 1)", "a positive
    number", "a positive integer".
    """
    number = None
    if isinstance(value, numbers.Integral if integer else numbers.Real) and not isinstance(value, bool):
        try:
            number = int(value) if integer else float(value)
        except OverflowError:          # an int beyond float's range, e.g. 10**400: refused below
            pass
    ok = (number is not None and (integer or math.isfinite(number))
          and (low < number if low_open else low <= number) and (number < high if high_open else number <= high))
    if not ok:
        raise ValueError(f"{owner}: {name} must be {must or _interval(low, high, low_open, high_open, integer)}, "
                         f"received {name}={value!r}.{hint}")
    return number


def _interval(low, high, low_open, high_open, integer):
    """Words for an interval: "a positive integer", "an integer >= 0", "a number in [0, 1)", ..."""
    if high == math.inf and not low_open and integer:
        return "a positive integer" if low == 1 else f"an integer >= {low}"
    if high == math.inf and low_open and low == 0 and not integer:
        return "a positive number"
    brackets = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    return f"{'an integer' if integer else 'a number'} in {brackets}"


def check_positive_int(value, name, owner="fit", example=None):
    """``value`` as an int >= 1, or a ValueError naming ``owner`` and suggesting ``example``."""
    hint = f" Pass e.g. {name}={example}." if example is not None else ""
    return check_real(owner, name, value, 1, integer=True, hint=hint)

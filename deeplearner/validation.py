"""Checks run once at the boundary (fit, evaluate, predict), so the math inside can trust its input.

Every message says what was expected, what was received, and how to fix it. The end of the file
answers the names other libraries use (Keras's ``lr=``, ``activation=``, ``BatchNormalization``)
with deeplearner's.
"""

import difflib
import inspect
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
        if looks_channels_last(per_sample):
            h, w, c = per_sample
            return (f"{received} Flatten each sample first, e.g. {name}.reshape(len({name}), -1), or build an "
                    f"image model with input_shape=({c}, {h}, {w}) and Flatten() before its first Dense, and "
                    f"pass {name}.transpose(0, 3, 1, 2): deeplearner takes images channels first.")
        return (f"{received} Flatten each sample first, e.g. {name}.reshape(len({name}), -1), or build an "
                f"image model with input_shape={per_sample} and Flatten() before its first Dense.")
    if len(input_shape) == 3:                                  # an image model (channels, height, width)
        c, h, w = input_shape
        if shape == input_shape:                               # one image, as X[0] gives it
            return (f"{received} {name} has the shape of one sample, {shape}, with no batch axis in front: "
                    f"pass {name}[None] (shape (1, {c}, {h}, {w})). To pick the first sample and keep the "
                    f"axis, write X[:1] instead of X[0].")
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
    if looks_channels_last(per_sample):                       # e.g. (n, 28, 28, 1) for a (1, 20, 20) model
        return received + channels_last_hint(per_sample, name)
    return f"{received} Pass samples of shape {input_shape}, or build the model with input_shape={per_sample}."


def looks_channels_last(shape):
    """Whether a sample shape reads as (height, width, channels): 3 axes, the last 1 or 3, the others larger."""
    return len(shape) == 3 and shape[2] in (1, 3) and min(shape[0], shape[1]) > 3


def channels_last_hint(shape, name="X"):
    """A sentence for a sample shape that looks channels-last, such as (20, 20, 1); "" for any other."""
    shape = tuple(shape)
    if not looks_channels_last(shape):
        return ""
    h, w, c = shape
    return (f" The shape {shape} looks channels-last (height, width, channels), as Keras stores images; "
            f"deeplearner takes images channels first: build the model with input_shape=({c}, {h}, {w}) "
            f"and pass {name}.transpose(0, 3, 1, 2).")


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


# ---------------------------------------------------------------- other libraries' spellings
# A Keras user's first lines pass Keras's keywords and import Keras's names. Each is answered with
# deeplearner's spelling and the fix, never with a bare "unexpected keyword argument".

RENAMED_KEYWORDS = {           # another library's keyword -> deeplearner's name for the same argument
    "lr": "learning_rate",     # Keras 2's optimizers
    "strides": "stride",       # Keras's convolutions and pools
    "epsilon": "eps",          # Keras's BatchNormalization, Adam, RMSprop
    "kernel_initializer": "init",
    "nb_epoch": "epochs",      # Keras 1's fit
}


def keywords_of(function):
    """The argument names ``function`` takes, in order, without self, *args and **kwargs."""
    return [name for name, parameter in inspect.signature(function).parameters.items()
            if name != "self" and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)]


def refuse_unknown_keywords(owner, unknown, accepted):
    """Raise TypeError for the keyword arguments in ``unknown``, which ``owner`` does not take; nothing if none.

    ``unknown`` is a function's ``**unknown`` (name -> value) and ``accepted`` the names it does
    take (``keywords_of``). The message names the first unknown keyword, then the fix, the first
    of: deeplearner's spelling of a renamed keyword (``lr=`` -> ``learning_rate=``); what to do
    instead of a Keras argument with no counterpart here (``activation="relu"`` -> an Activation
    layer after this one); the closest accepted name (difflib, ignoring case: ``x_valid`` ->
    ``X_valid``). Then every accepted name, and the other unknown ones.
    """
    if not unknown:
        return
    name = sorted(unknown)[0]
    renamed = RENAMED_KEYWORDS.get(name)
    if renamed in accepted:
        hint = f" Did you mean {renamed}=? deeplearner spells Keras's {name}= as {renamed}=."
    else:
        hint = _instead_of_keras(name, unknown[name], owner)
    if not hint:
        by_lower_case = {keyword.lower(): keyword for keyword in accepted}
        close = difflib.get_close_matches(name.lower(), by_lower_case, n=1, cutoff=0.6)
        hint = f" Did you mean {by_lower_case[close[0]]}=?" if close else ""
    also = f" (Also unknown: {', '.join(sorted(unknown)[1:])}.)" if len(unknown) > 1 else ""
    takes = f"takes {', '.join(accepted)}" if accepted else "takes no arguments"
    raise TypeError(f"{owner}() got an unexpected keyword argument {name!r}.{hint} {owner} {takes}.{also}")


def _instead_of_keras(name, value, owner):
    """What to write instead of Keras's keyword ``name=value`` when deeplearner has no such argument; or ""."""
    if name == "activation":
        if value is None or value == "linear":
            return f" Drop activation={value!r}: a {owner} is linear unless an Activation layer follows it."
        return (f" An activation is a layer of its own here: drop activation= and add Activation({value!r}) "
                f"after it, e.g. [{owner}(...), Activation({value!r}), ...].")
    if name in ("input_shape", "input_dim"):
        return (f" The model takes the shape of one sample, not a layer: drop {name}= here and pass "
                f"Sequential(layers, optimizer, loss, input_shape={value!r}).")
    if name == "data_format":
        return (" deeplearner takes images channels first, (n, channels, height, width), always: drop "
                "data_format= and pass channels-last images X as X.transpose(0, 3, 1, 2).")
    if name == "use_bias":
        return f" {owner} always has a bias: drop use_bias= (before a BatchNorm the bias is harmless)."
    if name == "decay":
        return (" Keras 2's decay= lowered the learning rate as training went on; here a schedule does it: "
                "fit(..., callbacks=[ExponentialDecay(0.95)]), see deeplearner.schedules.")
    if name == "axis":
        return (f" {owner} has no axis argument: the axes it normalizes over are fixed, as its docstring says "
                f"(images are (n, channels, height, width), channels first). Drop axis=.")
    if name == "name":
        return " Layers take no name here: the summary lists them in order, each by its class. Drop name=."
    return ""


OTHER_NAMES = {                # another library's name -> what deeplearner has instead (or choices, the first present)
    "BatchNormalization": "BatchNorm", "BatchNorm1d": "BatchNorm", "BatchNorm2d": "BatchNorm",
    "LayerNormalization": "LayerNorm", "GroupNormalization": "GroupNorm", "InstanceNorm2d": "InstanceNorm",
    "MaxPooling2D": "MaxPool2D", "AveragePooling2D": "AvgPool2D", "Convolution2D": "Conv2D",
    "Linear": "Dense",
    "GlobalAveragePooling2D": ("GlobalAvgPool2D",   # or, where that layer is absent, the same with two layers:
                               "AvgPool2D(pool_size=(height, width)) over the whole feature map, then Flatten()"),
    "GlobalMaxPooling2D": "MaxPool2D(pool_size=(height, width)) over the whole feature map, then Flatten()",
    "ReLU": "Activation('relu')", "LeakyReLU": "Activation('leaky_relu')", "Sigmoid": "Activation('sigmoid')",
    "Tanh": "Activation('tanh')", "Softmax": "Activation('softmax')",
    "CategoricalCrossentropy": "CrossEntropyForSoftMax", "SparseCategoricalCrossentropy": "CrossEntropyForSoftMax",
    "CrossEntropyLoss": "CrossEntropyForSoftMax", "MSELoss": "MeanSquaredError",
    "Input": "Sequential(layers, optimizer, loss, input_shape=...)", "InputLayer": "Sequential(..., input_shape=...)",
    "Model": "Sequential",
}


def other_library_name(name, module, public):
    """The message for ``module.name`` when ``name`` is another library's (or another case's) for one of ``public``.

    None when it is not: ``BatchNormalization`` -> "deeplearner has no BatchNormalization: ...
    from deeplearner import BatchNorm"; ``ADAM`` -> Adam.
    """
    choices = OTHER_NAMES.get(name, ())
    choices = [choices] if isinstance(choices, str) else choices
    instead = next((choice for choice in choices if choice in public or not choice.isidentifier()), None)
    if instead is None:
        instead = {public_name.lower(): public_name for public_name in public}.get(name.lower())
    if instead is None:
        return None
    if instead.isidentifier():
        return f"{module} has no {name}; its name here is {instead}: from {module} import {instead}."
    return f"{module} has no {name}: use {instead} instead."

"""What `load_model` checks in a file before it trusts it.

A model file can be damaged on the way (a disk, a download, a hand edit), and NumPy reads any
array that is well-formed. So every array is held against what the model the file describes
expects: a weight must have its layer's shape and the model's dtype, an optimizer slot the
shape of its parameter, ``classes_`` one distinct label per output unit at most. What does not
fit is refused with the entry's name, instead of loading and failing in the next ``fit`` with a
NumPy broadcast error. (The zip's checksums already catch flipped bytes; these checks catch
arrays that are intact but wrong.)
"""

import numbers

import numpy as np

DAMAGED = ". The file was damaged or edited after saving: save the model again."


def typed(value, kind, what):
    """``value`` if it is a ``kind`` (bool is not taken for an int), else a ValueError naming ``what``."""
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ValueError(f"{what} is {value!r}, not a {kind.__name__}{DAMAGED}")
    return value


def check_array(arrays, name, shape, dtype):
    """The file's array ``name``, refused unless it has ``shape`` and ``dtype`` and is finite.

    Every array deeplearner writes is finite: fit rolls back before a NaN reaches the weights.
    """
    array = arrays[name]        # missing: a KeyError, reported as "entry ... is missing"
    if array.dtype != dtype:
        problem = f"has dtype {array.dtype}, expected {np.dtype(dtype)} (the model's dtype)"
    elif array.shape != tuple(shape):
        problem = f"has shape {array.shape}, expected {tuple(shape)}"
    elif not np.isfinite(array).all():
        problem = f"holds {np.count_nonzero(~np.isfinite(array))} NaN or infinite values"
    else:
        return array
    raise ValueError(f"{name} {problem}{DAMAGED}")


def optimizer_slots(key, slots, parameters, arrays, dtype):
    """One parameter's optimizer state: arrays shaped like the parameter, scalars that are numbers."""
    if key not in parameters:
        raise ValueError(f"the optimizer state is for a parameter {key!r}, but the model's parameters are "
                         f"{sorted(parameters)}{DAMAGED}")
    state = {slot: np.array(check_array(arrays, f"optimizer/{key}/{slot}", parameters[key].shape, dtype))
             for slot in typed(slots["arrays"], list, f"the optimizer's arrays for {key}")}
    for slot, value in typed(slots["scalars"], dict, f"the optimizer's numbers for {key}").items():
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not np.isfinite(value):
            raise ValueError(f"the optimizer's {slot!r} for {key} is {value!r}, not a finite number{DAMAGED}")
        state[slot] = value
    return state


def check_classes(classes, n_outputs):
    """classes_: a 1-D array of distinct labels (bools, numbers or text), at most one per output unit."""
    if classes.dtype.kind not in "biufU":
        problem = f"has dtype {classes.dtype}; labels are booleans, numbers or text"
    elif classes.ndim != 1 or not 1 <= len(classes) <= n_outputs:
        problem = f"has shape {classes.shape}, expected (k,) with 1 <= k <= {n_outputs} (the output units)"
    elif classes.dtype.kind == "f" and not np.isfinite(classes).all():
        problem = "holds NaN or infinite labels"
    elif len(np.unique(classes)) != len(classes):
        problem = "holds the same label twice"
    else:
        return classes
    raise ValueError(f"classes_ {problem}{DAMAGED}")


def check_history(history):
    """history_: None, or a dict from metric name to a list of numbers (NaN allowed: regression accuracy)."""
    if history is not None:
        for key, values in typed(history, dict, "the history").items():
            if not (isinstance(values, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                     for v in values)):
                raise ValueError(f"the history's {key!r} is {values!r}, not a list of numbers{DAMAGED}")
    return history

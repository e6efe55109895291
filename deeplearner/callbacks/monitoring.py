"""A monitored figure: which key of the history, whether it should go down or up, what counts as better.

`EarlyStopping`, `ModelCheckpoint` and `deeplearner.schedules.ReduceLROnPlateau` all watch one
figure of the history and ask after each epoch whether it improved::

    improved = value < best - min_delta        (mode "min", for losses)
    improved = value > best + min_delta        (mode "max", for accuracies)

with ``best`` starting at +inf (min) or -inf (max), so the first epoch always improves.
"""

import difflib
import math

MODES = ("auto", "min", "max")


def check_monitor(owner, monitor, mode):
    """Return ``mode`` resolved to "min" or "max": "auto" is "max" for accuracies, "min" otherwise.

    Raises ValueError naming ``owner`` for a monitor that is not a str or a mode not in MODES.
    """
    if not isinstance(monitor, str):
        raise ValueError(f"{owner}: monitor must be the name of a metric, a str such as 'val_loss' or "
                         f"'val_accuracy', received monitor={monitor!r}.")
    if mode not in MODES:
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', received mode={mode!r}.")
    if mode == "auto":
        return "max" if "accuracy" in monitor else "min"
    return mode


KERAS_NAMES = {"acc": "accuracy", "val_acc": "val_accuracy", "learning_rate": "lr"}   # Keras's -> fit's


def check_logged(owner, monitor, logged):
    """Raise ValueError when ``monitor`` is not among ``logged`` (the history's keys, or an epoch's logs).

    fit creates the history with every key it will log before ``on_train_begin``, so a callback
    that checks there reports a typo before an epoch of training is spent. The message names the
    key meant: Keras's name for it (``val_acc`` -> ``val_accuracy``) or the closest (difflib:
    ``val_los`` -> ``val_loss``), and asks for validation data only when a ``val_`` key is meant
    and fit has none to log.
    """
    if monitor in logged:
        return
    # What fit would log with validation data too: a val_ key may be meant even when none is logged.
    could_log = sorted(set(logged) | {f"val_{key}" for key in logged if not key.startswith("val_") and key != "lr"})
    meant = KERAS_NAMES.get(monitor) or next(iter(difflib.get_close_matches(monitor, could_log, n=1)), None)
    validation = "Pass validation data to fit (X_valid, y_valid, validation_data= or validation_split=)"
    if meant in logged:
        hint = f" Did you mean monitor={meant!r}?"
    elif meant == monitor:                               # val_loss, and fit has no validation data
        hint = f" {validation}, or monitor one of those."
    elif meant is not None:
        hint = f" Did you mean monitor={meant!r}? fit logs it only with validation data. {validation}."
    else:
        hint = " Monitor one of those."
    raise ValueError(f"{owner}: monitor={monitor!r}, but fit logs only {sorted(logged)}.{hint}")


def worst(mode):
    """The ``best`` to start from: every finite value improves on it."""
    return math.inf if mode == "min" else -math.inf


def improved(value, best, mode, min_delta=0.0):
    """Whether ``value`` beats ``best`` by more than ``min_delta`` in the direction of ``mode``."""
    if mode == "min":
        return value < best - min_delta
    return value > best + min_delta

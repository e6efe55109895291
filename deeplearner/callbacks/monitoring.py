"""A monitored figure: which key of the history, whether it should go down or up, what counts as better.

`EarlyStopping`, `ModelCheckpoint` and `deeplearner.schedules.ReduceLROnPlateau` all watch one
figure of the history and ask after each epoch whether it improved::

    improved = value < best - min_delta        (mode "min", for losses)
    improved = value > best + min_delta        (mode "max", for accuracies)

with ``best`` starting at +inf (min) or -inf (max), so the first epoch always improves.
"""

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


def check_logged(owner, monitor, logged):
    """Raise ValueError when ``monitor`` is not among ``logged`` (the history's keys, or an epoch's logs).

    fit creates the history with every key it will log before ``on_train_begin``, so a callback
    that checks there reports a typo before an epoch of training is spent.
    """
    if monitor not in logged:
        raise ValueError(f"{owner}: monitor={monitor!r}, but fit logs only {sorted(logged)}. "
                         f"Pass validation data to fit, or monitor one of those.")


def worst(mode):
    """The ``best`` to start from: every finite value improves on it."""
    return math.inf if mode == "min" else -math.inf


def improved(value, best, mode, min_delta=0.0):
    """Whether ``value`` beats ``best`` by more than ``min_delta`` in the direction of ``mode``."""
    if mode == "min":
        return value < best - min_delta
    return value > best + min_delta

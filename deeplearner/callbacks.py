"""Callbacks: code ``fit`` runs at fixed points of training, Keras-style.

A callback may define ``on_train_begin(model)``, ``on_epoch_begin(model, epoch)``,
``on_epoch_end(model, epoch, logs)`` (epoch counted from 1; logs holds that epoch's ``loss``,
``accuracy``, ``val_loss``, ``val_accuracy`` and ``lr``) and ``on_train_end(model)``. Setting
``model.stop_training = True`` ends ``fit`` after the epoch.

Two more hooks run around every optimizer step, for callbacks that look inside training
(`deeplearner.monitor.LayerMonitor`): ``on_batch_begin(model, batch)`` before the step and
``on_batch_end(model, batch, logs)`` after it (batch counted from 1 within the epoch; logs
holds the batch's ``loss`` and ``size``). `Callback` does not define them, so a callback without
them costs nothing per batch. Learning-rate schedules are in `deeplearner.schedules`.
"""

import math

from .validation import check_real


class Callback:
    """Base class with hooks that do nothing."""

    def on_train_begin(self, model):
        pass

    def on_epoch_begin(self, model, epoch):
        pass

    def on_epoch_end(self, model, epoch, logs):
        pass

    def on_train_end(self, model):
        pass


class EarlyStopping(Callback):
    """Stop when a monitored metric has stopped improving.

    Parameters
    ----------
    monitor : str
        A key of the history: ``"val_loss"`` (default), ``"val_accuracy"``, ``"loss"``, ``"accuracy"``.
        A key that fit does not log (``"val_loss"`` without validation data) is an error as soon as
        training begins.
    patience : int
        Stop after this many epochs in a row without improvement (0: at the first one).
    min_delta : float
        The smallest change that counts as an improvement.
    mode : {"auto", "min", "max"}
        Whether the metric should go down or up; "auto" means up for accuracies, down otherwise.
    restore_best_weights : bool
        At the end of training, put back the weights of the best epoch, BatchNorm running
        statistics included.

    Attributes
    ----------
    best : float
        The best value seen; ``best_epoch`` the epoch it was seen (from 1).
    stopped_epoch : int or None
        The epoch training stopped at, or None when it ran to the end.
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto", restore_best_weights=True):
        if not isinstance(monitor, str):
            raise ValueError(f"EarlyStopping: monitor must be the name of a metric, a str such as 'val_loss' "
                             f"or 'val_accuracy', received monitor={monitor!r}.")
        self.patience = check_real("EarlyStopping", "patience", patience, 0, integer=True)
        self.min_delta = check_real("EarlyStopping", "min_delta", min_delta, 0, must="a finite number >= 0")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', received mode={mode!r}.")
        if mode == "auto":
            mode = "max" if "accuracy" in monitor else "min"
        self.monitor, self.mode, self.restore_best_weights = monitor, mode, restore_best_weights

    def on_train_begin(self, model):
        # fit has already created the history with every key it will log: a monitor that is not
        # among them is reported now, before an epoch of training is spent.
        history = getattr(model, "history_", None)
        if isinstance(history, dict):
            self._check_monitor(history)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch, self.best_weights, self.stopped_epoch, self.wait = None, None, None, 0

    def _check_monitor(self, logged):
        if self.monitor not in logged:
            raise ValueError(f"EarlyStopping: monitor={self.monitor!r}, but fit logs only {sorted(logged)}. "
                             f"Pass validation data to fit, or monitor one of those.")

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, model, epoch, logs):
        self._check_monitor(logs)   # also here, for a training loop of your own
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = model.get_weights()     # copies, BatchNorm statistics included
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            model.stop_training = True

    def on_train_end(self, model):
        last_epoch = len(model.history_["loss"])
        if self.restore_best_weights and self.best_weights is not None and self.best_epoch != last_epoch:
            model.set_weights(self.best_weights)

    def describe(self):
        """One line on what happened, for fit's log (None when training ran to the end)."""
        if self.stopped_epoch is None:
            return None
        restored = f"; restored the weights of epoch {self.best_epoch}" if self.restore_best_weights else ""
        return (f"Early stopping at epoch {self.stopped_epoch}: {self.monitor} has not improved for "
                f"{self.wait} epochs (best {self.best:.4f} at epoch {self.best_epoch}){restored}.")

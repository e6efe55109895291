"""EarlyStopping: end training when a monitored figure has stopped improving, and keep the best weights."""

from ..validation import check_real
from .base import Callback
from .monitoring import check_logged, check_monitor, improved, worst


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
        mode = check_monitor("EarlyStopping", monitor, mode)
        self.patience = check_real("EarlyStopping", "patience", patience, 0, integer=True)
        self.min_delta = check_real("EarlyStopping", "min_delta", min_delta, 0, must="a finite number >= 0")
        self.monitor, self.mode, self.restore_best_weights = monitor, mode, restore_best_weights
        self._start_afresh()

    def _start_afresh(self):
        self.best = worst(self.mode)
        self.best_epoch, self.best_weights, self.stopped_epoch, self.wait = None, None, None, 0

    def on_train_begin(self, model):
        # fit has already created the history with every key it will log: a monitor that is not
        # among them is reported now, before an epoch of training is spent.
        history = getattr(model, "history_", None)
        if isinstance(history, dict):
            check_logged("EarlyStopping", self.monitor, history)
        self._start_afresh()

    def on_epoch_end(self, model, epoch, logs):
        check_logged("EarlyStopping", self.monitor, logs)   # also here, for a training loop of your own
        value = logs[self.monitor]
        if improved(value, self.best, self.mode, self.min_delta):
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

    def get_state(self):
        """What `BackupAndRestore` saves after each epoch: best, best_epoch, wait and the best weights."""
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def set_state(self, state):
        """Take back what ``get_state`` returned."""
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.stopped_epoch, self.best_weights = state["stopped_epoch"], state["best_weights"]

    def describe(self):
        """One line on what happened, for fit's log (None when training ran to the end)."""
        if self.stopped_epoch is None:
            return None
        restored = f"; restored the weights of epoch {self.best_epoch}" if self.restore_best_weights else ""
        return (f"Early stopping at epoch {self.stopped_epoch}: {self.monitor} has not improved for "
                f"{self.wait} epochs (best {self.best:.4f} at epoch {self.best_epoch}){restored}.")

"""Learning-rate schedules: callbacks that change the optimizer's learning rate between epochs.

    model.fit(X, y, epochs=60, callbacks=[StepDecay(drop=0.5, every=20)])   # 0.1, 0.05, 0.025
    model.fit(X, y, epochs=60, callbacks=[ExponentialDecay(decay_rate=0.95)])
    model.fit(X, y, X_valid, y_valid, epochs=200, callbacks=[ReduceLROnPlateau(patience=10)])

A large rate moves fast but cannot settle into a narrow valley of the loss; a small one settles
but moves slowly. A schedule starts large and ends small. Each sets
``model.optimizer.learning_rate``, the number the optimizer reads at every step, and
``history["lr"]`` records the rate each epoch ran with.

`StepDecay` and `ExponentialDecay` are functions of the epoch, lr_e with e the number of epochs
the schedule has run before this one (0 for the first), and lr_0 the optimizer's rate when the
schedule first sees it (or ``initial_learning_rate``). They count epochs across ``fit`` calls:
pass the same object to the next ``fit`` to go on where it stopped. A saved model keeps the
optimizer's current rate, not the schedule; to continue after ``load_model``, rebuild the
schedule from its ``get_config()`` (which holds lr_0 and the epochs done), e.g. with
``StepDecay(**config)``. `ReduceLROnPlateau` reads and lowers the optimizer's current rate, so
it needs nothing but the loaded model. `BackupAndRestore` keeps every schedule's state too
(their ``get_state()`` / ``set_state()``), so a killed run resumes at the rate it would have had.
Use one schedule at a time: a decay schedule sets the rate at the start of every epoch and would
undo what ReduceLROnPlateau did.
"""

import math
import numbers

from .callbacks import Callback
from .callbacks.monitoring import check_logged, check_monitor, improved, worst
from .validation import check_real


def _check_number(owner, name, value, low, high, low_open=False, high_open=False, example=""):
    """``value`` as a float in the interval from ``low`` to ``high``, closed unless said open."""
    return check_real(owner, name, value, low, high, low_open=low_open, high_open=high_open, hint=example)


def _check_count(owner, name, value, low, example=""):
    """``value`` as an int >= ``low``."""
    return check_real(owner, name, value, low, integer=True, must=f"an integer >= {low}", hint=example)


def _optimizer_rate(owner, model):
    rate = getattr(model.optimizer, "learning_rate", None)
    if not isinstance(rate, numbers.Real):
        raise TypeError(f"{owner}: the optimizer {type(model.optimizer).__name__} has no number learning_rate "
                        f"to change. Use SGD, Adam or RMSprop, or give your optimizer a learning_rate attribute.")
    return float(rate)


class LearningRateSchedule(Callback):
    """Base class: before each epoch, set the optimizer's rate to ``learning_rate_at(epoch)``.

    Parameters
    ----------
    initial_learning_rate : float > 0, optional
        lr_0. By default the optimizer's learning rate when training begins.
    initial_epoch : int >= 0
        Epochs already done, for a schedule rebuilt from ``get_config()``.

    Attributes
    ----------
    epoch : int
        Epochs this schedule has run (across ``fit`` calls), the e of the next epoch's lr_e.
    """

    def __init__(self, initial_learning_rate=None, initial_epoch=0):
        owner = type(self).__name__
        if initial_learning_rate is not None:
            initial_learning_rate = _check_number(owner, "initial_learning_rate", initial_learning_rate, 0,
                                                  math.inf, low_open=True, high_open=True)
        self.initial_learning_rate = initial_learning_rate
        self.epoch = _check_count(owner, "initial_epoch", initial_epoch, 0)

    def learning_rate_at(self, epoch):
        """lr_e for ``epoch`` = e epochs done; subclasses give the formula."""
        raise NotImplementedError

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "initial_epoch": self.epoch}

    def on_train_begin(self, model):
        rate = _optimizer_rate(type(self).__name__, model)
        if self.initial_learning_rate is None:
            self.initial_learning_rate = rate

    def on_epoch_begin(self, model, epoch):
        model.optimizer.learning_rate = self.learning_rate_at(self.epoch)

    def on_epoch_end(self, model, epoch, logs):
        self.epoch += 1   # only for finished epochs: one cut short by Ctrl-C runs again at the same rate

    def get_state(self):
        """For `BackupAndRestore`: lr_0 and the epochs done."""
        return {"initial_learning_rate": self.initial_learning_rate, "epoch": self.epoch}

    def set_state(self, state):
        self.initial_learning_rate, self.epoch = state["initial_learning_rate"], state["epoch"]


class StepDecay(LearningRateSchedule):
    """Multiply the rate by ``drop`` every ``every`` epochs::

        lr_e = lr_0 * drop ** floor(e / every)

    ``StepDecay(drop=0.5, every=10)`` from lr_0 = 0.1: epochs 1-10 at 0.1, 11-20 at 0.05, ...
    The ResNet paper's CIFAR-10 runs use such steps (He et al. 2016: 0.1, divided by 10 twice).
    """

    def __init__(self, drop=0.5, every=10, initial_learning_rate=None, initial_epoch=0):
        super().__init__(initial_learning_rate, initial_epoch)
        self.drop = _check_number("StepDecay", "drop", drop, 0, 1, low_open=True, high_open=True,
                                  example=" Example: StepDecay(drop=0.5, every=10) halves the rate every 10 epochs.")
        self.every = _check_count("StepDecay", "every", every, 1,
                                  example=" Example: StepDecay(drop=0.5, every=10).")

    def get_config(self):
        return {"drop": self.drop, "every": self.every, **super().get_config()}

    def learning_rate_at(self, epoch):
        return self.initial_learning_rate * self.drop ** (epoch // self.every)


class ExponentialDecay(LearningRateSchedule):
    """Multiply the rate by ``decay_rate`` after every epoch::

        lr_e = lr_0 * decay_rate ** e

    The rate halves every log(0.5) / log(decay_rate) epochs: 13.5 epochs for decay_rate=0.95.
    """

    def __init__(self, decay_rate=0.95, initial_learning_rate=None, initial_epoch=0):
        super().__init__(initial_learning_rate, initial_epoch)
        self.decay_rate = _check_number("ExponentialDecay", "decay_rate", decay_rate, 0, 1, low_open=True,
                                        high_open=True, example=" Example: ExponentialDecay(decay_rate=0.95).")

    def get_config(self):
        return {"decay_rate": self.decay_rate, **super().get_config()}

    def learning_rate_at(self, epoch):
        return self.initial_learning_rate * self.decay_rate ** epoch


class ReduceLROnPlateau(Callback):
    """Lower the rate when a monitored metric has stopped improving, as Keras's callback does.

    After each epoch, with ``best`` the best value so far and ``wait`` the epochs since it::

        improved = value < best - min_delta        (mode "min"; "max": value > best + min_delta)
        if improved:  best = value, wait = 0
        else:         wait = wait + 1
        if wait >= patience:  lr = max(lr * factor, min_lr), wait = 0

    The next epoch runs with the new rate. ``best`` and ``wait`` start afresh at every ``fit``;
    the rate is the optimizer's own, so it is saved with the model.

    Parameters
    ----------
    monitor : str
        A key of the history, ``"val_loss"`` by default (needs validation data in fit).
    factor : float in (0, 1)
        What the rate is multiplied by.
    patience : int >= 1
        Epochs without improvement before the rate is lowered.
    min_lr : float >= 0
        The rate is never lowered below this.
    min_delta : float >= 0
        The smallest change that counts as an improvement.
    mode : {"auto", "min", "max"}
        Whether the metric should go down or up; "auto": up for accuracies, down otherwise.

    Attributes
    ----------
    reductions : list of (epoch, new rate)
        When the last ``fit`` lowered the rate, by its epoch count (from 1), and to what.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, min_lr=0.0, min_delta=1e-4, mode="auto"):
        resolved_mode = check_monitor("ReduceLROnPlateau", monitor, mode)
        self.factor = _check_number("ReduceLROnPlateau", "factor", factor, 0, 1, low_open=True, high_open=True,
                                    example=" Example: factor=0.1 divides the rate by 10.")
        self.patience = _check_count("ReduceLROnPlateau", "patience", patience, 1)
        self.min_lr = _check_number("ReduceLROnPlateau", "min_lr", min_lr, 0, math.inf, high_open=True)
        self.min_delta = _check_number("ReduceLROnPlateau", "min_delta", min_delta, 0, math.inf, high_open=True)
        self.monitor, self.mode = monitor, resolved_mode
        self.reductions = []

    def get_config(self):
        return {"monitor": self.monitor, "factor": self.factor, "patience": self.patience,
                "min_lr": self.min_lr, "min_delta": self.min_delta, "mode": self.mode}

    def on_train_begin(self, model):
        _optimizer_rate("ReduceLROnPlateau", model)
        history = getattr(model, "history_", None)
        if isinstance(history, dict):   # fit has made every key it will log: report a typo now
            check_logged("ReduceLROnPlateau", self.monitor, history)
        self.best = worst(self.mode)
        self.wait, self.reductions = 0, []

    def on_epoch_end(self, model, epoch, logs):
        check_logged("ReduceLROnPlateau", self.monitor, logs)
        value = logs[self.monitor]
        if improved(value, self.best, self.mode, self.min_delta):
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.wait = 0
            rate = model.optimizer.learning_rate
            lowered = max(rate * self.factor, self.min_lr)
            if lowered < rate:
                model.optimizer.learning_rate = lowered
                self.reductions.append((epoch, lowered))

    def get_state(self):
        """For `BackupAndRestore`: best, wait and the reductions so far (the rate is the optimizer's)."""
        return {"best": self.best, "wait": self.wait, "reductions": [list(r) for r in self.reductions]}

    def set_state(self, state):
        self.best, self.wait = state["best"], state["wait"]
        self.reductions = [tuple(r) for r in state["reductions"]]

    def describe(self):
        """One line for fit's log on what it did (None when it never lowered the rate)."""
        if not self.reductions:
            return None
        steps = ", ".join(f"{rate:.3g} after epoch {epoch}" for epoch, rate in self.reductions)
        return f"ReduceLROnPlateau lowered the learning rate {len(self.reductions)} times: to {steps}."

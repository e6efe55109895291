"""TensorBoard: the epoch figures, and a LayerMonitor's view inside the network, as TensorBoard logs.

    model.fit(X, y, X_valid, y_valid, epochs=30, callbacks=[TensorBoard("logs/run1")])
    # then: tensorboard --logdir logs  (and open http://127.0.0.1:6006)

As Keras does, the figures of the training data go to ``log_dir/train`` and those of the
validation data to ``log_dir/validation`` under the same tags, so TensorBoard draws the two
curves of a figure in one chart:

    epoch_loss, epoch_accuracy       (train: loss, accuracy; validation: val_loss, val_accuracy)
    epoch_learning_rate              (train only: the rate each epoch ran with)

With a `deeplearner.monitor.LayerMonitor` among fit's callbacks (or passed as ``monitor=``), its
records go to ``log_dir/train`` too, by training step: for each recorded layer (``0_Conv2D``,
``2_relu``, ...) the scalars ``outputs/<layer>/mean``, ``std``, ``p15``, ``p50``, ``p85``, ``dead`` or
``saturated``, ``grad_norm/<layer>/<param>`` and ``update_ratio/<layer>/<param>``, and the
histogram ``outputs/<layer>`` of the output values the monitor kept.

The logs are written with tensorboardX, an optional dependency: ``pip install "deeplearner[tensorboard]"``.
NaN figures (the accuracy of a regression model, an update ratio while a parameter is still
zero) are left out: TensorBoard cannot draw them.
"""

import math
import os

import numpy as np

from .base import Callback
from .paths import as_path, check_folder

INSTALL = 'pip install "deeplearner[tensorboard]"'
EPOCH_TAGS = {"loss": ("train", "epoch_loss"), "accuracy": ("train", "epoch_accuracy"),
              "lr": ("train", "epoch_learning_rate"),
              "val_loss": ("validation", "epoch_loss"), "val_accuracy": ("validation", "epoch_accuracy")}


def _summary_writer():
    try:
        from tensorboardX import SummaryWriter
    except ImportError as error:
        raise ImportError(f"TensorBoard needs the tensorboardX package, which is not installed. Install it "
                          f"with: {INSTALL}  (or pip install tensorboardX).") from error
    return SummaryWriter


class TensorBoard(Callback):
    """Write the history (and a LayerMonitor's records) to TensorBoard event files under ``log_dir``.

    Parameters
    ----------
    log_dir : str or path-like
        The folder of the logs, created if missing; point ``tensorboard --logdir`` at it or at a
        folder above it, which shows every run below as its own.
    monitor : LayerMonitor, optional
        Whose records to write. By default the first LayerMonitor among fit's callbacks, if any.
    """

    def __init__(self, log_dir="logs", monitor=None):
        self._SummaryWriter = _summary_writer()   # a missing tensorboardX is reported here, at once
        as_path("TensorBoard", "log_dir", log_dir)
        if monitor is not None and not (hasattr(monitor, "steps") and hasattr(monitor, "outputs")):
            raise TypeError(f"TensorBoard: monitor must be a deeplearner.LayerMonitor, received {monitor!r}.")
        self.log_dir, self.monitor = log_dir, monitor
        self._writers = {}

    def on_train_begin(self, model):
        from ..monitor import LayerMonitor   # here: monitor.py imports this package

        log_dir = check_folder("TensorBoard", "log_dir", self.log_dir)
        self._writers = {run: self._SummaryWriter(logdir=os.path.join(log_dir, run))
                         for run in ("train", "validation")}
        self._watched = self.monitor
        if self._watched is None:
            self._watched = next((c for c in getattr(model, "callbacks_", ()) if isinstance(c, LayerMonitor)), None)
        self._written = len(self._watched.steps) if self._watched is not None else 0   # records of earlier fits

    def on_epoch_end(self, model, epoch, logs):
        for key, value in logs.items():
            run, tag = EPOCH_TAGS.get(key, ("train", f"epoch_{key}"))
            if math.isfinite(value):
                self._writers[run].add_scalar(tag, float(value), epoch)
        self._write_records()
        for writer in self._writers.values():
            writer.flush()

    def _write_records(self):
        """The monitor's records taken since the last call, each at its training step."""
        if self._watched is None or len(self._watched.steps) == self._written:
            return
        steps, writer = self._watched.steps, self._writers["train"]
        new = range(self._written, len(steps))
        for name, columns in self._watched.outputs.items():
            layer = name.replace(" ", "_")
            for stat, values in columns.items():
                if values.ndim == 1:                       # one number per record: mean, std, p50, dead, ...
                    _scalars(writer, f"outputs/{layer}/{stat}", values, steps, new)
            for r in new:
                kept = columns["values"][r]
                kept = kept[np.isfinite(kept)]
                if kept.size:
                    writer.add_histogram(f"outputs/{layer}", kept, int(steps[r]))
        for table, group in ((self._watched.grad_norms, "grad_norm"), (self._watched.update_ratios, "update_ratio")):
            for name, columns in table.items():
                for param, values in columns.items():
                    _scalars(writer, f"{group}/{name.replace(' ', '_')}/{param}", values, steps, new)
        self._written = len(steps)

    def on_train_end(self, model):
        self._write_records()   # records of an epoch cut short by Ctrl-C
        for writer in self._writers.values():
            writer.close()
        self._writers = {}


def _scalars(writer, tag, values, steps, records):
    for r in records:
        if math.isfinite(values[r]):
            writer.add_scalar(tag, float(values[r]), int(steps[r]))

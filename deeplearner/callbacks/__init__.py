"""Callbacks: code ``fit`` runs at fixed points of training, Keras-style.

A callback may define ``on_train_begin(model)``, ``on_epoch_begin(model, epoch)``,
``on_epoch_end(model, epoch, logs)`` (epoch counted from 1; logs holds that epoch's ``loss``,
``accuracy``, ``val_loss``, ``val_accuracy`` and ``lr``) and ``on_train_end(model)``. Setting
``model.stop_training = True`` ends ``fit`` after the epoch. During ``fit``, ``model.callbacks_``
is fit's list of callbacks, and ``model.initial_epoch`` the number of epochs already done (0,
unless `BackupAndRestore` resumed an interrupted run).

Two more hooks run around every optimizer step, for callbacks that look inside training
(`deeplearner.monitor.LayerMonitor`): ``on_batch_begin(model, batch)`` before the step and
``on_batch_end(model, batch, logs)`` after it (batch counted from 1 within the epoch; logs
holds the batch's ``loss`` and ``size``). `Callback` does not define them, so a callback without
them costs nothing per batch. Learning-rate schedules are in `deeplearner.schedules`.

One file each:

- ``base.py``: `Callback`, the hooks that do nothing;
- ``early_stopping.py``: `EarlyStopping`, stop when a figure stops improving;
- ``checkpoint.py``: `ModelCheckpoint`, save the model after each epoch, or the best one;
- ``csv_logger.py``: `CSVLogger`, one CSV row per epoch;
- ``tensorboard.py``: `TensorBoard`, logs for TensorBoard (needs tensorboardX);
- ``backup.py``: `BackupAndRestore`, resume after a killed process;
- ``monitoring.py`` (which figure, up or down, what improves) and ``paths.py`` (can the
  callback write where it was told?) are shared by the others.
"""

from .backup import BackupAndRestore
from .base import Callback
from .checkpoint import ModelCheckpoint
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .tensorboard import TensorBoard

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "CSVLogger", "TensorBoard", "BackupAndRestore"]

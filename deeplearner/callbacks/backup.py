"""BackupAndRestore: training that survives a killed process.

    callbacks = [EarlyStopping(patience=10), StepDecay(), BackupAndRestore("backup")]
    model.fit(X, y, X_valid, y_valid, epochs=100, threads=1, callbacks=callbacks)

After every epoch the whole training state goes to ``backup_dir``. If the process dies (killed,
out of memory, a machine restarted), running the same script again, with a model built the
same way and the same callbacks, resumes from the last finished epoch: the epochs already done
are not run again, and with a fixed ``threads`` the final model is bit for bit the model an
uninterrupted run gives. When fit ends normally the backup is removed.

The backup holds two files, written in this order::

    model-<epoch>.npz   model.save's file: weights, BatchNorm statistics, optimizer state,
                        the model's random generator (so the next epoch shuffles as it would
                        have), the history so far, classes_
    state.npz           the epoch, the name of that model file, and the state of every callback
                        that has get_state() (EarlyStopping's best value and weights, a
                        schedule's epoch count, ReduceLROnPlateau's wait, ...)

Each is written atomically (a temporary file renamed into place), and ``state.npz`` names the
model file of its epoch, which is only removed once a newer ``state.npz`` is in place: a process
killed at any moment leaves a complete backup of some finished epoch. A backup is restored only
after it has been compared with the model being trained (layers, their settings and array
shapes, optimizer, classes, the history's keys, the stateful callbacks): a backup of another
model is refused with the first difference, before anything is changed.
"""

import json
import os

import numpy as np

from ..saving import load_model, write_atomically
from .base import Callback
from .paths import check_folder

FORMAT, FORMAT_VERSION = "deeplearner.BackupAndRestore", 1
STATE_FILE, HEADER = "state.npz", "backup"


class BackupAndRestore(Callback):
    """Back up the training state after every epoch; resume from it after a crash.

    Parameters
    ----------
    backup_dir : str or path-like
        The folder of the backup, created if missing. One folder per training run: a backup
        written by another model is refused, not loaded.

    Put it last in ``callbacks``: the backup after an epoch must see what every other callback
    did in that epoch (a callback with ``get_state()`` after it is an error).

    Attributes
    ----------
    resumed_from : int or None
        The epoch the last fit resumed after, or None when it started afresh.
    """

    def __init__(self, backup_dir):
        if not isinstance(backup_dir, (str, os.PathLike)):
            raise TypeError(f"BackupAndRestore: backup_dir must be a str or os.PathLike, received "
                            f"backup_dir={backup_dir!r}. Example: BackupAndRestore('backup').")
        self.backup_dir, self.resumed_from = backup_dir, None
        self._in_epoch = False

    # ---------------------------------------------------------------- the hooks fit calls
    def on_train_begin(self, model):
        self._folder = check_folder("BackupAndRestore", "backup_dir", self.backup_dir)
        if not hasattr(model, "initial_epoch"):
            raise TypeError("BackupAndRestore: this training loop does not set model.initial_epoch, so it "
                            "cannot resume. Use Sequential.fit.")
        self._stateful = self._stateful_callbacks(model)
        self.resumed_from, self._in_epoch = None, False
        if os.path.exists(os.path.join(self._folder, STATE_FILE)):
            self._restore(model)

    def on_epoch_begin(self, model, epoch):
        self._in_epoch = True

    def on_epoch_end(self, model, epoch, logs):
        self._back_up(model, epoch)
        self._in_epoch = False

    def on_train_end(self, model):
        # An epoch begun and never ended means Ctrl-C stopped fit: keep the backup to resume from.
        if not self._in_epoch:
            self._remove()

    # ---------------------------------------------------------------- writing
    def _stateful_callbacks(self, model):
        """The callbacks of this fit whose state is backed up, all before this one in the list."""
        callbacks = list(getattr(model, "callbacks_", ()))
        mine = next((i for i, c in enumerate(callbacks) if c is self), len(callbacks))
        late = [type(c).__name__ for c in callbacks[mine + 1:] if callable(getattr(c, "get_state", None))]
        if late:
            raise ValueError(f"BackupAndRestore: the callbacks {late} come after BackupAndRestore in callbacks=[...], "
                             f"so the backup after an epoch would miss what they did in it. Put "
                             f"BackupAndRestore last.")
        return [c for c in callbacks[:mine] if callable(getattr(c, "get_state", None))]

    def _back_up(self, model, epoch):
        name = f"model-{epoch}.npz"
        model.save(os.path.join(self._folder, name))
        arrays = {}
        header = {"format": FORMAT, "format_version": FORMAT_VERSION, "epoch": epoch, "model_file": name,
                  "callbacks": [{"class": type(c).__name__, "state": _pack(c.get_state(), arrays, f"{i}")}
                                for i, c in enumerate(self._stateful)]}
        arrays[HEADER] = np.array(json.dumps(header))
        write_atomically(os.path.join(self._folder, STATE_FILE),
                         lambda file: np.savez(file, allow_pickle=False, **arrays), "BackupAndRestore")
        for old in self._model_files():   # only now: the new state.npz no longer names them
            if old != name:
                os.remove(os.path.join(self._folder, old))

    def _model_files(self):
        return [f for f in os.listdir(self._folder) if f.startswith("model-") and f.endswith(".npz")]

    def _remove(self):
        for name in [STATE_FILE, *self._model_files()]:
            path = os.path.join(self._folder, name)
            if os.path.exists(path):
                os.remove(path)
        if not os.listdir(self._folder):   # a folder that holds files of yours stays
            os.rmdir(self._folder)

    # ---------------------------------------------------------------- restoring
    def _restore(self, model):
        header, arrays = self._read_state()
        try:
            saved = load_model(os.path.join(self._folder, header["model_file"]))
        except (OSError, ValueError) as error:
            raise ValueError(f"BackupAndRestore: the backup in {self._folder!r} cannot be read: {error} Delete "
                             f"the folder to start training afresh.") from None
        problem = _difference(saved, model) or self._callbacks_difference(header)
        if problem is None and len(saved.history_["loss"]) != header["epoch"]:
            problem = f"its history has {len(saved.history_['loss'])} epochs, its state says {header['epoch']}"
        if problem:
            raise ValueError(f"BackupAndRestore: the backup in {self._folder!r} was written by another model or "
                             f"another set of callbacks: {problem}. Use another backup_dir for this run, or "
                             f"delete that folder to start afresh.")
        # Everything matches: only now is anything changed.
        model.set_weights(saved.get_weights())
        model.optimizer.state.clear()
        model.optimizer.state.update(saved.optimizer.state)
        model.optimizer.learning_rate = saved.optimizer.learning_rate
        model.rng.bit_generator.state = saved.rng.bit_generator.state
        for key, values in model.history_.items():
            values[:] = saved.history_[key]       # in place: fit holds these very lists
        for callback, entry in zip(self._stateful, header["callbacks"]):
            callback.set_state(_unpack(entry["state"], arrays))
        model.initial_epoch = self.resumed_from = header["epoch"]

    def _read_state(self):
        path = os.path.join(self._folder, STATE_FILE)
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            header = json.loads(arrays.pop(HEADER).item())
        except Exception as error:   # damaged zip, a missing entry, bad JSON: all mean the same here
            raise ValueError(f"BackupAndRestore: {path!r} is damaged and cannot be read ({error!r}). Delete the "
                             f"folder {self._folder!r} to start training afresh.") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError(f"BackupAndRestore: {path!r} is not a backup written by BackupAndRestore. Use an "
                             f"empty folder for backup_dir.")
        if header.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"BackupAndRestore: {path!r} has format version {header.get('format_version')!r}; "
                             f"this deeplearner reads version {FORMAT_VERSION}. Delete the folder to start afresh.")
        return header, arrays

    def _callbacks_difference(self, header):
        saved = [entry["class"] for entry in header["callbacks"]]
        now = [type(c).__name__ for c in self._stateful]
        if saved != now:
            return f"it holds the state of the callbacks {saved}, this fit has {now}"
        return None


def _difference(saved, model):
    """The first way ``saved`` (the backup's model) differs from ``model`` in what training needs, or None."""
    if tuple(saved.input_shape) != tuple(model.input_shape) or saved.dtype != model.dtype:
        return (f"it takes samples of shape {tuple(saved.input_shape)} in {saved.dtype}, this model "
                f"{tuple(model.input_shape)} in {model.dtype}")
    if len(saved.layers) != len(model.layers):
        return f"it has {len(saved.layers)} layers, this model {len(model.layers)}"
    for i, (a, b) in enumerate(zip(saved.layers, model.layers)):
        described = [(type(layer).__name__, _plain(layer.get_config()) if hasattr(layer, "get_config") else None,
                      {name: array.shape for name, array in layer.get_weights().items()})
                     for layer in (a, b)]
        if described[0] != described[1]:
            (name_a, config_a, shapes_a), (name_b, config_b, shapes_b) = described
            return (f"its layer {i} is {name_a} {config_a} holding {shapes_a}, this model's is "
                    f"{name_b} {config_b} holding {shapes_b}")
    configs = [(type(o).__name__, {k: v for k, v in _plain(o.get_config()).items() if k != "learning_rate"})
               for o in (saved.optimizer, model.optimizer)]
    if configs[0] != configs[1]:
        return f"its optimizer is {configs[0][0]} {configs[0][1]}, this model's {configs[1][0]} {configs[1][1]}"
    classes = [None if m.classes_ is None else np.asarray(m.classes_).tolist() for m in (saved, model)]
    if classes[0] != classes[1]:
        return f"it was trained on the classes {classes[0]}, this fit's labels are {classes[1]}"
    if sorted(saved.history_) != sorted(model.history_):
        return f"its history logs {sorted(saved.history_)}, this fit logs {sorted(model.history_)}"
    return None


def _plain(config):
    """A config as it reads back from JSON (tuples become lists), so that two configs compare equal."""
    return json.loads(json.dumps(config))


def _pack(value, arrays, name):
    """``value`` as JSON-able data, each NumPy array replaced by {"array": key} and put in ``arrays``."""
    if isinstance(value, np.ndarray):
        arrays[name] = value
        return {"array": name}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {"dict": {str(key): _pack(item, arrays, f"{name}/{key}") for key, item in value.items()}}
    if isinstance(value, (list, tuple)):
        return [_pack(item, arrays, f"{name}/{i}") for i, item in enumerate(value)]
    return value


def _unpack(value, arrays):
    """The inverse of ``_pack``: lists stay lists (a tuple comes back as a list)."""
    if isinstance(value, dict):
        if "array" in value:
            return arrays[value["array"]]
        return {key: _unpack(item, arrays) for key, item in value["dict"].items()}
    if isinstance(value, list):
        return [_unpack(item, arrays) for item in value]
    return value

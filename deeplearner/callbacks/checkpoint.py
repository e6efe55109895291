"""ModelCheckpoint: save the model after every epoch, or only when the monitored figure improves.

    ModelCheckpoint("digits-{epoch:03d}-{val_accuracy:.3f}.npz")              # one file per epoch
    ModelCheckpoint("best.npz", monitor="val_accuracy", save_best_only=True)  # one file, the best

Each file is what ``model.save`` writes (architecture, weights, BatchNorm statistics, optimizer
state, generator state, history), written atomically: a process killed while saving leaves the
old file or the new one. ``load_model(path)`` gives the model as it was after that epoch.
"""

import string

from .base import Callback
from .monitoring import check_logged, check_monitor, improved, worst
from .paths import as_path, check_file


class ModelCheckpoint(Callback):
    """Write the model to ``filepath`` after each epoch (or only after those that improve ``monitor``).

    Parameters
    ----------
    filepath : str or path-like
        The file to write, used as given (``.npz`` is the usual suffix). Python format fields are
        filled in after each epoch: ``{epoch}`` (from 1) and every key of the history, e.g.
        ``"digits-{epoch:03d}-{val_accuracy:.3f}.npz"`` -> ``digits-007-0.962.npz``. Without
        fields, each save replaces the last. Its folder must exist.
    monitor : str
        The figure ``save_best_only`` watches, a key of the history (``"val_loss"`` by default).
    mode : {"auto", "min", "max"}
        Whether ``monitor`` should go down or up; "auto": up for accuracies, down otherwise.
    save_best_only : bool
        Save only after an epoch whose ``monitor`` beats every earlier epoch of this fit.

    Attributes
    ----------
    best : float
        The best value of ``monitor`` so far (with ``save_best_only``).
    saved : list of (int, str)
        The epochs saved by this fit and the files they went to.
    """

    def __init__(self, filepath, monitor="val_loss", mode="auto", save_best_only=False):
        self.mode = check_monitor("ModelCheckpoint", monitor, mode)
        if not isinstance(save_best_only, bool):
            raise ValueError(f"ModelCheckpoint: save_best_only must be True or False, received "
                             f"save_best_only={save_best_only!r}.")
        as_path("ModelCheckpoint", "filepath", filepath)
        self.filepath, self.monitor, self.save_best_only = filepath, monitor, save_best_only
        self.best, self.saved = worst(self.mode), []

    def on_train_begin(self, model):
        logged = getattr(model, "history_", None) or {}
        if self.save_best_only:
            check_logged("ModelCheckpoint", self.monitor, logged)
        # The name of epoch 1, with a stand-in 0.5 for every figure: a field fit does not log, or
        # a format that cannot hold a number, is reported now; so is a folder that cannot be written.
        check_file("ModelCheckpoint", "filepath", self._path(1, dict.fromkeys(logged, 0.5)))
        self.best, self.saved = worst(self.mode), []

    def _path(self, epoch, logs):
        """``filepath`` with its fields filled in for this epoch."""
        filepath = str(self.filepath)
        try:
            return filepath.format(epoch=epoch, **logs)
        except KeyError as error:
            fields = sorted({"epoch", *logs})
            raise ValueError(f"ModelCheckpoint: filepath={filepath!r} has the field {{{error.args[0]}}}, but fit "
                             f"logs only {fields}. Use those names, e.g. 'model-{{epoch:03d}}.npz'.") from None
        except (IndexError, ValueError) as error:   # "{}", "{0}", or a format spec such as {epoch:.3z}
            fields = [name for _, name, _, _ in string.Formatter().parse(filepath) if name is not None]
            raise ValueError(f"ModelCheckpoint: filepath={filepath!r} cannot be filled in ({error}); its fields "
                             f"are {fields}. Name each field, e.g. '{{epoch:03d}}' or "
                             f"'{{val_accuracy:.3f}}'.") from None

    def on_epoch_end(self, model, epoch, logs):
        if self.save_best_only:
            check_logged("ModelCheckpoint", self.monitor, logs)
            if not improved(logs[self.monitor], self.best, self.mode):
                return
            self.best = logs[self.monitor]
        path = self._path(epoch, logs)
        model.save(path)
        self.saved.append((epoch, path))

    def get_state(self):
        """What `BackupAndRestore` saves after each epoch: the best value so far and the files written."""
        return {"best": self.best, "saved": [[epoch, path] for epoch, path in self.saved]}

    def set_state(self, state):
        """Take back what ``get_state`` returned."""
        self.best, self.saved = state["best"], [(epoch, path) for epoch, path in state["saved"]]

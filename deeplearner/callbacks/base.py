"""`Callback`: the hooks ``fit`` calls, each doing nothing until a subclass fills it in.

Epochs are counted from 1. ``logs`` holds that epoch's figures, the keys of the history:
``loss``, ``accuracy``, ``val_loss`` and ``val_accuracy`` (with validation data) and ``lr``.
"""


class Callback:
    """Base class with hooks that do nothing.

    A callback that keeps state from epoch to epoch (EarlyStopping's best value, a schedule's
    epoch count) also defines ``get_state()`` and ``set_state(state)``, so that
    `BackupAndRestore` can carry that state across a killed process. ``get_state`` returns a
    dict of plain numbers, strings, lists, dicts and NumPy arrays; ``set_state`` takes it back.
    `BackupAndRestore` calls ``set_state`` after every other callback's ``on_train_begin``, so
    ``on_train_begin`` may start the state afresh, as for a new fit.
    """

    def on_train_begin(self, model):
        pass

    def on_epoch_begin(self, model, epoch):
        pass

    def on_epoch_end(self, model, epoch, logs):
        pass

    def on_train_end(self, model):
        pass


"""ModelCheckpoint and CSVLogger against the history they record, and every callback's path errors."""

import csv
import os
import re
import shutil
import tempfile

import numpy as np
import pytest

from deeplearner import (SGD, Activation, BackupAndRestore, BatchNorm, Callback, CrossEntropyForSoftMax, CSVLogger,
                         Dense, ModelCheckpoint, Sequential, TensorBoard, load_model)


def data(n=150, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    return rng.normal(size=(n, 4)) + 0.8 * y[:, None], y


def model(learning_rate=0.3, seed=0):
    return Sequential([Dense(8), BatchNorm(), Activation("relu"), Dense(3), Activation("softmax")],
                      SGD(learning_rate=learning_rate, momentum=0.9), CrossEntropyForSoftMax(), input_dim=4,
                      seed=seed)


def fit(net, callbacks, epochs=6, validation=True):
    X, y = data()
    if not validation:
        return net.fit(X, y, epochs=epochs, batchsize=20, verbose=0, callbacks=callbacks)
    return net.fit(X[:100], y[:100], X[100:], y[100:], epochs=epochs, batchsize=20, verbose=0, callbacks=callbacks)


class Predictions(Callback):
    """What the model predicts on the validation rows after each epoch."""

    def __init__(self):
        self.by_epoch = {}

    def on_epoch_end(self, model, epoch, logs):
        self.by_epoch[epoch] = model.predict_proba(data()[0][100:])


# ---------------------------------------------------------------- ModelCheckpoint
def test_each_epoch_is_saved_under_the_name_filled_in_from_the_history(tmp_path):
    checkpoint = ModelCheckpoint(str(tmp_path / "digits-{epoch:03d}-{val_accuracy:.3f}.npz"))
    history = fit(model(), [checkpoint], epochs=4)
    names = [f"digits-{epoch:03d}-{history['val_accuracy'][epoch - 1]:.3f}.npz" for epoch in range(1, 5)]
    assert sorted(os.listdir(tmp_path)) == sorted(names)
    assert checkpoint.saved == [(epoch, str(tmp_path / name)) for epoch, name in zip(range(1, 5), names)]


def test_a_saved_file_loads_and_predicts_as_the_model_did_at_that_epoch(tmp_path):
    predictions = Predictions()
    fit(model(), [predictions, ModelCheckpoint(tmp_path / "model-{epoch}.npz")], epochs=4)
    X_valid = data()[0][100:]
    for epoch in range(1, 5):
        loaded = load_model(tmp_path / f"model-{epoch}.npz")
        np.testing.assert_array_equal(loaded.predict_proba(X_valid), predictions.by_epoch[epoch])
        assert len(loaded.history_["loss"]) == epoch
    assert not np.array_equal(predictions.by_epoch[1], predictions.by_epoch[4])   # the files do differ


@pytest.mark.parametrize("monitor, better", [("val_loss", np.less), ("val_accuracy", np.greater)])
def test_save_best_only_keeps_only_the_epochs_that_improve(tmp_path, monitor, better):
    checkpoint = ModelCheckpoint(tmp_path / "best-{epoch}.npz", monitor=monitor, save_best_only=True)
    history = fit(model(learning_rate=1.5), [checkpoint], epochs=12)
    values, best, improved = history[monitor], None, []
    for epoch, value in enumerate(values, start=1):
        if best is None or better(value, best):
            best, improved = value, improved + [epoch]
    assert 1 < len(improved) < 12                             # the run has epochs of both kinds
    assert [epoch for epoch, _ in checkpoint.saved] == improved
    assert sorted(os.listdir(tmp_path)) == sorted(f"best-{epoch}.npz" for epoch in improved)
    assert checkpoint.best == best


def test_a_fixed_name_holds_the_last_save(tmp_path):
    predictions = Predictions()
    checkpoint = ModelCheckpoint(tmp_path / "best.npz", monitor="val_loss", save_best_only=True)
    history = fit(model(learning_rate=1.5), [predictions, checkpoint], epochs=8)
    best_epoch = int(np.argmin(history["val_loss"])) + 1
    assert os.listdir(tmp_path) == ["best.npz"] and checkpoint.saved[-1][0] == best_epoch
    np.testing.assert_array_equal(load_model(tmp_path / "best.npz").predict_proba(data()[0][100:]),
                                  predictions.by_epoch[best_epoch])


@pytest.mark.parametrize("filepath, message", [
    ("m-{val_acc:.3f}.npz", r"ModelCheckpoint: filepath='.*m-\{val_acc:.3f\}.npz' has the field \{val_acc\}, but fit "
                            r"logs only \['accuracy', 'epoch', 'loss', 'lr', 'val_accuracy', 'val_loss'\]\. Use those "
                            r"names, e.g. 'model-\{epoch:03d\}.npz'\."),
    ("m-{}.npz", r"ModelCheckpoint: filepath='.*m-\{\}.npz' cannot be filled in \(.*\); its fields are \[''\]\. Name "
                 r"each field, e.g. '\{epoch:03d\}'"),
    ("m-{loss:03d}.npz", r"cannot be filled in \(Unknown format code 'd' for object of type 'float'\)"),
])
def test_a_filepath_that_cannot_be_filled_in_is_reported_before_training(tmp_path, filepath, message):
    net = model()
    with pytest.raises(ValueError, match=message):
        fit(net, [ModelCheckpoint(str(tmp_path / filepath))])
    assert net.history_["loss"] == [] and os.listdir(tmp_path) == []


def test_save_best_only_on_a_figure_fit_does_not_log_is_reported_before_training(tmp_path):
    with pytest.raises(ValueError, match=r"ModelCheckpoint: monitor='val_loss', but fit logs only \['accuracy', "
                                         r"'loss', 'lr'\]\. Pass validation data to fit"):
        fit(model(), [ModelCheckpoint(tmp_path / "m.npz", save_best_only=True)], validation=False)
    fit(model(), [ModelCheckpoint(tmp_path / "m.npz")], epochs=1, validation=False)   # no monitor needed
    assert os.listdir(tmp_path) == ["m.npz"]


@pytest.mark.parametrize("kwargs, message", [
    ({"monitor": 3}, r"ModelCheckpoint: monitor must be the name of a metric, a str such as 'val_loss' or "
                     r"'val_accuracy', received monitor=3\."),
    ({"mode": "best"}, r"ModelCheckpoint: mode must be 'auto', 'min' or 'max', received mode='best'\."),
    ({"save_best_only": "yes"}, r"ModelCheckpoint: save_best_only must be True or False, received "
                                r"save_best_only='yes'\."),
])
def test_checkpoint_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelCheckpoint("m.npz", **kwargs)


# ---------------------------------------------------------------- CSVLogger
def read(path, separator=","):
    with open(path, newline="") as file:
        return list(csv.reader(file, delimiter=separator))


def test_one_row_per_epoch_with_every_figure_of_the_history(tmp_path):
    history = fit(model(), [CSVLogger(tmp_path / "log.csv")], epochs=5)
    rows = read(tmp_path / "log.csv")
    assert rows[0] == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    assert len(rows) == 1 + 5
    for epoch, row in enumerate(rows[1:], start=1):
        assert int(row[0]) == epoch
        for key, text in zip(rows[0][1:], row[1:]):
            assert float(text) == history[key][epoch - 1]      # repr: the same float, to the last bit


def test_append_adds_the_rows_of_a_second_fit_to_the_old_file(tmp_path):
    net = model()
    first = fit(net, [CSVLogger(tmp_path / "log.csv", separator=";")], epochs=3)
    second = fit(net, [CSVLogger(tmp_path / "log.csv", separator=";", append=True)], epochs=2)
    rows = read(tmp_path / "log.csv", ";")
    assert rows[0] == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"] and len(rows) == 1 + 3 + 2
    assert [row[0] for row in rows[1:]] == ["1", "2", "3", "1", "2"]
    assert [float(row[1]) for row in rows[1:]] == first["loss"] + second["loss"]
    fit(net, [CSVLogger(tmp_path / "log.csv", separator=";")], epochs=1)         # append=False: afresh
    assert len(read(tmp_path / "log.csv", ";")) == 1 + 1


def test_append_to_a_file_of_other_columns_is_refused(tmp_path):
    (tmp_path / "log.csv").write_text("epoch,loss,accuracy,lr\n1,0.5,0.7,0.1\n")
    with pytest.raises(ValueError, match=r"CSVLogger: '.*log.csv' has the columns \['epoch', 'loss', 'accuracy', "
                                         r"'lr'\], but this fit logs \['epoch', 'loss', 'accuracy', 'val_loss', "
                                         r"'val_accuracy', 'lr'\]\. Append to a file of the same columns"):
        fit(model(), [CSVLogger(tmp_path / "log.csv", append=True)])


def test_each_row_is_on_disk_when_its_epoch_ends(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))

    class ReadBack(Callback):
        def __init__(self):
            self.lines = []

        def on_epoch_end(self, model, epoch, logs):
            with open(tmp_path / "log.csv") as file:           # another reader sees the row at once
                self.lines.append(len(file.readlines()))

    reader = ReadBack()
    fit(model(), [CSVLogger(tmp_path / "log.csv"), reader], epochs=3)
    assert reader.lines == [2, 3, 4] and len(synced) == 1 + 3    # the header, then one fsync per row


@pytest.mark.parametrize("kwargs, message", [
    ({"separator": ",,"}, r"CSVLogger: separator must be one character such as ',' or ';', received separator=',,'\."),
    ({"separator": "\n"}, r"received separator='\\n'\."),
    ({"append": 1}, r"CSVLogger: append must be True or False, received append=1\."),
])
def test_csv_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CSVLogger("log.csv", **kwargs)


# ---------------------------------------------------------------- path errors, before training starts
def unfit_model_raises(callback, error, message):
    net = model()
    with pytest.raises(error, match=message):
        fit(net, [callback])
    assert net.history_["loss"] == []                          # not one epoch was spent


@pytest.mark.parametrize("make, argument", [(lambda p: ModelCheckpoint(p), "filepath"),
                                            (lambda p: CSVLogger(p), "filename")])
def test_a_file_callback_names_a_missing_folder_a_directory_and_a_file_in_the_way(tmp_path, make, argument):
    owner = "ModelCheckpoint" if argument == "filepath" else "CSVLogger"
    missing = tmp_path / "no such folder" / "out.file"
    unfit_model_raises(make(missing), FileNotFoundError,
                       rf"{owner}: the folder '.*no such folder' of {argument}='.*out.file' does not exist\. Create it "
                       rf"first, e.g. os.makedirs\('.*no such folder'\), or choose another path\.")
    unfit_model_raises(make(tmp_path), IsADirectoryError,
                       rf"{owner}: {argument}='.*' is a directory, where a file should be\. Name a file inside it")
    (tmp_path / "a file").write_text("")
    unfit_model_raises(make(tmp_path / "a file" / "out.file"), NotADirectoryError,
                       rf"{owner}: {argument}='.*a file/out.file' cannot be written: '.*a file' is a file, not a "
                       rf"folder\.")
    with pytest.raises(TypeError, match=rf"{owner}: {argument} must be a str or os.PathLike, received "
                                        rf"{argument}=None\."):
        make(None)


# The permission checks need a process that permissions apply to: root writes anywhere, so as root
# (CI, this machine) the fit runs in a forked child that has become the user nobody; otherwise here.
NOBODY = 65534
MAKE = {"checkpoint": lambda folder: ModelCheckpoint(folder + "/m.npz"),
        "csv": lambda folder: CSVLogger(folder + "/old.csv", append=True),
        "csv_new": lambda folder: CSVLogger(folder + "/new.csv"),
        "tensorboard": lambda folder: TensorBoard(folder + "/logs"),
        "tensorboard_new": lambda folder: TensorBoard(folder + "/new logs"),
        "backup": lambda folder: BackupAndRestore(folder + "/backup"),
        "backup_new": lambda folder: BackupAndRestore(folder + "/new backup")}


@pytest.fixture
def read_only_folder():
    """A folder, its files and subfolders that this process (or nobody, for root) may read but not write."""
    folder = tempfile.mkdtemp(prefix="deeplearner-readonly-")
    for sub in ("logs", "backup"):
        os.mkdir(os.path.join(folder, sub))
    with open(os.path.join(folder, "old.csv"), "w") as file:
        file.write("epoch,loss,accuracy,lr\n")
    for path in (os.path.join(folder, "logs"), os.path.join(folder, "backup"), os.path.join(folder, "old.csv")):
        os.chmod(path, 0o555 if os.path.isdir(path) else 0o444)
    os.chmod(folder, 0o555)
    yield folder
    for root, dirs, _ in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
    os.chmod(folder, 0o755)
    shutil.rmtree(folder)


def error_of(train):
    """``"Type: message"`` of what ``train()`` raises, run without root's privileges."""
    def run():
        try:
            train()
        except Exception as error:
            return f"{type(error).__name__}: {error}"
        return "no error"
    if os.geteuid() != 0:
        return run()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:                           # the child: drop root, train, report, leave without cleanup
        try:
            os.close(read)
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(write, run().encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        output = pipe.read()
    os.waitpid(pid, 0)
    return output


@pytest.mark.parametrize("which, expected", [
    ("checkpoint", r"PermissionError: ModelCheckpoint: filepath='.*/m.npz' cannot be written: this process has no "
                   r"permission to write into the folder '.*'\. Change its permissions or choose another folder\."),
    ("csv", r"PermissionError: CSVLogger: filename='.*/old.csv' cannot be written: this process has no permission "
            r"to write that file\. Change its permissions or choose another path\."),
    ("csv_new", r"PermissionError: CSVLogger: filename='.*/new.csv' cannot be written: this process has no "
                r"permission to write into the folder '.*'\. Change its permissions or choose another folder\."),
    ("tensorboard", r"PermissionError: TensorBoard: log_dir='.*/logs' cannot be written: this process has no "
                    r"permission to write into that folder\. Change its permissions or choose another folder\."),
    ("tensorboard_new", r"PermissionError: TensorBoard: the folder log_dir='.*/new logs' does not exist and cannot "
                        r"be created \(Permission denied\)\. Create it yourself or choose another folder\."),
    ("backup", r"PermissionError: BackupAndRestore: backup_dir='.*/backup' cannot be written: this process has no "
               r"permission to write into that folder\. Change its permissions or choose another folder\."),
    ("backup_new", r"PermissionError: BackupAndRestore: the folder backup_dir='.*/new backup' does not exist and "
                   r"cannot be created \(Permission denied\)\. Create it yourself or choose another folder\."),
])
def test_a_path_this_process_may_not_write_is_reported_before_training(read_only_folder, which, expected):
    if which.startswith("tensorboard"):
        pytest.importorskip("tensorboardX", reason="TensorBoard needs tensorboardX (the tensorboard extra)")
    callback = MAKE[which](read_only_folder)     # here: TensorBoard imports tensorboardX as it is made
    net = model()
    output = error_of(lambda: fit(net, [callback], epochs=1))
    assert re.fullmatch(expected, output), output


def test_backup_and_restore_takes_a_folder_not_a_file(tmp_path):
    (tmp_path / "taken").write_text("")
    unfit_model_raises(BackupAndRestore(tmp_path / "taken"), NotADirectoryError,
                       r"BackupAndRestore: backup_dir='.*taken' is a file, where a folder should be\. Choose another "
                       r"path, or remove the file\.")


def test_after_fit_the_model_holds_none_of_its_callbacks_so_it_still_pickles(digits):
    """A callback may hold what pickle cannot (a TensorBoard writer, an open file): fit lends
    the list to the model (``model.callbacks_``) only while it runs."""
    import pickle
    import threading

    from deeplearner import Callback

    class HoldsALock(Callback):
        def __init__(self):
            self.lock = threading.Lock()          # cannot be pickled

        def on_epoch_end(self, model, epoch, logs):
            self.seen = list(model.callbacks_)

    X_train, _, y_train, _ = digits
    from deeplearner import SGD, Activation, CrossEntropyForSoftMax, Dense, Sequential
    model = Sequential([Dense(10), Activation("softmax")], SGD(), CrossEntropyForSoftMax(), input_shape=64, seed=0)
    callback = HoldsALock()
    model.fit(X_train[:100], y_train[:100], epochs=1, verbose=0, callbacks=[callback])
    assert callback.seen == [callback] and model.callbacks_ == ()
    assert pickle.loads(pickle.dumps(model)).predict(X_train[:5]).shape == (5,)

"""BackupAndRestore: a process killed (SIGKILL) in the middle of training, started again, ends bit for bit
where an uninterrupted run ends; a backup of another model is refused; the backup goes after a normal end."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from deeplearner import (SGD, Activation, BackupAndRestore, BatchNorm, Callback, CrossEntropyForSoftMax, CSVLogger,
                         Dense, Dropout, EarlyStopping, ReduceLROnPlateau, Sequential, StepDecay, load_model)

# The script each run executes: the same model, data and callbacks every time; only KILL_AT differs.
# It trains a small network on scikit-learn's digits with Adam (step count and two moments per
# parameter), BatchNorm (running statistics), Dropout (draws from the model's generator every batch)
# and shuffling, so every part of the training state must come back for the runs to agree.
SCRIPT = textwrap.dedent("""
    import json, os, signal, sys
    import numpy as np
    from sklearn.datasets import load_digits
    from deeplearner import (Adam, Activation, BackupAndRestore, BatchNorm, Callback, CrossEntropyForSoftMax,
                             CSVLogger, Dense, Dropout, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau,
                             Sequential, StepDecay)

    folder, schedule, kill_at = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])

    class Kill(Callback):
        # SIGKILL: no Python cleanup, no finally, no on_train_end; as when the machine takes the process away
        def __init__(self, hook):
            self.hook = hook
        def on_batch_end(self, model, batch, logs):
            if self.hook == "batch" and [self.epoch, batch] == kill_at[1:]:
                os.kill(os.getpid(), signal.SIGKILL)
        def on_epoch_begin(self, model, epoch):
            self.epoch = epoch
        def on_epoch_end(self, model, epoch, logs):
            if self.hook == "epoch_end" and epoch == kill_at[1]:
                os.kill(os.getpid(), signal.SIGKILL)

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    model = Sequential([Dense(24), BatchNorm(), Activation("relu"), Dropout(0.2), Dense(10), Activation("softmax")],
                       Adam(learning_rate=0.02), CrossEntropyForSoftMax(), input_shape=64, seed=7)
    rate = (StepDecay(drop=0.5, every=2) if schedule == "step" else
            ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=0.1))
    hook = kill_at[0] if kill_at else None
    callbacks = [EarlyStopping(monitor="val_accuracy", patience=50), rate,
                 ModelCheckpoint(os.path.join(folder, "best-{epoch}.npz"), monitor="val_loss", save_best_only=True),
                 CSVLogger(os.path.join(folder, "log.csv")), Kill(hook),
                 BackupAndRestore(os.path.join(folder, "backup"))]
    model.fit(X[:1000], y[:1000], X[1000:1300], y[1000:1300], epochs=6, batchsize=100, verbose=0, threads=1,
              callbacks=callbacks)
    model.save(os.path.join(folder, "final.npz"))
    print(json.dumps({"resumed_from": callbacks[-1].resumed_from, "best_epoch": callbacks[0].best_epoch,
                      "saved": [epoch for epoch, _ in callbacks[2].saved]}))
""")


def run(folder, schedule, kill_at=None):
    """Run the script once in a fresh interpreter; return the CompletedProcess."""
    script = folder / "train.py"
    script.write_text(SCRIPT)
    return subprocess.run([sys.executable, str(script), str(folder), schedule, json.dumps(kill_at)],
                          capture_output=True, text=True, timeout=300)


def assert_bit_identical(a, b):
    """Parameters, BatchNorm statistics, optimizer state, generator state, history: all equal to the last bit."""
    for layer_a, layer_b in zip(a.get_weights(), b.get_weights()):
        assert layer_a.keys() == layer_b.keys()
        for key in layer_a:
            assert layer_a[key].tobytes() == layer_b[key].tobytes(), key
    assert a.optimizer.state.keys() == b.optimizer.state.keys() and a.optimizer.state
    for key, slots in a.optimizer.state.items():
        for slot, value in slots.items():
            other = b.optimizer.state[key][slot]
            assert (value.tobytes() == other.tobytes()) if isinstance(value, np.ndarray) else value == other
    assert a.optimizer.learning_rate == b.optimizer.learning_rate
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    assert a.history_ == b.history_


@pytest.mark.parametrize("schedule, kill_at, resumed_from", [
    ("step", ["batch", 3, 2], 2),          # in the middle of epoch 3: epochs 1-2 are backed up
    ("plateau", ["epoch_end", 3], 2),      # after epoch 3's CSV row, before its backup: the row is written again
])
def test_a_run_killed_and_started_again_ends_bit_for_bit_as_an_uninterrupted_run(tmp_path, schedule, kill_at,
                                                                                   resumed_from):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    whole.mkdir()
    broken.mkdir()
    reference = run(whole, schedule)
    assert reference.returncode == 0, reference.stderr

    killed = run(broken, schedule, kill_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (broken / "final.npz").exists()
    backup = sorted(os.listdir(broken / "backup"))
    assert backup == [f"model-{resumed_from}.npz", "state.npz"]          # only the last finished epoch's model
    finished = 3 if kill_at[0] == "epoch_end" else 2                     # rows fsync'd before the kill
    assert len((broken / "log.csv").read_text().splitlines()) == 1 + finished

    again = run(broken, schedule)
    assert again.returncode == 0, again.stderr
    report, expected = json.loads(again.stdout), json.loads(reference.stdout)
    assert report["resumed_from"] == resumed_from and expected["resumed_from"] is None
    assert report["best_epoch"] == expected["best_epoch"] and report["saved"] == expected["saved"]
    assert_bit_identical(load_model(broken / "final.npz"), load_model(whole / "final.npz"))
    # One CSV row per epoch, the same numbers to the last digit; the checkpoints of the same epochs.
    assert (broken / "log.csv").read_text() == (whole / "log.csv").read_text()
    assert len((whole / "log.csv").read_text().splitlines()) == 1 + 6
    assert sorted(p.name for p in broken.glob("best-*.npz")) == sorted(p.name for p in whole.glob("best-*.npz"))
    assert not (broken / "backup").exists() and not (whole / "backup").exists()   # removed after the normal end


# ---------------------------------------------------------------- in one process: stop by an exception
def data():
    rng = np.random.default_rng(0)
    y = np.arange(120) % 3
    return rng.normal(size=(120, 5)) + y[:, None], y


def model(units=8, seed=0):
    return Sequential([Dense(units), BatchNorm(), Activation("tanh"), Dropout(0.1), Dense(3), Activation("softmax")],
                      SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(), input_dim=5, seed=seed)


class Crash(Callback):
    """Raise at the end of an epoch, after the backup of that epoch (it comes after BackupAndRestore)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, model, epoch, logs):
        if epoch == self.epoch:
            raise RuntimeError("the process dies here")


def fit(net, callbacks, epochs=5):
    X, y = data()
    return net.fit(X[:90], y[:90], X[90:], y[90:], epochs=epochs, batchsize=16, verbose=0, threads=1,
                   callbacks=callbacks)


def crashed_backup(folder, epoch=2, **kwargs):
    """A backup of epoch ``epoch`` left in ``folder`` by a run that died."""
    with pytest.raises(RuntimeError, match="the process dies here"):
        fit(model(**kwargs), [EarlyStopping(patience=20), BackupAndRestore(folder), Crash(epoch)])
    assert (folder / "state.npz").exists()


def test_a_run_stopped_by_an_error_resumes_in_the_same_process_as_if_never_stopped(tmp_path):
    crashed_backup(tmp_path / "backup", epoch=2)
    resumed, stopper, backup = model(), EarlyStopping(patience=20), BackupAndRestore(tmp_path / "backup")
    history = fit(resumed, [stopper, backup])
    whole = model()
    reference_stopper = EarlyStopping(patience=20)
    fit(whole, [reference_stopper])
    assert backup.resumed_from == 2 and len(history["loss"]) == 5
    assert_bit_identical(resumed, whole)
    assert stopper.best == reference_stopper.best and stopper.best_epoch == reference_stopper.best_epoch


def test_the_backup_is_removed_after_a_normal_end(tmp_path):
    backup = BackupAndRestore(tmp_path / "backup")
    fit(model(), [backup], epochs=2)
    assert not (tmp_path / "backup").exists() and backup.resumed_from is None


def test_a_folder_that_holds_other_files_stays_after_the_backup_is_removed(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    fit(model(), [BackupAndRestore(tmp_path)], epochs=1)
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_a_backup_is_kept_when_ctrl_c_stops_fit(tmp_path):
    class CtrlC(Callback):
        def on_batch_end(self, model, batch, logs):
            if len(model.history_["loss"]) == 1 and batch == 2:
                raise KeyboardInterrupt   # as a second Ctrl-C would: fit stops and returns
    fit(model(), [BackupAndRestore(tmp_path / "backup"), CtrlC()])
    assert sorted(os.listdir(tmp_path / "backup")) == ["model-1.npz", "state.npz"]


def test_a_resumed_fit_with_nothing_left_to_do_restores_the_model_and_removes_the_backup(tmp_path):
    crashed_backup(tmp_path / "backup", epoch=2)
    net = model()
    history = fit(net, [EarlyStopping(patience=20), BackupAndRestore(tmp_path / "backup")], epochs=2)
    assert len(history["loss"]) == 2 and not (tmp_path / "backup").exists()


# ---------------------------------------------------------------- refusals
def test_a_backup_of_another_model_is_refused_and_nothing_is_loaded(tmp_path):
    crashed_backup(tmp_path / "backup", units=8)
    other = model(units=6)
    before = other.get_weights()
    with pytest.raises(ValueError, match=r"BackupAndRestore: the backup in '.*backup' was written by another model "
                                         r"or another set of callbacks: its layer 0 is Dense \{'units': 8, .*\} "
                                         r"holding \{'W': \(5, 8\), 'b': \(8,\)\}, this model's is Dense "
                                         r"\{'units': 6, .*\}.* Use another backup_dir for this run, or delete"):
        fit(other, [EarlyStopping(patience=20), BackupAndRestore(tmp_path / "backup")])
    for layer_before, layer_after in zip(before, other.get_weights()):
        assert all(np.array_equal(layer_before[key], layer_after[key]) for key in layer_before)
    assert other.optimizer.state == {} and (tmp_path / "backup" / "state.npz").exists()


def test_a_backup_with_other_callbacks_is_refused(tmp_path):
    crashed_backup(tmp_path / "backup")
    with pytest.raises(ValueError, match=r"it holds the state of the callbacks \['EarlyStopping'\], this fit has "
                                         r"\['StepDecay'\]"):
        fit(model(), [StepDecay(), BackupAndRestore(tmp_path / "backup")])


def test_a_backup_with_another_optimizer_or_without_validation_data_is_refused(tmp_path):
    crashed_backup(tmp_path / "backup")
    other = model()
    other.optimizer = SGD(learning_rate=0.1, momentum=0.5)
    with pytest.raises(ValueError, match=r"its optimizer is SGD \{'momentum': 0.9, 'nesterov': False\}, this model's "
                                         r"SGD \{'momentum': 0.5, 'nesterov': False\}"):
        fit(other, [EarlyStopping(patience=20), BackupAndRestore(tmp_path / "backup")])
    X, y = data()
    with pytest.raises(ValueError, match=r"its history logs \['accuracy', 'loss', 'lr', 'val_accuracy', "
                                         r"'val_loss'\], this fit logs \['accuracy', 'loss', 'lr'\]"):
        model().fit(X, y, epochs=3, verbose=0, callbacks=[EarlyStopping(monitor="loss"),
                                                         BackupAndRestore(tmp_path / "backup")])


def test_a_damaged_or_foreign_backup_is_refused(tmp_path):
    folder = tmp_path / "backup"
    crashed_backup(folder)
    (folder / "state.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match=r"BackupAndRestore: '.*state.npz' is damaged and cannot be read .* Delete "
                                         r"the folder"):
        fit(model(), [EarlyStopping(patience=20), BackupAndRestore(folder)])
    np.savez(folder / "state.npz", backup=np.array(json.dumps({"format": "something else"})))
    with pytest.raises(ValueError, match=r"is not a backup written by BackupAndRestore"):
        fit(model(), [EarlyStopping(patience=20), BackupAndRestore(folder)])


def test_the_model_file_of_a_backup_missing_is_reported(tmp_path):
    folder = tmp_path / "backup"
    crashed_backup(folder)
    os.remove(folder / "model-2.npz")
    with pytest.raises(ValueError, match=r"BackupAndRestore: the backup in '.*backup' cannot be read: load_model: "
                                         r"there is no file .*model-2.npz"):
        fit(model(), [EarlyStopping(patience=20), BackupAndRestore(folder)])


def test_a_stateful_callback_after_backup_and_restore_is_an_error(tmp_path):
    with pytest.raises(ValueError, match=r"BackupAndRestore: the callbacks \['CSVLogger'\] come after "
                                         r"BackupAndRestore in callbacks=\[\.\.\.\], .* Put BackupAndRestore last\."):
        fit(model(), [BackupAndRestore(tmp_path / "b"), CSVLogger(tmp_path / "log.csv")])


def test_state_round_trips_through_get_state_and_set_state():
    schedule = StepDecay(drop=0.5, every=2)
    schedule.set_state({"initial_learning_rate": 0.4, "epoch": 5})
    assert schedule.learning_rate_at(schedule.epoch) == 0.4 * 0.5 ** 2 and schedule.get_state()["epoch"] == 5
    plateau = ReduceLROnPlateau()
    plateau.set_state({"best": 0.3, "wait": 4, "reductions": [[3, 0.01]]})
    assert plateau.get_state() == {"best": 0.3, "wait": 4, "reductions": [[3, 0.01]]}
    assert plateau.reductions == [(3, 0.01)]


def test_backup_dir_errors(tmp_path):
    with pytest.raises(TypeError, match=r"BackupAndRestore: backup_dir must be a str or os.PathLike, received "
                                        r"backup_dir=None\. Example: BackupAndRestore\('backup'\)\."):
        BackupAndRestore(None)
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match=r"BackupAndRestore: backup_dir='.*file' is a file, where a folder "
                                                 r"should be\."):
        fit(model(), [BackupAndRestore(tmp_path / "file")])
    with pytest.raises(NotADirectoryError, match=r"BackupAndRestore: the folder backup_dir='.*file/inside' does not "
                                                 r"exist and cannot be created \(Not a directory\)"):
        fit(model(), [BackupAndRestore(tmp_path / "file" / "inside")])

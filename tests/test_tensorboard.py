"""TensorBoard: the event files read back hold the history's figures and a LayerMonitor's records."""

import importlib.util
import os
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from deeplearner import (SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, LayerMonitor, MeanSquaredError,
                         Sequential, TensorBoard)

needs_tensorboardx = pytest.mark.skipif(
    importlib.util.find_spec("tensorboardX") is None,
    reason="tensorboardX is not installed: pip install \"deeplearner[tensorboard]\" to test TensorBoard")


def read_events(folder):
    """Every summary value in the event files under ``folder``: {tag: [(step, value or histogram), ...]}.

    An event file is a sequence of records: a little-endian uint64 length, its masked CRC (4 bytes),
    that many bytes of a serialized ``Event`` protocol buffer, and the data's masked CRC (4 bytes).
    """
    from tensorboardX.proto.event_pb2 import Event
    values = {}
    for path in sorted(Path(folder).glob("events.out.tfevents.*")):
        data = path.read_bytes()
        position = 0
        while position < len(data):
            (length,) = struct.unpack("<Q", data[position:position + 8])
            event = Event.FromString(data[position + 12:position + 12 + length])
            position += 12 + length + 4
            for value in event.summary.value:
                kept = value.histo if value.HasField("histo") else value.simple_value
                values.setdefault(value.tag, []).append((event.step, kept))
    return values


def data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    return rng.normal(size=(n, 4)) + y[:, None], y


def classifier():
    return Sequential([Dense(6), BatchNorm(), Activation("relu"), Dense(3), Activation("softmax")],
                      SGD(learning_rate=0.2, momentum=0.9), CrossEntropyForSoftMax(), input_dim=4, seed=0)


def as_float32(values):
    """TensorBoard keeps a scalar as a float32 (the Summary's simple_value)."""
    return [float(np.float32(value)) for value in values]


@needs_tensorboardx
def test_the_epoch_scalars_are_the_history_training_and_validation_under_the_same_tags(tmp_path):
    X, y = data()
    history = classifier().fit(X[:60], y[:60], X[60:], y[60:], epochs=4, batchsize=20, verbose=0,
                               callbacks=[TensorBoard(tmp_path / "logs")])
    assert sorted(os.listdir(tmp_path / "logs")) == ["train", "validation"]
    train, validation = read_events(tmp_path / "logs" / "train"), read_events(tmp_path / "logs" / "validation")
    for tag, key in (("epoch_loss", "loss"), ("epoch_accuracy", "accuracy"), ("epoch_learning_rate", "lr")):
        assert [step for step, _ in train[tag]] == [1, 2, 3, 4]
        assert [value for _, value in train[tag]] == as_float32(history[key])
    for tag, key in (("epoch_loss", "val_loss"), ("epoch_accuracy", "val_accuracy")):
        assert [value for _, value in validation[tag]] == as_float32(history[key])
    assert sorted(validation) == ["epoch_accuracy", "epoch_loss"]


@needs_tensorboardx
def test_nan_figures_are_left_out(tmp_path):
    """A regression model's accuracy is NaN: TensorBoard could not draw it."""
    X, _ = data()
    model = Sequential([Dense(2)], SGD(learning_rate=0.01), MeanSquaredError(), input_dim=4, seed=0)
    model.fit(X, X[:, :2], epochs=2, batchsize=30, verbose=0, callbacks=[TensorBoard(tmp_path)])
    assert sorted(read_events(tmp_path / "train")) == ["epoch_learning_rate", "epoch_loss"]


@needs_tensorboardx
@pytest.mark.parametrize("passed", [False, True])
def test_a_layer_monitors_records_become_scalars_and_histograms_by_training_step(tmp_path, passed):
    X, y = data()
    monitor = LayerMonitor(X[:30], every=2, layers=[0, 2])
    callbacks = [monitor, TensorBoard(tmp_path, monitor=monitor if passed else None)]
    classifier().fit(X, y, epochs=2, batchsize=30, verbose=0, callbacks=callbacks)    # 3 steps an epoch
    events = read_events(tmp_path / "train")
    steps = monitor.steps.tolist()
    assert steps == [2, 4, 6]
    for name in monitor.names:                                      # "0 Dense", "2 relu"
        layer = name.replace(" ", "_")
        histograms = events[f"outputs/{layer}"]
        assert [step for step, _ in histograms] == steps
        for (_, histogram), kept in zip(histograms, monitor.outputs[name]["values"]):
            assert histogram.num == kept.size and histogram.min == kept.min() and histogram.max == kept.max()
        for stat in ("mean", "std", "p15", "p50", "p85"):
            recorded = events[f"outputs/{layer}/{stat}"]
            assert [step for step, _ in recorded] == steps
            assert [value for _, value in recorded] == as_float32(monitor.outputs[name][stat])
    assert [v for _, v in events["outputs/2_relu/dead"]] == as_float32(monitor.outputs["2 relu"]["dead"])
    assert [v for _, v in events["grad_norm/0_Dense/W"]] == as_float32(monitor.grad_norms["0 Dense"]["W"])
    ratios = monitor.update_ratios["0 Dense"]["W"]
    assert [v for _, v in events["update_ratio/0_Dense/W"]] == as_float32(ratios[np.isfinite(ratios)])
    assert not any(tag.startswith("outputs/1_") for tag in events)  # BatchNorm was not monitored


@needs_tensorboardx
def test_without_a_monitor_only_the_epoch_figures_are_written(tmp_path):
    X, y = data()
    classifier().fit(X, y, epochs=1, batchsize=30, verbose=0, callbacks=[TensorBoard(tmp_path)])
    assert sorted(read_events(tmp_path / "train")) == ["epoch_accuracy", "epoch_learning_rate", "epoch_loss"]


def test_without_tensorboardx_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)      # as if it were not installed
    with pytest.raises(ImportError, match=r'TensorBoard needs the tensorboardX package, which is not installed\. '
                                          r'Install it with: pip install "deeplearner\[tensorboard\]"'):
        TensorBoard("logs")


@needs_tensorboardx
def test_path_and_argument_errors(tmp_path):
    (tmp_path / "taken").write_text("")
    model = classifier()
    X, y = data()
    with pytest.raises(NotADirectoryError, match=r"TensorBoard: log_dir='.*taken' is a file, where a folder should "
                                                 r"be\. Choose another path, or remove the file\."):
        model.fit(X, y, epochs=1, verbose=0, callbacks=[TensorBoard(tmp_path / "taken")])
    with pytest.raises(NotADirectoryError, match=r"TensorBoard: the folder log_dir='.*taken/logs' does not exist "
                                                 r"and cannot be created \(Not a directory\)\. Create it yourself"):
        model.fit(X, y, epochs=1, verbose=0, callbacks=[TensorBoard(tmp_path / "taken" / "logs")])
    assert model.history_["loss"] == []
    with pytest.raises(TypeError, match=r"TensorBoard: log_dir must be a str or os.PathLike, received log_dir=3\."):
        TensorBoard(3)
    with pytest.raises(TypeError, match=r"TensorBoard: monitor must be a deeplearner.LayerMonitor, received 'm'\."):
        TensorBoard(tmp_path, monitor="m")

"""Sequential: labels, fit/evaluate/predict, batching, one training step by hand, summary, logs, seeds."""

import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from deeplearner import (SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, Dropout, Layer,
                         Sequential, TrainingWarning)


def blobs(labels, n_per_class=12, seed=0):
    """Well-separated clusters, one per label: class j sits at 4 e_j (e_j a unit vector) + noise.

    Returns X of shape (n, len(labels)) and y of shape (n,) holding the labels themselves.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    index = np.repeat(np.arange(len(labels)), n_per_class)
    X = 4.0 * np.eye(len(labels))[index] + 0.3 * rng.standard_normal((len(index), len(labels)))
    return X, labels[index]


def classifier(n_in, n_out, seed=0, extra=()):
    """Dense-BatchNorm-relu-Dense-softmax, the seed's pattern in small."""
    return Sequential([Dense(16), BatchNorm(), Activation("relu"), *extra, Dense(n_out), Activation("softmax")],
                      SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(), n_in, seed=seed)


def weights_equal(a, b):
    return all(np.array_equal(x[key], y[key]) for x, y in zip(a, b) for key in x)


# ---------------------------------------------------------------- labels
def test_integer_labels_within_range_map_to_their_own_unit_even_when_some_are_absent():
    """Labels {0, 2} with 4 output units: classes_ = [0, 1, 2, 3], and label 2 is unit 2 (not 1)."""
    X, y = blobs([0, 2])
    X = np.hstack([X, np.zeros((len(X), 2))])                   # 4 features, 4 units
    model = classifier(4, 4)
    model.fit(X, y, epochs=30, batch_size=8, verbose=0)
    np.testing.assert_array_equal(model.classes_, [0, 1, 2, 3])
    P = model.predict_proba(X)
    assert (P[y == 2].argmax(axis=1) == 2).all() and (P[y == 0].argmax(axis=1) == 0).all()
    np.testing.assert_array_equal(model.predict(X), y)


def test_labels_1_to_10_of_shape_n_by_1_map_in_sorted_order_and_come_back():
    """The seed's labels: 1..10 as loadmat gives them, shape (n, 1); unit k stands for label k + 1."""
    X, y = blobs(np.arange(1, 11), n_per_class=8)
    model = classifier(10, 10)
    model.fit(X, y.reshape(-1, 1), epochs=30, batch_size=16, verbose=0)
    np.testing.assert_array_equal(model.classes_, np.arange(1, 11))
    predicted = model.predict(X)
    assert predicted.shape == (len(X),)
    assert set(np.unique(predicted)) <= set(range(1, 11))
    assert np.mean(predicted == y) > 0.95
    assert (model.predict_proba(X[y == 1]).argmax(axis=1) == 0).mean() > 0.9


def test_loadmat_style_uint8_and_whole_float_labels_work_like_integers():
    X, y = blobs([1, 2, 3])
    for labels in (y.astype(np.uint8).reshape(-1, 1), y.astype(np.float64)):
        model = classifier(3, 3)
        model.fit(X, labels, epochs=20, batch_size=8, verbose=0)
        np.testing.assert_array_equal(model.classes_, [1, 2, 3])
        assert np.mean(model.predict(X) == y) > 0.95


def test_string_labels():
    X, y = blobs(["emu", "cat", "dog"])
    model = classifier(3, 3)
    model.fit(X, y, epochs=20, batch_size=8, verbose=0)
    np.testing.assert_array_equal(model.classes_, ["cat", "dog", "emu"])
    predicted = model.predict(X)
    assert predicted.dtype.kind == "U"
    assert np.mean(predicted == y) > 0.95


def test_labels_of_shape_n_and_n_by_1_and_one_hot_train_identically():
    X, y = blobs([0, 1, 2])
    runs = []
    for labels in (y, y.reshape(-1, 1), np.eye(3)[y]):
        model = classifier(3, 3, seed=4)
        history = model.fit(X, labels, epochs=3, batch_size=8, verbose=0)
        np.testing.assert_array_equal(model.classes_, [0, 1, 2])
        runs.append((model.get_weights(), history["loss"]))
    for weights, losses in runs[1:]:
        assert weights_equal(weights, runs[0][0])
        assert losses == runs[0][1]


def test_evaluating_unknown_labels_raises():
    X, y = blobs(["cat", "dog"])
    model = classifier(2, 2)
    model.fit(X, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"labels the model was not trained on: \['emu'\]"):
        model.evaluate(X[:2], ["cat", "emu"])


# ---------------------------------------------------------------- predict, evaluate, fit
@pytest.fixture(scope="module")
def trained():
    """A 4-class model trained briefly (not perfectly) on noisy blobs, with validation data."""
    X, y = blobs([0, 1, 2, 3], n_per_class=20, seed=1)
    X = X + 1.5 * np.random.default_rng(2).standard_normal(X.shape)      # overlap: accuracy < 1
    X_valid, y_valid = X[::4], y[::4]
    model = classifier(4, 4, seed=3)
    history = model.fit(X, y, X_valid, y_valid, epochs=5, batch_size=16, verbose=0)
    return model, history, X, y, X_valid, y_valid


def test_predict_and_predict_proba_shapes_and_probabilities(trained):
    model, _, X, _, _, _ = trained
    P = model.predict_proba(X)
    assert P.shape == (len(X), 4)
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-12)
    assert (P >= 0).all()
    assert model.predict(X).shape == (len(X),)
    np.testing.assert_array_equal(model.predict(X), P.argmax(axis=1))   # classes_ = 0..3 here


def test_evaluate_returns_loss_and_accuracy_consistent_with_predict(trained):
    model, _, X, y, _, _ = trained
    loss, accuracy = model.evaluate(X, y)
    assert accuracy == np.mean(model.predict(X) == y)
    P = model.predict_proba(X)
    assert loss == pytest.approx(-np.mean(np.log(P[np.arange(len(y)), y])), rel=1e-9)
    assert 0.3 < accuracy < 1.0            # the fixture's data overlap: a non-trivial accuracy


def test_fit_returns_the_per_epoch_history_and_keeps_it(trained):
    model, history, _, _, X_valid, y_valid = trained
    assert model.history_ is history
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert history["lr"] == [model.optimizer.learning_rate] * 5     # no schedule: the same rate every epoch
    assert all(len(values) == 5 for values in history.values())
    assert all(isinstance(value, float) for values in history.values() for value in values)
    # Validation metrics are measured after each epoch, in inference mode: the last one is evaluate's.
    val_loss, val_accuracy = model.evaluate(X_valid, y_valid)
    assert history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-12)
    assert history["val_accuracy"][-1] == val_accuracy
    assert history["loss"][-1] < history["loss"][0]


def test_the_seed_notebooks_positional_fit_call_works():
    """fit(X_train, y_train, X_valid, y_valid, epochs=..., batch_size=...): the seed's argument order.

    verbose=0 here; the call exactly as written (default verbose=1) runs in a fresh process below.
    """
    X_train, y_train = blobs(np.arange(1, 4), seed=5)
    X_valid, y_valid = blobs(np.arange(1, 4), n_per_class=4, seed=6)
    model = classifier(3, 3)
    history = model.fit(X_train, y_train.reshape(-1, 1), X_valid, y_valid.reshape(-1, 1), epochs=10, batch_size=1000,
                        verbose=0)
    assert len(history["val_accuracy"]) == 10
    assert history["val_accuracy"][-1] == 1.0


# ---------------------------------------------------------------- batching
class BatchSizeRecorder(Layer):
    """Identity layer that records the size of each training batch it sees."""

    def build(self, input_dim, rng, dtype):
        super().build(input_dim, rng, dtype)
        self.sizes = []

    def forward(self, X, training=True):
        if training:
            self.sizes.append(len(X))
        return X

    def backward(self, dY):
        return dY


@pytest.mark.parametrize("n, batchsize, shuffle", [(33, 32, True), (33, 32, False), (65, 32, True), (7, 3, False)])
def test_a_last_batch_of_one_sample_does_not_break_batchnorm(n, batchsize, shuffle):
    """Every batch has at least two rows, and every row is used once per epoch (merged, not dropped)."""
    X, y = blobs([0, 1, 2], n_per_class=n)
    rows = np.random.default_rng(n).permutation(len(X))[:n]       # n rows of mixed classes
    X, y = X[rows], y[rows]
    recorder = BatchSizeRecorder()
    model = classifier(3, 3, extra=[recorder])
    history = model.fit(X, y, epochs=2, batch_size=batchsize, shuffle=shuffle, verbose=0)
    assert np.isfinite(history["loss"]).all()
    assert min(recorder.sizes) >= 2
    assert sum(recorder.sizes) == 2 * n


def test_batches_are_reshuffled_each_epoch():
    """With shuffle=True two epochs see the rows in different orders (recorded by a layer)."""
    seen = []

    class RowRecorder(BatchSizeRecorder):
        def forward(self, X, training=True):
            if training:
                seen.append(X[:, 0].copy())
            return X

    X = np.arange(20.0).reshape(-1, 1) @ np.ones((1, 2))
    model = Sequential([RowRecorder(), Dense(2), Activation("softmax")], SGD(), CrossEntropyForSoftMax(), 2, seed=0)
    with warnings.catch_warnings():   # rows 0..19 are far from unit scale, and fit rightly says so
        warnings.simplefilter("ignore", TrainingWarning)
        model.fit(X, np.arange(20) % 2, epochs=2, batch_size=20, verbose=0)
    assert sorted(seen[0]) == sorted(seen[1]) == list(range(20))
    assert not np.array_equal(seen[0], seen[1])


def test_train_on_batch_is_one_sgd_step_computed_by_hand():
    """Softmax regression (Dense + softmax): loss = -mean log P[y], W -= lr X^T (P - T) / N."""
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((6, 4)), np.array([0, 1, 2, 0, 1, 2])
    model = Sequential([Dense(3), Activation("softmax")], SGD(learning_rate=0.5), CrossEntropyForSoftMax(), 4, seed=0)
    W, b = model.layers[0].params["W"].copy(), model.layers[0].params["b"].copy()
    Z = X @ W + b
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    T = np.eye(3)[y]

    loss = model.train_on_batch(X, y)
    assert loss == pytest.approx(-np.mean(np.log(P[np.arange(6), y])), rel=1e-12)
    np.testing.assert_allclose(model.layers[0].params["W"], W - 0.5 * X.T @ (P - T) / 6, rtol=1e-12)
    np.testing.assert_allclose(model.layers[0].params["b"], b - 0.5 * (P - T).sum(axis=0) / 6, rtol=1e-12)


def test_train_on_batch_changes_the_weights_and_training_lowers_the_loss():
    X, y = blobs([0, 1, 2])
    model = classifier(3, 3)
    before = model.get_weights()
    losses = [model.train_on_batch(X, y) for _ in range(10)]
    assert not weights_equal(before, model.get_weights())
    assert losses[-1] < losses[0]


# ---------------------------------------------------------------- summary
def test_summary_of_the_seed_network_counts_parameters_like_keras():
    """400-100-50-10 with BatchNorm, counted by hand:

    Dense(100): 400 * 100 + 100 = 40,100     BatchNorm(100): 2 * 100 trainable + 2 * 100 running
    Dense(50):  100 * 50 + 50   =  5,050     BatchNorm(50):  100 + 100
    Dense(10):  50 * 10 + 10    =    510     BatchNorm(10):  20 + 20
    trainable = 40,100 + 5,050 + 510 + 200 + 100 + 20 = 45,980;  non-trainable = 320;  total 46,300.
    """
    model = Sequential([Dense(100), BatchNorm(), Activation("relu"),
                        Dense(50), BatchNorm(), Activation("relu"),
                        Dense(10), BatchNorm(), Activation("softmax")],
                       SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(), 400)
    printed = []
    model.summary(print_fn=printed.append)
    lines = "\n".join(printed).splitlines()
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines if line.startswith("|")]
    assert rows[1:] == [
        ["Dense", "(None, 400)", "(None, 100)", "40,100"],
        ["BatchNorm", "(None, 100)", "(None, 100)", "400"],
        ["relu", "(None, 100)", "(None, 100)", "0"],
        ["Dense", "(None, 100)", "(None, 50)", "5,050"],
        ["BatchNorm", "(None, 50)", "(None, 50)", "200"],
        ["relu", "(None, 50)", "(None, 50)", "0"],
        ["Dense", "(None, 50)", "(None, 10)", "510"],
        ["BatchNorm", "(None, 10)", "(None, 10)", "40"],
        ["softmax", "(None, 10)", "(None, 10)", "0"],
    ]
    assert "Total params: 46,300" in lines
    assert "Trainable params: 45,980" in lines
    assert "Non-trainable params: 320" in lines


# ---------------------------------------------------------------- what fit prints
# verbose=1 runs in a fresh Python process, so what it prints is exactly what a user sees.
VERBOSE_SCRIPT = """
import numpy as np
from deeplearner import Sequential, Dense, Activation, SGD, CrossEntropyForSoftMax
rng = np.random.default_rng(0)
X, y = rng.standard_normal((20, 2)), np.arange(20) % 2
for epochs in (10, 11, 19, 25, 100, 1000):
    model = Sequential([Dense(2), Activation("softmax")], SGD(), CrossEntropyForSoftMax(), 2, seed=0)
    model.fit(X, y, X, y, epochs=epochs, batch_size=10)       # the seed's call: default verbose=1
"""


def run_python(script):
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def verbose_run():
    result = run_python(VERBOSE_SCRIPT)
    assert result.returncode == 0, result.stderr
    return result


def log_lines(text, epochs=None):
    """The log lines in ``text`` (of the run of ``epochs`` epochs, if given)."""
    total = str(epochs) if epochs else r"\d+"
    return [line for line in text.splitlines() if re.match(rf"Epoch \d+/{total} ", line)]


@pytest.mark.parametrize("epochs", [10, 11, 19, 25, 100, 1000])
def test_verbose_1_prints_about_ten_log_lines(verbose_run, epochs):
    """The issue: a bar with ETA and, about ten times per run, a line like the seed's (it printed 10)."""
    lines = log_lines(verbose_run.stdout, epochs)
    assert 9 <= len(lines) <= 12, f"{len(lines)} log lines for {epochs} epochs"
    assert lines[0].startswith("Epoch 1/") and lines[-1].startswith(f"Epoch {epochs}/")


def test_verbose_1_draws_no_bar_into_a_pipe(verbose_run):
    """stderr is a pipe here: no bar redraws, only the log lines (the bar on a terminal: test_progress_modes)."""
    assert "ETA" not in verbose_run.stderr and "epochs)" not in verbose_run.stderr


def test_verbose_1_follows_the_current_stdout_across_runs():
    """Each fit must print where sys.stdout points now (a notebook cell, a redirect, a test capture)."""
    script = """
import contextlib, io, sys
import numpy as np
from deeplearner import Sequential, Dense, Activation, SGD, CrossEntropyForSoftMax
X, y = np.random.default_rng(0).standard_normal((10, 2)), np.arange(10) % 2
model = Sequential([Dense(2), Activation("softmax")], SGD(), CrossEntropyForSoftMax(), 2, seed=0)
first_out, first_err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(first_out), contextlib.redirect_stderr(first_err):
    model.fit(X, y, epochs=2)
first_out.close(); first_err.close()
second_out, second_err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(second_out), contextlib.redirect_stderr(second_err):
    model.fit(X, y, epochs=2)
    still_redirected = sys.stdout is second_out
assert still_redirected, "fit replaced sys.stdout"
assert second_out.getvalue().count("Epoch") == 2, repr(second_out.getvalue())
"""
    result = run_python(script)
    assert result.returncode == 0, result.stderr[-600:]


def small_problem():
    return blobs([0, 1], n_per_class=5)


def test_log_lines_show_epoch_losses_and_accuracies(capsys):
    X, y = small_problem()
    model = Sequential([Dense(2), Activation("softmax")], SGD(), CrossEntropyForSoftMax(), 2, seed=0)
    history = model.fit(X, y, X, y, epochs=3, batch_size=10, verbose=2)
    lines = log_lines(capsys.readouterr().out)
    assert len(lines) == 3                                                   # verbose=2: every epoch
    last = lines[-1]
    assert last.startswith("Epoch 3/3")
    for label, value in [("training loss", f"{history['loss'][-1]:.4f}"),
                         ("validation loss", f"{history['val_loss'][-1]:.4f}"),
                         ("training accuracy", f"{history['accuracy'][-1]:.3f}"),
                         ("validation accuracy", f"{history['val_accuracy'][-1]:.3f}")]:
        assert f"{label} {value}" in last


def test_verbose_0_prints_nothing(capsys):
    X, y = small_problem()
    model = Sequential([Dense(2), Activation("softmax")], SGD(), CrossEntropyForSoftMax(), 2, seed=0)
    model.fit(X, y, X, y, epochs=5, verbose=0)
    assert capsys.readouterr() == ("", "")


# ---------------------------------------------------------------- one seed fixes the run
def run_with_seed(seed):
    X, y = blobs([0, 1, 2], seed=8)
    model = classifier(3, 3, seed=seed, extra=[Dropout(0.3)])       # init, masks and shuffling all draw
    history = model.fit(X, y, X, y, epochs=3, batch_size=8, verbose=0)
    return model.get_weights(), history, model.predict_proba(X)


def test_same_seed_gives_bit_identical_runs():
    weights_a, history_a, P_a = run_with_seed(11)
    weights_b, history_b, P_b = run_with_seed(11)
    assert weights_equal(weights_a, weights_b)
    assert history_a == history_b
    np.testing.assert_array_equal(P_a, P_b)


def test_different_seeds_give_different_runs():
    weights_a, history_a, _ = run_with_seed(11)
    weights_b, history_b, _ = run_with_seed(12)
    assert not weights_equal(weights_a, weights_b)
    assert history_a["loss"] != history_b["loss"]


# ---------------------------------------------------------------- errors at the boundary
def test_cross_entropy_without_a_final_softmax_raises():
    with pytest.raises(ValueError, match=r"CrossEntropyForSoftMax needs Activation\('softmax'\) as the last "
                                         r"layer, received relu"):
        Sequential([Dense(3), Activation("relu")], SGD(), CrossEntropyForSoftMax(), 4)


def test_predict_before_fit_raises():
    model = classifier(3, 3)
    with pytest.raises(ValueError, match=r"not learned its classes yet: call fit"):
        model.predict(np.zeros((2, 3)))


@pytest.mark.parametrize("X, y, message", [
    (np.zeros((4, 5)), np.zeros(4, int), r"X has 5 features per sample, but the model expects 3"),
    (np.zeros(3), np.zeros(1, int), r"X must be a 2-D array.*reshape\(1, -1\)"),
    (np.zeros((4, 3)), np.zeros(3, int), r"X and y have different lengths: 4 samples in X but 3 in y"),
    (np.full((4, 3), np.nan), np.zeros(4, int), r"X contains 12 NaN or infinite values"),
])
def test_fit_checks_its_arrays(X, y, message):
    with pytest.raises(ValueError, match=message):
        classifier(3, 3).fit(X, y, verbose=0)


def test_a_batch_of_one_in_train_on_batch_reaches_batchnorms_clear_error():
    model = classifier(3, 3)
    with pytest.raises(ValueError, match=r"BatchNorm.* at least 2 samples.* received 1"):
        model.train_on_batch(np.zeros((1, 3)), [0])

"""What the model refuses at its boundary, and what it must not change while refusing it."""

import numpy as np
import pytest

from deeplearner import (SGD, Activation, BatchNorm, Callback, CrossEntropyForSoftMax, Dense, EarlyStopping,
                         MeanSquaredError, Sequential, gradcheck, relu)
from deeplearner.model.progress import ProgressReporter

rng = np.random.default_rng(0)
X = rng.normal(size=(30, 4))
y = np.arange(30) % 3


def model(**kwargs):
    return Sequential([Dense(5), Activation("relu"), Dense(3), Activation("softmax")],
                      SGD(learning_rate=0.1), CrossEntropyForSoftMax(), input_shape=4, seed=0, **kwargs)


@pytest.mark.parametrize("T, row", [(np.tile([1.0, 1.0, 0.0], (30, 1)), 0),           # sums to 2
                                    (np.vstack([np.eye(3)[y[:29]], [[-1.0, 1.0, 1.0]]]), 29)])   # negative
def test_cross_entropy_targets_must_be_probability_rows(T, row):
    with pytest.raises(ValueError, match=rf"y row {row} is not a probability distribution.*one-hot or soft "
                                         rf"labels >= 0 summing to 1.*y\.argmax\(axis=1\)"):
        model().fit(X, T, verbose=0)


def test_soft_labels_that_sum_to_one_are_fine():
    soft = np.full((30, 3), 0.1)
    soft[np.arange(30), y] = 0.8
    assert np.isfinite(model().fit(X, soft, epochs=2, verbose=0)["loss"]).all()


def test_the_same_layer_object_twice_is_refused():
    act = Activation("tanh")
    with pytest.raises(ValueError, match=r"layer 3 is the same object as layer 1 \(tanh\).*its own layer"):
        Sequential([Dense(5), act, Dense(5), act, Dense(3), Activation("softmax")],
                   SGD(), CrossEntropyForSoftMax(), input_shape=4)


def test_a_failed_fit_learns_no_classes():
    m = model()
    with pytest.raises(ValueError, match="X_valid has 3 features per sample"):
        m.fit(X, y + 5, X[:, :3], y + 5, verbose=0)
    assert m.classes_ is None
    m.fit(X, y + 7, verbose=0)                      # a different label set is still welcome
    np.testing.assert_array_equal(m.classes_, [7, 8, 9])


def test_a_layer_first_in_one_model_passes_the_right_gradient_back_in_the_next():
    """The first layer of a model may skip dX; placed second in another model it must not."""
    shared = Dense(5)
    Sequential([shared, Activation("relu"), Dense(3), Activation("softmax")], SGD(),
               CrossEntropyForSoftMax(), input_shape=4)
    second = Sequential([Dense(4), shared, Activation("tanh"), Dense(3), Activation("softmax")], SGD(),
                        CrossEntropyForSoftMax(), input_shape=4, seed=0)
    result = gradcheck(second, X[:8], y[:8])         # layer 0's gradients come through shared's dX
    assert {"0.W", "0.b"} <= set(result.errors) and result.max_error < 1e-6, result
    assert np.isfinite(second.fit(X, y, epochs=1, verbose=0)["loss"]).all()


@pytest.mark.parametrize("build, error, message", [
    (lambda: Sequential([Dense(3), Activation("softmax")], SGD, CrossEntropyForSoftMax(), 4),
     TypeError, r"optimizer=SGD is a class; pass an instance, e.g. SGD\(learning_rate=0.1\)"),
    (lambda: Sequential([Dense(3), Activation("softmax")], SGD(), CrossEntropyForSoftMax, 4),
     TypeError, r"loss=CrossEntropyForSoftMax is a class; pass an instance"),
    (lambda: Sequential([Dense, Activation("softmax")], SGD(), CrossEntropyForSoftMax(), 4),
     TypeError, r"layer 0 is the class Dense; pass an instance"),
    (lambda: Sequential(Dense(3), SGD(), CrossEntropyForSoftMax(), 4),
     TypeError, r"layers must be a list of layers"),
    (lambda: Sequential([Dense(3), relu, Activation("softmax")], SGD(), CrossEntropyForSoftMax(), 4),
     TypeError, r"layer 1 .* is not a layer.*wrap it: Activation\('relu'\)"),
    (lambda: model(dtype="foo"), ValueError, r"dtype must be np.float32 or np.float64, received dtype='foo'"),
    (lambda: model(dtype=np.int32), ValueError, r"dtype must be np.float32 or np.float64"),
    (lambda: Sequential([Dense(3), Activation("softmax")], SGD(), CrossEntropyForSoftMax(), 4, seed="abc"),
     ValueError, r"seed must be None or a non-negative integer, received seed='abc'"),
    (lambda: Sequential([Dense(3), Activation("softmax")], SGD(), CrossEntropyForSoftMax(), 4, seed=-1),
     ValueError, r"seed must be None or a non-negative integer, received seed=-1"),
])
def test_construction_mistakes(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize("callbacks, message", [
    (EarlyStopping(monitor="loss"), r"callbacks must be a list, e.g. callbacks=\[EarlyStopping\(\)\]"),
    ([object()], r"is not a callback instance.*Derive it from deeplearner.Callback"),
    ([Callback], r"is not a callback instance"),
])
def test_callbacks_mistakes(callbacks, message):
    with pytest.raises(TypeError, match=message):
        model().fit(X, y, verbose=0, callbacks=callbacks)


def test_a_callback_may_define_only_the_hook_it_needs():
    class Counter:
        epochs = 0

        def on_epoch_end(self, model, epoch, logs):
            Counter.epochs += 1
    model().fit(X, y, epochs=3, verbose=0, callbacks=[Counter()])
    assert Counter.epochs == 3


def test_set_weights_wants_what_get_weights_gives():
    with pytest.raises(TypeError, match=r"set_weights expects what get_weights\(\) returns"):
        model().set_weights([np.zeros(3)] * 4)


def test_transposed_labels_are_named_as_such():
    with pytest.raises(ValueError, match=r"y has shape \(1, 30\): one row of 30 labels, it looks transposed\. "
                                         r"Pass y\.ravel\(\)"):
        model().fit(X, y.reshape(1, -1), verbose=0)


def test_boolean_and_float_labels_come_back_as_given():
    labels = y == 1
    m = Sequential([Dense(5), Activation("relu"), Dense(2), Activation("softmax")], SGD(learning_rate=0.5),
                   CrossEntropyForSoftMax(), input_shape=4, seed=0)
    m.fit(X, labels, epochs=3, verbose=0)
    assert m.predict(X).dtype == bool
    m = model()
    m.fit(X, (y + 1).astype(float), epochs=2, verbose=0)
    assert m.predict(X).dtype == np.float64 and set(m.predict(X)) <= {1.0, 2.0, 3.0}


def test_a_loss_written_without_takes_logits_works():
    class L1:
        def forward(self, Y_pred, T):
            self.diff = Y_pred - T
            return float(np.abs(self.diff).mean())

        def backward(self):
            return np.sign(self.diff) / self.diff.size
    m = Sequential([Dense(4), Activation("tanh"), Dense(2)], SGD(learning_rate=0.1), L1(), input_shape=4, seed=0)
    history = m.fit(X, rng.normal(size=(30, 2)), epochs=2, verbose=0)
    assert len(history["loss"]) == 2


def test_a_string_label_for_a_one_output_regression_is_refused():
    m = Sequential([Dense(1)], SGD(), MeanSquaredError(), input_shape=4)
    with pytest.raises(TypeError, match=r"y holds <U\d+ values, but a model with one output unit predicts one number"):
        m.fit(X, np.array(["a", "b", "c"] * 10), verbose=0)


def test_a_run_stopped_early_still_logs_its_last_epoch(capsys):
    reporter = ProgressReporter(epochs=100, verbose=1)
    for epoch in (1, 2, 3):
        reporter.epoch_end(epoch, {"loss": 1.0 / epoch})
    reporter.close()
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch")]
    assert lines == ["Epoch 1/100 - training loss 1.0000", "Epoch 3/100 - training loss 0.3333"]


def test_batchnorm_model_refuses_batchsize_1_before_any_step():
    m = Sequential([Dense(5), BatchNorm(), Activation("relu"), Dense(3), Activation("softmax")],
                   SGD(), CrossEntropyForSoftMax(), input_shape=4, seed=0)
    before = m.get_weights()
    with pytest.raises(ValueError, match=r"BatchNorm \(layer 1\) needs at least 2 samples per batch"):
        m.fit(X, y, batch_size=1, verbose=0)
    for expected, got in zip(before, m.get_weights()):
        for key in expected:
            np.testing.assert_array_equal(got[key], expected[key])

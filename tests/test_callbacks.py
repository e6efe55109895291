"""EarlyStopping: when it stops, which epoch it keeps, and what it restores."""

import numpy as np
import pytest

from deeplearner import SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, EarlyStopping, Sequential


class ScriptedModel:
    """Just enough of a model for a callback: weights are a counter of the epoch they came from."""

    def __init__(self):
        self.epoch, self.stop_training, self.history_ = 0, False, {"loss": []}

    def get_weights(self):
        return [{"epoch": np.array(self.epoch)}]

    def set_weights(self, weights):
        self.epoch = int(weights[0]["epoch"])


def run(callback, values, key="val_loss"):
    model = ScriptedModel()
    model.history_.setdefault(key, [])   # as fit does: every key it will log exists from the start
    callback.on_train_begin(model)
    for epoch, value in enumerate(values, start=1):
        model.epoch = epoch
        model.history_["loss"].append(value)
        callback.on_epoch_end(model, epoch, {key: value, "loss": value})
        if model.stop_training:
            break
    callback.on_train_end(model)
    return model


def test_stops_after_patience_epochs_without_improvement_and_restores_the_best():
    stopper = EarlyStopping(patience=2)
    model = run(stopper, [1.0, 0.8, 0.9, 0.85, 0.7])
    assert stopper.stopped_epoch == 4            # epochs 3 and 4 did not beat 0.8
    assert stopper.best_epoch == 2 and stopper.best == 0.8
    assert model.epoch == 2                      # the weights of epoch 2 were put back


def test_patience_zero_stops_at_the_first_epoch_without_improvement():
    stopper = EarlyStopping(patience=0)
    run(stopper, [1.0, 0.9, 0.95, 0.5])
    assert stopper.stopped_epoch == 3


def test_min_delta_demands_a_real_improvement():
    stopper = EarlyStopping(patience=1, min_delta=0.05)
    run(stopper, [1.0, 0.97, 0.96])
    assert stopper.stopped_epoch == 2 and stopper.best_epoch == 1


def test_accuracy_is_maximized_in_auto_mode():
    stopper = EarlyStopping(monitor="val_accuracy", patience=1)
    run(stopper, [0.5, 0.7, 0.6, 0.9], key="val_accuracy")
    assert stopper.stopped_epoch == 3 and stopper.best == 0.7


def test_no_restore_when_the_last_epoch_is_the_best_or_when_asked_not_to():
    model = run(EarlyStopping(patience=5), [1.0, 0.9, 0.8])
    assert model.epoch == 3
    model = run(EarlyStopping(patience=0, restore_best_weights=False), [1.0, 1.1])
    assert model.epoch == 2


def test_unknown_monitor_names_what_fit_logs():
    with pytest.raises(ValueError, match=r"monitor='val_loss'.*Pass validation data"):
        run(EarlyStopping(), [1.0], key="loss")


def test_unknown_monitor_is_reported_by_fit_before_the_first_epoch():
    """fit creates the history's keys before on_train_begin, so no epoch is spent on a typo."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 4)), np.arange(30) % 3
    model = Sequential([Dense(5), Activation("relu"), Dense(3), Activation("softmax")],
                       SGD(learning_rate=0.1), CrossEntropyForSoftMax(), input_shape=4, seed=0)
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"EarlyStopping: monitor='val_acc', but fit logs only \['accuracy', "
                                         r"'loss', 'lr', 'val_accuracy', 'val_loss'\]\. Did you mean "
                                         r"monitor='val_accuracy'\?$"):
        model.fit(X, y, X, y, epochs=3, verbose=0, callbacks=[EarlyStopping(monitor="val_acc")])
    with pytest.raises(ValueError, match=r"monitor='val_loss', but fit logs only \['accuracy', 'loss', 'lr'\]"):
        model.fit(X, y, epochs=3, verbose=0, callbacks=[EarlyStopping()])       # no validation data
    assert model.history_["loss"] == []
    assert all(np.array_equal(a[key], b[key]) for a, b in zip(before, model.get_weights()) for key in a)


@pytest.mark.parametrize("kwargs, message", [
    ({"monitor": 5}, r"monitor must be the name of a metric, a str such as 'val_loss' or 'val_accuracy', "
                     r"received monitor=5\."),
    ({"patience": -1}, r"patience must be an integer >= 0, received patience=-1\."),
    ({"patience": 2.0}, r"patience must be an integer >= 0, received patience=2\.0\."),
    ({"min_delta": -0.1}, r"min_delta must be a finite number >= 0, received min_delta=-0\.1\."),
    ({"min_delta": float("nan")}, r"min_delta must be a finite number >= 0, received min_delta=nan\."),
    ({"min_delta": float("inf")}, r"min_delta must be a finite number >= 0, received min_delta=inf\."),
    ({"mode": "up"}, r"mode must be 'auto', 'min' or 'max', received mode='up'\."),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=r"EarlyStopping: " + message):
        EarlyStopping(**kwargs)


def test_a_numpy_integer_patience_is_accepted():
    stopper = EarlyStopping(patience=np.int64(2))
    assert stopper.patience == 2 and type(stopper.patience) is int


def test_fit_restores_the_best_epoch_including_batchnorm_statistics():
    rng = np.random.default_rng(0)
    y = np.arange(300) % 3
    X = rng.normal(size=(300, 6)) + 1.5 * y[:, None]
    model = Sequential([Dense(64), BatchNorm(), Activation("relu"), Dense(3), Activation("softmax")],
                       SGD(learning_rate=0.5, momentum=0.9), CrossEntropyForSoftMax(), input_shape=6, seed=3)
    stopper = EarlyStopping(patience=3)
    history = model.fit(X[:100], y[:100], X[100:], y[100:], epochs=200, batch_size=20, verbose=0,
                        callbacks=[stopper])
    assert stopper.stopped_epoch is not None and len(history["loss"]) == stopper.stopped_epoch
    best = int(np.argmin(history["val_loss"]))
    assert stopper.best_epoch == best + 1
    # Evaluating the restored model reproduces the best epoch's validation loss exactly, which
    # needs the BatchNorm running statistics of that epoch as well as its weights.
    loss, accuracy = model.evaluate(X[100:], y[100:])
    assert loss == history["val_loss"][best] and accuracy == history["val_accuracy"][best]

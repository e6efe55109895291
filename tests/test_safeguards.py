"""Nothing a user trained is lost: divergence rolls back, Ctrl-C stops between batches."""

import os
import signal

import numpy as np
import pytest

from deeplearner import (SGD, Activation, BatchNorm, Callback, CrossEntropyForSoftMax, Dense, Layer,
                         MeanSquaredError, Sequential, TrainingDivergedError)


def divergent_regression(seed=0):
    """A regression with large inputs and a learning rate far too high: the loss overflows."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(100, 5)) * 10
    y = X @ rng.normal(size=(5, 1))
    model = Sequential([Dense(8), BatchNorm(), Activation("tanh"), Dense(1)],
                       SGD(learning_rate=1.0, momentum=0.9), MeanSquaredError(), input_shape=5, seed=seed)
    return model, X, y


def test_divergence_raises_and_rolls_back_to_the_weights_of_the_last_finite_loss():
    model, X, y = divergent_regression()
    with pytest.raises(TrainingDivergedError, match=r"epoch \d+, batch \d+.*Lower the learning rate"):
        with np.errstate(all="ignore"):
            model.fit(X, y, epochs=200, batch_size=20, shuffle=False, verbose=0)

    # Replay the same run by hand: same seed, same batches in order, one train_on_batch each.
    # Record the weights before every step; the loss of step k comes from the weights before it.
    twin, _, _ = divergent_regression()
    before, losses = [], []
    with np.errstate(all="ignore"):
        while not losses or np.isfinite(losses[-1]):
            start = 20 * (len(losses) % 5)
            before.append(twin.get_weights())
            losses.append(twin.train_on_batch(X[start:start + 20], y[start:start + 20]))
    expected = before[-2]                       # the weights that produced the last finite loss
    for layer_expected, layer_got in zip(expected, model.get_weights()):
        for key in layer_expected:
            np.testing.assert_array_equal(layer_got[key], layer_expected[key], err_msg=key)
    assert np.isfinite(model.predict(X)).all()
    assert model.optimizer.state == {}          # momentum from the diverging run is dropped
    assert len(model.history_["loss"]) == len(losses) // 5   # the finished epochs are kept


class SendCtrlC(Callback):
    def __init__(self, at_epoch):
        self.at_epoch = at_epoch

    def on_epoch_end(self, model, epoch, logs):
        if epoch == self.at_epoch:
            os.kill(os.getpid(), signal.SIGINT)


def classification_model(seed=0):
    return Sequential([Dense(16), BatchNorm(), Activation("relu"), Dense(3), Activation("softmax")],
                      SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(),
                      input_shape=4, seed=seed)


def blobs(n=90, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    return rng.normal(size=(n, 4)) + 2 * y[:, None], y


def test_ctrl_c_returns_the_history_of_finished_epochs_and_keeps_training_possible(capsys):
    X, y = blobs()
    model = classification_model()
    history = model.fit(X, y, epochs=20, batch_size=30, verbose=0, callbacks=[SendCtrlC(at_epoch=3)])
    assert len(history["loss"]) == 3
    assert "interrupted by Ctrl-C" in capsys.readouterr().err
    assert np.isfinite(model.predict_proba(X)).all()
    history = model.fit(X, y, epochs=2, batch_size=30, verbose=0)     # the handler was put back
    assert len(history["loss"]) == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class CountingSGD(SGD):
    steps = 0

    def step(self, params, grads):
        CountingSGD.steps += 1
        super().step(params, grads)


class CtrlCInBackward(Layer):
    """Identity layer that sends Ctrl-C from inside its backward pass, ``times`` times in a row."""

    def __init__(self, at_call, times=1):
        super().__init__()
        self.calls, self.at_call, self.times = 0, at_call, times

    def forward(self, X, training=True):
        return X

    def backward(self, dY):
        self.calls += 1
        if self.calls == self.at_call:
            for _ in range(self.times):
                os.kill(os.getpid(), signal.SIGINT)
        return dY


def test_first_ctrl_c_inside_a_step_lets_the_step_finish():
    X, y = blobs()
    probe = CtrlCInBackward(at_call=5)
    CountingSGD.steps = 0
    model = Sequential([Dense(8), probe, Activation("relu"), Dense(3), Activation("softmax")],
                       CountingSGD(learning_rate=0.1), CrossEntropyForSoftMax(),
                       input_shape=4, seed=0)
    model.fit(X, y, epochs=10, batch_size=30, verbose=0)
    assert probe.calls == 5 and CountingSGD.steps == 5     # the interrupted step was applied whole
    assert len(model.history_["loss"]) == 1                # epoch 2 was cut short and not recorded


class RecordingSGD(SGD):
    """SGD that keeps a copy of every parameter after each step it takes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.after_step = []

    def step(self, params, grads):
        super().step(params, grads)
        self.after_step.append({key: value.copy() for key, value in params.items()})


class CtrlCMidUpdate(RecordingSGD):
    """In its fifth step, updates the first parameter, then gets Ctrl-C twice: a step cut in half."""

    def step(self, params, grads):
        if len(self.after_step) == 4:
            first = next(iter(params))
            super(RecordingSGD, self).step({first: params[first]}, grads)
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)      # the second one raises KeyboardInterrupt here
        super().step(params, grads)


def test_second_ctrl_c_stops_at_once_and_puts_back_the_start_of_the_cut_step():
    X, y = blobs()
    optimizer = CtrlCMidUpdate(learning_rate=0.1)
    model = Sequential([Dense(8), Activation("relu"), Dense(3), Activation("softmax")],
                       optimizer, CrossEntropyForSoftMax(), input_shape=4, seed=0)
    history = model.fit(X, y, epochs=10, batch_size=30, verbose=0)
    # The fifth step changed one array and was cut: the model goes back to where that step
    # started, the weights after the fourth step, so no array is left half a step ahead.
    assert len(optimizer.after_step) == 4 and len(history["loss"]) == 1
    params, _ = model.parameters()
    for key, value in optimizer.after_step[-1].items():
        np.testing.assert_array_equal(params[key], value, err_msg=key)


def test_ctrl_c_between_epochs_takes_no_further_step():
    X, y = blobs()
    optimizer = RecordingSGD(learning_rate=0.1)
    model = Sequential([Dense(8), Activation("relu"), Dense(3), Activation("softmax")],
                       optimizer, CrossEntropyForSoftMax(), input_shape=4, seed=0)
    history = model.fit(X, y, epochs=10, batch_size=30, verbose=0, callbacks=[SendCtrlC(at_epoch=2)])
    assert len(history["loss"]) == 2 and len(optimizer.after_step) == 6     # 3 steps per epoch


def test_weights_that_blow_up_in_the_last_step_are_rolled_back():
    """Only the next batch's loss would notice; fit checks the weights after every epoch too."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.arange(40) % 2
    optimizer = RecordingSGD(learning_rate=1e300)           # beyond float32: the step writes inf
    model = Sequential([Dense(4), Activation("relu"), Dense(2), Activation("softmax")],
                       optimizer, CrossEntropyForSoftMax(), input_shape=3, seed=0, dtype=np.float32)
    initial = model.get_weights()
    with pytest.raises(TrainingDivergedError, match="after the last batch of epoch 1 the weights became NaN"):
        with np.errstate(all="ignore"):
            model.fit(X, y, epochs=1, batch_size=40, verbose=0)
    assert len(optimizer.after_step) == 1                     # one step, which produced the huge weights
    for expected, got in zip(initial, model.get_weights()):   # back to the weights of the only finite loss
        for key in expected:
            np.testing.assert_array_equal(got[key], expected[key])
    assert np.isfinite(model.predict_proba(X)).all()

"""Learning-rate schedules: each rate against its formula, the rate really used, history["lr"], saving."""

import numpy as np
import pytest

from deeplearner import (SGD, Activation, BatchNorm, Callback, CrossEntropyForSoftMax, Dense, ExponentialDecay,
                         ReduceLROnPlateau, Sequential, StepDecay, load_model)


def data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)


def model(learning_rate=0.2, momentum=0.0, seed=0):
    return Sequential([Dense(6), BatchNorm(), Activation("tanh"), Dense(3), Activation("softmax")],
                      SGD(learning_rate=learning_rate, momentum=momentum), CrossEntropyForSoftMax(),
                      input_shape=4, seed=seed)


def assert_same_weights(a, b):
    for layer_a, layer_b in zip(a.get_weights(), b.get_weights()):
        for key in layer_a:
            np.testing.assert_array_equal(layer_a[key], layer_b[key])


class RateAtEachStep(Callback):
    """The optimizer's rate as each batch begins: what the steps really use."""

    def __init__(self):
        self.rates = []

    def on_batch_begin(self, model, batch):
        self.rates.append(model.optimizer.learning_rate)


# ---------------------------------------------------------------- the formulas, by hand
def test_step_decay_halves_the_rate_every_3_epochs():
    X, y = data()
    seen = RateAtEachStep()
    history = model(0.2).fit(X, y, epochs=7, batch_size=30, verbose=0, callbacks=[StepDecay(0.5, every=3), seen])
    # lr_e = 0.2 * 0.5 ** floor(e / 3), e = 0..6
    assert history["lr"] == [0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05]
    assert seen.rates == [rate for rate in history["lr"] for _ in range(2)]    # 2 batches per epoch


def test_exponential_decay_multiplies_the_rate_every_epoch():
    X, y = data()
    history = model(0.2).fit(X, y, epochs=4, batch_size=60, verbose=0, callbacks=[ExponentialDecay(0.9)])
    # lr_e = 0.2 * 0.9 ** e
    np.testing.assert_allclose(history["lr"], [0.2, 0.18, 0.162, 0.1458], rtol=1e-12)


def test_initial_learning_rate_overrides_the_optimizers():
    X, y = data()
    history = model(0.2).fit(X, y, epochs=3, batch_size=60, verbose=0,
                             callbacks=[StepDecay(0.1, every=1, initial_learning_rate=1.0)])
    np.testing.assert_allclose(history["lr"], [1.0, 0.1, 0.01], rtol=1e-12)


def test_a_schedule_trains_exactly_like_setting_the_rate_by_hand():
    X, y = data()
    scheduled, by_hand = model(0.2, momentum=0.9), model(0.2, momentum=0.9)
    scheduled.fit(X, y, epochs=6, batch_size=20, verbose=0, callbacks=[StepDecay(0.5, every=2)])
    for rate in (0.2, 0.1, 0.05):
        by_hand.optimizer.learning_rate = rate
        by_hand.fit(X, y, epochs=2, batch_size=20, verbose=0)
    assert_same_weights(scheduled, by_hand)
    assert scheduled.optimizer.learning_rate == 0.05


def test_the_same_schedule_object_continues_across_fit_calls():
    X, y = data()
    net, schedule = model(0.2), StepDecay(0.5, every=2)
    first = net.fit(X, y, epochs=3, batch_size=60, verbose=0, callbacks=[schedule])
    second = net.fit(X, y, epochs=3, batch_size=60, verbose=0, callbacks=[schedule])
    assert first["lr"] + second["lr"] == [0.2, 0.2, 0.1, 0.1, 0.05, 0.05]
    assert schedule.epoch == 6 and schedule.initial_learning_rate == 0.2


def test_without_a_schedule_history_lr_is_the_constant_rate():
    X, y = data()
    assert model(0.3).fit(X, y, X, y, epochs=3, batch_size=60, verbose=0)["lr"] == [0.3, 0.3, 0.3]


# ---------------------------------------------------------------- ReduceLROnPlateau, on scripted metrics
class ScriptedModel:
    def __init__(self, rate):
        self.optimizer = SGD(learning_rate=rate)
        self.history_ = {"loss": [], "val_loss": [], "val_accuracy": []}


def run_plateau(callback, values, key="val_loss", rate=1.0):
    scripted = ScriptedModel(rate)
    callback.on_train_begin(scripted)
    rates = []
    for epoch, value in enumerate(values, start=1):
        callback.on_epoch_end(scripted, epoch, {key: value})
        rates.append(scripted.optimizer.learning_rate)
    return rates


def test_plateau_lowers_the_rate_after_patience_epochs_without_improvement():
    plateau = ReduceLROnPlateau(factor=0.5, patience=2, min_delta=0.01)
    #        epoch:     1    2    3      4     5    6    7    8
    rates = run_plateau(plateau, [1.0, 0.8, 0.795, 0.81, 0.7, 0.7, 0.7, 0.7])
    # 3: 0.795 is not 0.01 better than 0.8 (wait 1); 4: wait 2 -> 0.5, wait 0; 5: 0.7 improves;
    # 6, 7: wait 1, 2 -> 0.25; 8: wait 1.
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    assert plateau.reductions == [(4, 0.5), (7, 0.25)]
    assert plateau.describe() == ("ReduceLROnPlateau lowered the learning rate 2 times: to 0.5 after epoch 4, "
                                  "0.25 after epoch 7.")


def test_plateau_never_goes_below_min_lr_and_watches_accuracies_going_up():
    plateau = ReduceLROnPlateau(monitor="val_accuracy", factor=0.1, patience=1, min_lr=0.05)
    rates = run_plateau(plateau, [0.5, 0.6, 0.6, 0.55, 0.7, 0.6], key="val_accuracy")
    assert rates == [1.0, 1.0, 0.1, 0.05, 0.05, 0.05]      # the 6th would be 0.005: held at min_lr, no reduction
    assert plateau.reductions == [(3, 0.1), (4, 0.05)]


def test_plateau_in_fit_logs_the_lowered_rate():
    X, y = data()
    history = model(0.2).fit(X, y, epochs=5, batch_size=60, verbose=0,
                             callbacks=[ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0)])
    # min_delta=10: no epoch counts as an improvement after the first, so every epoch halves the rate.
    np.testing.assert_allclose(history["lr"], [0.2, 0.2, 0.1, 0.05, 0.025])


def test_plateau_reports_a_monitor_fit_does_not_log_before_training():
    X, y = data()
    net = model()
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau: monitor='val_loss', but fit logs only "
                                         r"\['accuracy', 'loss', 'lr'\]\. Pass validation data"):
        net.fit(X, y, epochs=2, verbose=0, callbacks=[ReduceLROnPlateau()])
    assert net.history_["loss"] == []


# ---------------------------------------------------------------- saving
def test_a_model_trained_with_a_schedule_saves_its_current_rate_and_the_schedule_resumes(tmp_path):
    X, y = data()
    uninterrupted = model(0.2, momentum=0.9)
    uninterrupted.fit(X, y, epochs=6, batch_size=20, verbose=0, callbacks=[StepDecay(0.5, every=2)])

    first, schedule = model(0.2, momentum=0.9), StepDecay(0.5, every=2)
    history = first.fit(X, y, epochs=3, batch_size=20, verbose=0, callbacks=[schedule])
    first.save(tmp_path / "m.npz")
    config = schedule.get_config()
    assert config == {"drop": 0.5, "every": 2, "initial_learning_rate": 0.2, "initial_epoch": 3}

    loaded = load_model(tmp_path / "m.npz")
    assert loaded.optimizer.learning_rate == 0.1                # the rate of the last epoch run
    assert loaded.history_["lr"] == history["lr"] == [0.2, 0.2, 0.1]
    loaded.fit(X, y, epochs=3, batch_size=20, verbose=0, callbacks=[StepDecay(**config)])
    assert loaded.history_["lr"] == [0.1, 0.05, 0.05]
    assert_same_weights(loaded, uninterrupted)


def test_a_rate_lowered_by_plateau_is_saved(tmp_path):
    X, y = data()
    net = model(0.2)
    net.fit(X, y, epochs=3, batch_size=60, verbose=0,
            callbacks=[ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0)])
    net.save(tmp_path / "m.npz")
    assert load_model(tmp_path / "m.npz").optimizer.learning_rate == 0.05


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("make, message", [
    (lambda: StepDecay(drop=1.5), r"StepDecay: drop must be a number in \(0, 1\), received drop=1.5\. "
                                  r"Example: StepDecay\(drop=0.5, every=10\) halves the rate every 10 epochs\."),
    (lambda: StepDecay(drop=0), r"received drop=0\."),
    (lambda: StepDecay(every=0), r"StepDecay: every must be an integer >= 1, received every=0\."),
    (lambda: StepDecay(every=2.5), r"received every=2.5\."),
    (lambda: StepDecay(initial_learning_rate=-1), r"StepDecay: initial_learning_rate must be a positive number, "
                                                  r"received initial_learning_rate=-1\."),
    (lambda: ExponentialDecay(1.0), r"ExponentialDecay: decay_rate must be a number in \(0, 1\), "
                                    r"received decay_rate=1.0\."),
    (lambda: ExponentialDecay(initial_epoch=-1), r"ExponentialDecay: initial_epoch must be an integer >= 0, "
                                                 r"received initial_epoch=-1\."),
    (lambda: ReduceLROnPlateau(factor=1), r"ReduceLROnPlateau: factor must be a number in \(0, 1\), "
                                          r"received factor=1\. Example: factor=0.1 divides the rate by 10\."),
    (lambda: ReduceLROnPlateau(patience=0), r"ReduceLROnPlateau: patience must be an integer >= 1, "
                                            r"received patience=0\."),
    (lambda: ReduceLROnPlateau(min_lr=-0.1), r"ReduceLROnPlateau: min_lr must be a number in \[0, inf\), "
                                             r"received min_lr=-0.1\."),
    (lambda: ReduceLROnPlateau(min_delta=float("nan")), r"received min_delta=nan\."),
    (lambda: ReduceLROnPlateau(mode="up"), r"ReduceLROnPlateau: mode must be 'auto', 'min' or 'max', "
                                           r"received mode='up'\."),
    (lambda: ReduceLROnPlateau(monitor=3), r"ReduceLROnPlateau: monitor must be the name of a metric"),
])
def test_constructor_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_an_optimizer_without_a_learning_rate_is_reported():
    class NoRate:
        def step(self, params, grads):
            pass
    X, y = data()
    net = Sequential([Dense(3), Activation("softmax")], NoRate(), CrossEntropyForSoftMax(), input_shape=4)
    with pytest.raises(TypeError, match=r"StepDecay: the optimizer NoRate has no number learning_rate to change"):
        net.fit(X, y, epochs=1, verbose=0, callbacks=[StepDecay()])

"""A batch split between threads (deeplearner/parallel/replicas.py) gives the one-thread step, up to rounding."""

import copy
import multiprocessing
import os
import pickle
import threading

import numpy as np
import pytest
from helpers import SelfTrainingScale, split_step

from deeplearner import (SGD, Activation, AvgPool2D, BatchNorm, Conv2D, CrossEntropyForSoftMax, Dense, Dropout,
                         Flatten, MaxPool2D, MeanSquaredError, Sequential)
from deeplearner.parallel import replicas as replicas_module
from deeplearner.parallel.replicas import Replicas, can_split

IMAGE = (2, 6, 6)


def cnn(loss="cross_entropy", seed=0, extra=(), dtype=np.float64):
    """Every built-in layer kind: per-channel and flat BatchNorm, both pools, Dropout, Flatten."""
    layers = [Conv2D(3, 3, padding=1), BatchNorm(), Activation("relu"), MaxPool2D(2), Dropout(0.3),
              Conv2D(4, 2), BatchNorm(), Activation("tanh"), AvgPool2D(2), Flatten(), *extra,
              Dense(5), BatchNorm()]
    if loss == "cross_entropy":
        layers.append(Activation("softmax"))
    return Sequential(layers, SGD(learning_rate=0.1, momentum=0.9),
                      CrossEntropyForSoftMax() if loss == "cross_entropy" else MeanSquaredError(),
                      input_shape=IMAGE, seed=seed, dtype=dtype)


def batch(n, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, *IMAGE))
    T = np.eye(5)[rng.integers(0, 5, n)]
    return X, T


def count_split_steps(monkeypatch):
    """A list that gets the batch size of every step that really runs split (two or more parts)."""
    steps, real = [], Replicas.forward_backward
    monkeypatch.setattr(Replicas, "forward_backward", lambda self, X, T: steps.append(len(X)) or real(self, X, T))
    return steps


def everything(model):
    """Every number the step changes: parameters, gradients, running statistics, momentum, the generator."""
    arrays = {f"{i}.{kind}.{name}": value for i, layer in enumerate(model.layers)
              for kind in ("params", "grads", "buffers") for name, value in getattr(layer, kind, {}).items()}
    arrays.update({f"velocity.{key}": value for key, value in model.optimizer.state.get("velocity", {}).items()})
    return arrays, model.rng.bit_generator.state


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("n, parts", [(10, 2), (37, 3), (7, 2), (3, 3), (2, 3)])
def test_a_split_step_is_the_one_thread_step_up_to_rounding(loss, n, parts):
    alone, split = cnn(loss), cnn(loss)
    replicas = Replicas(split, parts, min_rows=1)
    for step in range(3):
        X, T = batch(n, seed=step)
        loss_alone, output_alone = alone.train_step(X, T)
        loss_split, output_split = split_step(replicas, X, T)
        assert loss_split == pytest.approx(loss_alone, rel=1e-13)
        np.testing.assert_allclose(output_split, output_alone, rtol=1e-12, atol=1e-14)
    (arrays_alone, rng_alone), (arrays_split, rng_split) = everything(alone), everything(split)
    assert arrays_alone.keys() == arrays_split.keys() and len(arrays_alone) > 20
    for key in arrays_alone:
        np.testing.assert_allclose(arrays_split[key], arrays_alone[key], rtol=1e-11, atol=1e-13, err_msg=key)
    assert rng_split == rng_alone            # Dropout drew its masks once per batch, as one thread does


def test_float32_stays_float32_and_agrees_with_one_thread():
    alone, split = cnn(dtype=np.float32), cnn(dtype=np.float32)
    replicas = Replicas(split, 2, min_rows=1)
    X, T = (A.astype(np.float32) for A in batch(20))
    loss_alone, output_alone = alone.train_step(X, T)
    loss_split, output_split = split_step(replicas, X, T)
    assert output_split.dtype == np.float32 and loss_split == pytest.approx(loss_alone, rel=1e-5)
    np.testing.assert_allclose(output_split, output_alone, rtol=1e-4, atol=1e-6)
    for a, b in zip(alone.layers, split.layers):
        for name in a.params:
            assert b.params[name].dtype == b.grads[name].dtype == np.float32
            np.testing.assert_allclose(b.grads[name], a.grads[name], rtol=1e-3, atol=1e-5)


def test_a_part_normalized_with_its_own_statistics_would_be_caught():
    """The test above can fail: BatchNorm replicas that skipped the exchange give other numbers."""
    alone, split = cnn(), cnn()
    replicas = Replicas(split, 2, min_rows=1)
    for layers in replicas.layers:
        for twin in layers:
            if isinstance(twin, BatchNorm):
                twin.forward = lambda X, training=True, twin=twin: BatchNorm.forward(_alone(twin), X, training)
    X, T = batch(10)
    _, output_alone = alone.train_step(X, T)
    _, output_split = split_step(replicas, X, T)
    assert not np.allclose(output_split, output_alone, rtol=1e-3)


def _alone(twin):
    vars(twin).pop("whole_batch", None)      # as if this replica's rows were the whole batch
    return twin


def test_inference_is_split_too_and_gives_the_same_numbers():
    model = cnn()
    model.fit(*batch(40), epochs=2, batch_size=10, verbose=0, threads=1)
    X, _ = batch(25, seed=7)
    serial = model.predict_proba(X)
    np.testing.assert_allclose(model.infer(X, split=Replicas(model, 3, min_rows=1)), serial, rtol=1e-13, atol=1e-15)
    # 25 rows: too few to split, the model's own layers on one thread
    np.testing.assert_array_equal(model.infer(X, split=Replicas(model, 3)), serial)


def test_fit_on_two_threads_learns_what_fit_on_one_learns_and_drops_its_replicas(monkeypatch):
    X, T = batch(160)
    y = T.argmax(axis=1)
    one, two = cnn(seed=5), cnn(seed=5)
    steps = count_split_steps(monkeypatch)
    history_one = one.fit(X, y, X[:70], y[:70], epochs=3, batch_size=64, verbose=0, threads=1)
    assert steps == []
    history_two = two.fit(X, y, X[:70], y[:70], epochs=3, batch_size=64, verbose=0, threads=2)
    assert steps == [64, 32] + [64, 64, 32] * 2     # the first step runs alone, checked (safeguards/first_step.py)
    for key in history_one:
        np.testing.assert_allclose(history_two[key], history_one[key], rtol=1e-10)
    for a, b in zip(one.layers, two.layers):
        for name in a.params:
            np.testing.assert_allclose(b.params[name], a.params[name], rtol=1e-10, atol=1e-13)
    assert not any(isinstance(value, Replicas) for value in vars(two).values())   # the model keeps none
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(two)).predict_proba(X), two.predict_proba(X))


def test_parts_of_fewer_than_32_rows_are_not_worth_it_and_the_batch_runs_on_one_thread(monkeypatch):
    model = cnn()
    alone, real = [], replicas_module.forward_backward

    def counted(layers, loss, X, T):
        if layers is model.body:          # the model's own layers: the batch ran whole
            alone.append(len(X))
        return real(layers, loss, X, T)

    monkeypatch.setattr(replicas_module, "forward_backward", counted)
    replicas = Replicas(model, 2)
    split_step(replicas, *batch(63))
    assert alone == [63] and all(twin.X_hat is None     # no replica ran
                                 for layers in replicas.layers for twin in layers if isinstance(twin, BatchNorm))
    split_step(replicas, *batch(64))
    assert alone == [63]
    assert all(twin.X_hat is not None    # both parts ran
               for layers in replicas.layers for twin in layers if isinstance(twin, BatchNorm))


def test_a_predict_inside_fit_hands_fit_its_replicas_back(monkeypatch):
    """A callback that predicts on many rows chooses threads for itself; fit then splits on."""
    from deeplearner import Callback

    class PredictEachEpoch(Callback):
        def on_epoch_end(self, model, epoch, logs):
            model.predict(X, threads=1)             # threads=1: this call splits nothing

    X, T = batch(128)
    model, steps = cnn(), count_split_steps(monkeypatch)
    model.fit(X, T.argmax(axis=1), epochs=3, batch_size=64, verbose=0, threads=2, callbacks=[PredictEachEpoch()])
    assert steps == [64] + [64, 64] * 2          # after each predict, the next epoch splits again


class Saver(object):
    """A callback that pickles and deep-copies the model in the middle of a split fit."""

    def __init__(self, steps):
        self.copies, self.steps = [], steps

    def on_epoch_end(self, model, epoch, logs):
        assert self.steps                                   # the fit is splitting right now
        self.copies += [pickle.loads(pickle.dumps(model)), copy.deepcopy(model)]


def test_a_model_pickled_or_copied_during_fit_leaves_the_replicas_behind(monkeypatch):
    X, T = batch(128)
    model, saver = cnn(), Saver(count_split_steps(monkeypatch))
    model.fit(X, T.argmax(axis=1), epochs=1, batch_size=64, verbose=0, threads=2, callbacks=[saver])
    for twin in saver.copies:
        assert not any(isinstance(value, Replicas) for value in vars(twin).values())
        np.testing.assert_allclose(twin.predict_proba(X), model.predict_proba(X), rtol=1e-12)
    assert len(pickle.dumps(saver.copies[0])) < 1.2 * len(pickle.dumps(model))


class Halve:
    """An activation function of one's own that keeps state between forward and backward."""

    name = "halve"

    def forward(self, X):
        self.mask = X > 0
        return np.where(self.mask, X, X / 2)

    def backward(self, X, Y, dY):
        return np.where(self.mask, dY, dY / 2)


def test_an_activation_function_of_your_own_runs_on_one_thread():
    assert can_split(cnn(extra=[Dense(6), Activation("leaky_relu")]))
    assert not can_split(cnn(extra=[Dense(6), Activation(Halve())]))


def test_a_hook_put_on_a_layer_by_a_callback_during_fit_is_honoured(monkeypatch):
    from deeplearner import Callback
    calls = []

    class Hook(Callback):
        def on_epoch_end(self, model, epoch, logs):
            layer = model.layers[2]
            own = layer.forward
            layer.forward = lambda X, training=True: calls.append(len(X)) or own(X, training)

    X, T = batch(128)
    model = cnn()
    model.fit(X, T.argmax(axis=1), epochs=2, batch_size=64, verbose=0, threads=2, callbacks=[Hook()])
    assert calls[:2] == [64, 64]                  # epoch 2 ran on one thread, through the hook


def _one_split_step_in_a_child(queue):
    model = cnn()
    queue.put(float(split_step(Replicas(model, 2, min_rows=1), *batch(10))[0]))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_makes_its_own_helper_threads():
    split_step(Replicas(cnn(), 2, min_rows=1), *batch(10))     # the parent's helpers exist now
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_one_split_step_in_a_child, args=(queue,))
    child.start()
    child.join(60)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive and child.exitcode == 0 and np.isfinite(queue.get(timeout=5))


def test_two_models_splitting_at_once_from_two_threads_both_finish():
    errors = []

    def train(seed):
        try:
            replicas = Replicas(cnn(seed=seed), 3, min_rows=1)
            for step in range(30):
                split_step(replicas, *batch(12, seed=step))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=train, args=(seed,), daemon=True) for seed in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads) and not errors


class MyDense(Dense):
    """A subclass: it may do anything, so it does not split unless it says so itself."""


class MySplittingDense(Dense):
    splits_batch = True


class MyLoss(CrossEntropyForSoftMax):
    pass


def test_only_convolutional_models_of_layers_that_say_so_split():
    assert can_split(cnn())
    mlp = Sequential([Dense(8), BatchNorm(), Activation("relu"), Dense(3), Activation("softmax")], SGD(),
                     CrossEntropyForSoftMax(), input_shape=4)
    assert not can_split(mlp)                              # BLAS's threads split its products better
    assert not can_split(cnn(extra=[MyDense(6)]))
    assert can_split(cnn(extra=[MySplittingDense(6)]))
    assert not can_split(cnn(extra=[Dense(8), SelfTrainingScale()]))   # the seed's style: it updates itself
    model = cnn()
    model.loss = MyLoss()
    assert not can_split(model)
    model = cnn()
    model.layers[2].forward = model.layers[2].forward      # a hook on one object: every replica would call it
    assert not can_split(model)


def test_a_model_that_cannot_split_runs_on_one_thread_with_threads_2(monkeypatch):
    model, steps = cnn(extra=[Dense(8), SelfTrainingScale()]), count_split_steps(monkeypatch)
    X, T = batch(64)
    model.fit(X, T.argmax(axis=1), epochs=2, batch_size=64, verbose=0, threads=2)
    assert steps == []


def finishes(function, seconds=20):
    """Run function on a thread; return what it raised (None if nothing), failing if it hangs."""
    outcome = {}

    def run():
        try:
            function()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "a part is still waiting for the others"
    return outcome.get("error")


@pytest.mark.parametrize("failing_part", [0, 1])
def test_an_error_in_any_part_reaches_the_caller_changes_nothing_and_hangs_nothing(failing_part):
    model = cnn()
    replicas = Replicas(model, 2, min_rows=1)
    before, _ = everything(model)
    params_before = {key: value.copy() for key, value in before.items() if ".params." in key}

    def boom(X, training=True):
        raise RuntimeError("boom in one part")

    replicas.layers[failing_part][0].forward = boom        # the other part waits in BatchNorm's exchange
    error = finishes(lambda: split_step(replicas, *batch(10)))
    assert isinstance(error, RuntimeError) and "boom in one part" in str(error)
    after, _ = everything(model)
    for key, value in params_before.items():
        np.testing.assert_array_equal(after[key], value)
    del replicas.layers[failing_part][0].forward          # the next step meets at a new barrier
    assert finishes(lambda: split_step(replicas, *batch(10))) is None


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")   # inf - inf, on purpose
def test_a_loss_that_is_not_finite_stops_every_part_before_backward():
    model = cnn()
    replicas = Replicas(model, 2, min_rows=1)
    X, T = batch(10)
    X[7] = np.inf                       # in the second part's rows; BatchNorm's totals spread it to all
    params_before = {key: value.copy() for key, value in everything(model)[0].items() if ".params." in key}
    result = {}
    assert finishes(lambda: result.update(step=split_step(replicas, X, T))) is None
    assert not np.isfinite(result["step"][0])
    after, _ = everything(model)
    for key, value in params_before.items():
        np.testing.assert_array_equal(after[key], value)

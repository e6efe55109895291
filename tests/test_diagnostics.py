"""Training that goes nowhere says so (a TrainingWarning naming the cause); healthy runs stay silent."""

import math
import warnings

import numpy as np
import pytest

from deeplearner import (SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, Layer, MeanSquaredError,
                         Sequential, TrainingWarning)
from deeplearner.datasets import load_digits

X_digits, y_digits = load_digits()
X, y = X_digits[:1000], y_digits[:1000]          # pixels in [0, 1]; 10 digits


def seed_network(batchnorm=False, hidden="relu", learning_rate=0.1, n_in=64, front=()):
    layers = list(front)
    for units in (100, 50):
        layers += [Dense(units)] + ([BatchNorm()] if batchnorm else []) + [Activation(hidden)]
    layers += [Dense(10)] + ([BatchNorm()] if batchnorm else []) + [Activation("softmax")]
    return Sequential(layers, SGD(learning_rate=learning_rate, momentum=0.9), CrossEntropyForSoftMax(),
                      input_shape=n_in, seed=0)


def warnings_of(model, X, y, epochs=20, batch_size=100):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0)
    return [w for w in caught if w.category is TrainingWarning], history


def test_training_warning_is_a_user_warning():
    assert issubclass(TrainingWarning, UserWarning)


# ---------------------------------------------------------------- the three runs of the issue
def test_a_huge_learning_rate_is_named_when_the_loss_explodes_but_stays_finite():
    caught, history = warnings_of(seed_network(learning_rate=1e6), X, y)
    assert len(caught) == 1
    loss = history["loss"][-1]
    assert math.isfinite(loss) and loss > 1e4
    ratio = loss / math.log(10)                  # against guessing each of the 10 classes with 1/10
    assert str(caught[0].message) == (
        f"Training went nowhere: the training loss ended at {loss:.3g}, {ratio:,.0f} times 2.3, the loss of a "
        f"model that guesses every class equally (training accuracy {history['accuracy'][-1]:.3f}). Steps this "
        f"large mean the learning rate is far too high (SGD learning_rate=1e+06): lower it, e.g. 100 times (SGD "
        f"usually works with 0.01 to 0.1, Adam with 0.001).")
    assert caught[0].filename == __file__       # it points at the call of fit, not into the library


def test_pixels_0_to_255_without_batchnorm_are_named():
    caught, history = warnings_of(seed_network(), X * 255, y)
    assert len(caught) == 1
    rms = math.sqrt(np.mean((X * 255) ** 2))
    assert rms > 10
    message = str(caught[0].message)
    assert message.startswith(f"The input features are far from unit scale: their root mean square is {rms:.3g} "
                              f"(X ranges from 0 to 255), and no BatchNorm normalizes them before or right after "
                              f"the first layer with weights, so that layer's outputs, and the steps on its "
                              f"weights, are about {rms:.0f} times larger than")
    assert "Scale the input, e.g. X / 255 for pixels" in message
    assert history["accuracy"][-1] < 0.2         # it did go nowhere


def test_a_softmax_as_hidden_activation_is_named():
    caught, history = warnings_of(seed_network(hidden="softmax"), X, y)
    assert len(caught) == 1
    chance = np.bincount(y).max() / len(y)       # always answering the most common digit
    assert str(caught[0].message) == (
        f"Training accuracy stayed near chance: at best {max(history['accuracy']):.3f} in 20 epochs, where always "
        f"answering the most common class scores {chance:.3f}. Layer 1 applies softmax as a hidden activation: "
        f"it squeezes the layer's outputs into probabilities that sum to 1, so each is tiny and the signal fades "
        f"layer by layer. Use Activation('relu') there; softmax belongs only at the output.")


def test_near_chance_is_measured_against_the_most_common_class():
    """90% of the labels are 0: a model that learns nothing scores up to 0.9, still chance."""
    rng = np.random.default_rng(1)
    X_noise, y_skewed = rng.standard_normal((400, 8)), (rng.random(400) < 0.1).astype(int)
    model = Sequential([Dense(2), Activation("softmax")], SGD(learning_rate=1e-9), CrossEntropyForSoftMax(),
                       input_shape=8, seed=0)
    caught, history = warnings_of(model, X_noise, y_skewed, epochs=5, batch_size=20)
    assert len(caught) == 1
    chance = np.bincount(y_skewed).max() / len(y_skewed)
    assert chance > 0.85 and max(history["accuracy"]) < chance + 0.05
    assert f"where always answering the most common class scores {chance:.3f}. The learning rate (SGD " \
           f"learning_rate=1e-09) may be far too high or too low: try it 10 times smaller and 10 times larger." \
           in str(caught[0].message)


def test_features_far_below_unit_scale_are_named_too():
    caught, _ = warnings_of(seed_network(), X * 1e-4, y, epochs=1)
    assert len(caught) == 1 and "times smaller than its initialization" in str(caught[0].message)


# ---------------------------------------------------------------- healthy runs stay silent
def silent(model, X, y, **fit):
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # any warning fails the test
        return model.fit(X, y, verbose=0, **fit)


@pytest.mark.parametrize("batchnorm", [True, False])
def test_the_seed_network_on_the_digits_is_silent(digits, batchnorm):
    X_train, X_valid, y_train, y_valid = digits
    history = silent(seed_network(batchnorm), X_train, y_train, X_valid=X_valid, y_valid=y_valid, epochs=30,
                     batch_size=100)
    assert history["val_accuracy"][-1] > 0.9


def test_unscaled_pixels_with_batchnorm_after_the_first_dense_are_silent():
    """BatchNorm right after the first Dense makes its output independent of the input's scale."""
    history = silent(seed_network(batchnorm=True), X * 255, y, epochs=20, batch_size=100)
    assert history["accuracy"][-1] > 0.95


def test_batchnorm_in_front_counts_as_normalization():
    history = silent(seed_network(front=[BatchNorm()]), X * 255, y, epochs=20, batch_size=100)
    assert history["accuracy"][-1] > 0.9


def test_a_seed_style_batchnorm_counts_too():
    class BathNorm(Layer):   # seed style: no params of its own, known by its name
        def __init__(self):
            pass

        def forward(self, X, training=True):
            return (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-5) if training else X

        def backward(self, dY):
            return dY

    model = Sequential([Dense(20), BathNorm(), Activation("relu"), Dense(10), Activation("softmax")], SGD(),
                       CrossEntropyForSoftMax(), input_shape=64, seed=0)
    silent(model, X * 255, y, epochs=1)


def test_standardized_features_and_short_runs_are_silent():
    standardized = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-8)
    silent(seed_network(), standardized, y, epochs=10, batch_size=100)
    silent(seed_network(learning_rate=1e-6), X, y, epochs=2, batch_size=100)   # at chance, but only 2 epochs


def test_a_healthy_regression_is_silent():
    rng = np.random.default_rng(0)
    X_reg = rng.standard_normal((200, 3))
    Y = X_reg @ np.array([[1.0], [-2.0], [0.5]])
    model = Sequential([Dense(8), Activation("tanh"), Dense(1)], SGD(learning_rate=0.05), MeanSquaredError(),
                       input_shape=3, seed=0)
    history = silent(model, X_reg, Y, epochs=30, batch_size=20)
    assert history["loss"][-1] < 0.1 * history["loss"][0]


def test_the_warning_can_be_silenced_like_any_other():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", TrainingWarning)
        seed_network(hidden="softmax").fit(X, y, epochs=20, batch_size=100, verbose=0)

"""layer.trainable: True by default on every layer; False freezes the parameters, not the training mode."""

import numpy as np

from deeplearner import SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, Layer, Sequential
from helpers import SelfTrainingScale


def test_trainable_is_a_documented_class_attribute_true_by_default():
    assert vars(Layer)["trainable"] is True
    assert "trainable : bool" in Layer.__doc__
    assert Dense(3).trainable is True and SelfTrainingScale().trainable is True


def test_a_frozen_layer_counts_its_parameters_as_non_trainable():
    layer = Dense(4)
    layer.build(3, np.random.default_rng(0), np.float64)
    assert layer.count_params() == (16, 0)           # 3 * 4 + 4
    layer.trainable = False
    assert layer.count_params() == (0, 16)


def test_freezing_keeps_the_optimizer_off_the_parameters_but_not_the_training_mode():
    """A frozen BatchNorm keeps gamma and beta, yet still updates its running statistics in training."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.arange(40) % 2
    model = Sequential([Dense(4), BatchNorm(), Activation("relu"), Dense(2), Activation("softmax")],
                       SGD(learning_rate=0.5), CrossEntropyForSoftMax(), input_shape=3, seed=0)
    frozen = model.layers[1]
    frozen.trainable = False
    gamma, beta, running_mean = (frozen.params["gamma"].copy(), frozen.params["beta"].copy(),
                                 frozen.running_mean.copy())
    W0 = model.layers[0].params["W"].copy()
    model.fit(X, y, epochs=2, batch_size=10, verbose=0)
    assert np.array_equal(frozen.params["gamma"], gamma) and np.array_equal(frozen.params["beta"], beta)
    assert not np.array_equal(frozen.running_mean, running_mean)     # training mode still on
    assert not np.array_equal(model.layers[0].params["W"], W0)       # the other layers still train

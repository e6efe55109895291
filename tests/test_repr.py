"""A model, a layer and a history print usefully; in Jupyter a model shows its summary as a table."""

import json
import pickle

import numpy as np
import pytest

import deeplearner
from deeplearner import (SGD, Activation, AvgPool2D, BatchNorm, Conv2D, CrossEntropyForSoftMax, Dense, Dropout,
                         Flatten, Layer, MaxPool2D, MeanSquaredError, Sequential)
from deeplearner.model.training import History


def seed_network():
    return Sequential([Dense(100), BatchNorm(), Activation("relu"), Dense(50), BatchNorm(), Activation("relu"),
                       Dense(10), BatchNorm(), Activation("softmax")],
                      SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(), input_shape=400, seed=0)


@pytest.mark.parametrize("layer, shown", [
    (Dense(100), "Dense(100)"),
    (Dense(10, init="he_normal"), "Dense(10, init='he_normal')"),
    (BatchNorm(), "BatchNorm()"),
    (BatchNorm(momentum=0.99), "BatchNorm(momentum=0.99)"),
    (Dropout(0.2), "Dropout(0.2)"),
    (Activation("relu"), "Activation('relu')"),
    (Conv2D(8, 3), "Conv2D(8, (3, 3))"),
    (Conv2D(8, (3, 5), stride=2, padding="same"), "Conv2D(8, (3, 5), stride=(2, 2), padding='same')"),
    (MaxPool2D(), "MaxPool2D()"),
    # stride follows pool_size by default, so both are spelled out: AvgPool2D(pool_size=(3, 3)) would pool by 3
    (AvgPool2D(3, stride=2), "AvgPool2D(pool_size=(3, 3), stride=(2, 2))"),
    (Flatten(), "Flatten()"),
])
def test_a_layer_prints_as_the_call_that_makes_it(layer, shown):
    assert repr(layer) == shown
    rebuilt = eval(shown, vars(deeplearner))   # and that call makes the same layer
    assert type(rebuilt) is type(layer) and rebuilt.get_config() == layer.get_config()


def test_a_layer_without_a_config_still_prints():
    class Swish:
        name = "swish"

        def forward(self, X):
            return X

        def backward(self, X, Y, dY):
            return dY

    assert repr(Activation(Swish())) == "<Activation 'swish'>"   # its get_config refuses: not saveable

    class Scale(Layer):   # a layer of one's own with the default get_config
        pass

    assert repr(Scale()) == "Scale()"


def test_a_model_prints_its_size_and_shapes():
    # parameters by hand: Dense 400*100 + 100, BatchNorm 4*100 (gamma, beta, two running statistics),
    # Dense 100*50 + 50, BatchNorm 4*50, Dense 50*10 + 10, BatchNorm 4*10
    total = 40_100 + 400 + 5_050 + 200 + 510 + 40
    assert total == 46_300
    assert repr(seed_network()) == "Sequential(9 layers, 46,300 parameters, input (400,), output (10,))"
    images = Sequential([Conv2D(4, 3), Flatten(), Dense(2), Activation("softmax")], SGD(), CrossEntropyForSoftMax(),
                        input_shape=(1, 5, 5), seed=0)
    # Conv2D: 4 filters of 1x3x3 + 4 biases = 40; Flatten: 4 x 3 x 3 = 36 features; Dense: 36*2 + 2
    assert repr(images) == "Sequential(4 layers, 114 parameters, input (1, 5, 5), output (2,))"


def test_weights_a_model_cannot_see_are_marked():
    class SeedStyle(Layer):
        def __init__(self):   # the seed's layers never call Layer.__init__: no params to count
            pass

        def forward(self, X, training=True):
            return X

        def backward(self, dY):
            return dY

    model = Sequential([Dense(3), SeedStyle()], SGD(), MeanSquaredError(), input_shape=2, seed=0)
    assert repr(model) == "Sequential(2 layers, 9+ parameters, input (2,), output (3,))"


def test_jupyter_shows_a_model_as_its_summary_table():
    page = seed_network()._repr_html_()
    assert page.startswith("<p><code>Sequential(9 layers, 46,300 parameters")
    assert page.count("<tr>") == 10                                       # a header and nine layers
    assert '<td style="text-align: left">(None, 400)</td>' in page
    assert '<td style="text-align: right">40,100</td>' in page
    assert "Total params: 46,300" in page and "Non-trainable params: 320" in page


def test_the_html_summary_escapes_names():
    class Angle(Layer):
        name = "<b>angle</b>"

    model = Sequential([Angle(), Dense(2)], SGD(), MeanSquaredError(), input_shape=2, seed=0)
    page = model._repr_html_()
    assert "<b>" not in page and "&lt;b&gt;angle&lt;/b&gt;" in page


def test_a_history_is_a_dict_that_prints_its_last_epoch():
    history = History(loss=[2.0, 1.0, 0.53125], accuracy=[0.3, 0.6, 0.8125])
    assert repr(history) == "History(3 epochs, last: loss=0.5312, accuracy=0.812)"
    assert isinstance(history, dict) and json.loads(json.dumps(history)) == dict(history)
    assert pickle.loads(pickle.dumps(history)) == history
    assert repr(History(loss=[], accuracy=[])) == "History(0 epochs)"
    assert repr(History(loss=[4.0], accuracy=[float("nan")])) == "History(1 epoch, last: loss=4)"   # regression


def test_fit_returns_a_history_kept_as_history_():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 4)), np.arange(40) % 2
    model = Sequential([Dense(2), Activation("softmax")], SGD(), CrossEntropyForSoftMax(), input_shape=4, seed=0)
    history = model.fit(X, y, X, y, epochs=2, verbose=0)
    assert type(history) is History and history is model.history_
    assert repr(history) == (f"History(2 epochs, last: loss={history['loss'][-1]:.4g}, "
                             f"accuracy={history['accuracy'][-1]:.3f}, val_loss={history['val_loss'][-1]:.4g}, "
                             f"val_accuracy={history['val_accuracy'][-1]:.3f}, lr=0.01)")

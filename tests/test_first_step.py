"""The first training step checks what every layer returns and names the one that breaks the contract."""

import os
import traceback

import numpy as np
import pytest

from deeplearner import (SGD, Activation, CrossEntropyForSoftMax, Dense, Layer, MeanSquaredError, Sequential)
from deeplearner.layers.base import ShapeError
from deeplearner.safeguards import first_step as guards

rng = np.random.default_rng(0)
X = rng.standard_normal((8, 4))
y = np.arange(8) % 2


class PassThrough(Layer):
    """A custom layer that is right: Y = X, dX = dY. Subclasses below break one thing each."""

    def forward(self, X, training=True):
        return X

    def backward(self, dY):
        return dY


def fit_with(layer, dtype=np.float64, **fit):
    model = Sequential([Dense(4), layer, Dense(2), Activation("softmax")], SGD(), CrossEntropyForSoftMax(),
                       input_shape=4, seed=0, dtype=dtype)
    model.fit(X, y, **{"epochs": 1, "batch_size": 8, "verbose": 0, **fit})
    return model


def raised_in(error):
    return os.path.basename(traceback.extract_tb(error.__traceback__)[-1].filename)


# ---------------------------------------------------------------- forward
class CutsColumns(PassThrough):
    def forward(self, X, training=True):
        return X[:, :2]


class ForgetsReturn(PassThrough):
    def forward(self, X, training=True):
        self.Y = X


class ReturnsList(PassThrough):
    def forward(self, X, training=True):
        return X.tolist()


class ReturnsFloat32(PassThrough):
    def forward(self, X, training=True):
        return X.astype(np.float32)


@pytest.mark.parametrize("layer, error, message", [
    (CutsColumns(), ShapeError, r"Layer 1 \(CutsColumns\)\.forward returned Y of shape \(8, 2\), but it declared "
                                r"outputshape\(\) = 4, so the layers after it expect shape \(8, 4\)\. Make forward "
                                r"return that shape, or outputshape\(\) return what forward gives\."),
    (ForgetsReturn(), TypeError, r"Layer 1 \(ForgetsReturn\)\.forward returned None; it must return Y \(its output\) "
                                 r"as an ndarray of shape \(8, 4\)\. Add `return Y` at its end\."),
    (ReturnsList(), TypeError, r"Layer 1 \(ReturnsList\)\.forward returned a list, not a NumPy array; it must return "
                               r"Y \(its output\) as an ndarray of shape \(8, 4\)\."),
    (ReturnsFloat32(), TypeError, r"Layer 1 \(ReturnsFloat32\)\.forward returned an array of dtype float32, but the "
                                  r"model computes in float64\. Make new arrays in the input's dtype"),
])
def test_a_wrong_forward_is_named_where_it_happens(layer, error, message):
    with pytest.raises(error, match=message) as caught:
        fit_with(layer)
    assert raised_in(caught.value) == "first_step.py"   # not a NumPy error inside the next Dense


# ---------------------------------------------------------------- backward
class TransposesGradient(PassThrough):
    def backward(self, dY):
        return dY.T


class ForgetsGradient(PassThrough):
    def backward(self, dY):
        self.dX = dY


class GradientAsTuple(PassThrough):
    def backward(self, dY):
        return tuple(dY)


class GradientFloat32(PassThrough):
    def backward(self, dY):
        return dY.astype(np.float32)


@pytest.mark.parametrize("layer, error, message", [
    (TransposesGradient(), ShapeError, r"Layer 1 \(TransposesGradient\)\.backward returned dX of shape \(4, 8\), but "
                                       r"its input X had shape \(8, 4\): dX holds dL/dX, one value for each value of "
                                       r"X\. Check the transposes and sums in TransposesGradient\.backward\."),
    (ForgetsGradient(), TypeError, r"Layer 1 \(ForgetsGradient\)\.backward returned None; it must return dX \(the "
                                   r"gradient of the loss for its input\) as an ndarray of shape \(8, 4\)\. Add "
                                   r"`return dX` at its end\."),
    (GradientAsTuple(), TypeError, r"Layer 1 \(GradientAsTuple\)\.backward returned a tuple, not a NumPy array"),
    (GradientFloat32(), TypeError, r"Layer 1 \(GradientFloat32\)\.backward returned an array of dtype float32, but "
                                   r"the model computes in float64"),
])
def test_a_wrong_backward_is_named_where_it_happens(layer, error, message):
    with pytest.raises(error, match=message) as caught:
        fit_with(layer)
    assert raised_in(caught.value) == "first_step.py"


def test_a_float32_model_wants_float32():
    class ReturnsFloat64(PassThrough):
        def forward(self, X, training=True):
            return X.astype(np.float64)

    with pytest.raises(TypeError, match=r"Layer 1 \(ReturnsFloat64\)\.forward returned an array of dtype float64, "
                                        r"but the model computes in float32"):
        fit_with(ReturnsFloat64(), dtype=np.float32)


class Scale(Layer):
    """Y = X * a, params/grads style; subclasses fill grads wrongly."""

    def build(self, input_shape, rng, dtype):
        super().build(input_shape, rng, dtype)
        self.params = {"a": np.ones(input_shape, dtype)}
        self.grads = {"a": np.zeros(input_shape, dtype)}

    def forward(self, X, training=True):
        self.X = X
        return X * self.params["a"]

    def backward(self, dY):
        self.grads["a"][...] = (dY * self.X).sum(axis=0)
        return dY * self.params["a"]


class GradOfWrongShape(Scale):
    def backward(self, dY):
        dX = super().backward(dY)
        self.grads["a"] = dY * self.X          # (batch, n): the sum over the batch is missing
        return dX


class ForgetsItsGrads(Scale):
    def backward(self, dY):
        dX = super().backward(dY)
        del self.grads["a"]
        return dX


@pytest.mark.parametrize("layer, message", [
    (GradOfWrongShape(), r"Layer 1 \(GradOfWrongShape\)\.backward left shape \(8, 4\) in self\.grads\['a'\], but "
                         r"self\.params\['a'\] has shape \(4,\): backward must fill self\.grads\['a'\] with dL/da"),
    (ForgetsItsGrads(), r"Layer 1 \(ForgetsItsGrads\)\.backward left nothing in self\.grads\['a'\]"),
])
def test_gradients_of_the_wrong_shape_are_named_before_the_optimizer_sees_them(layer, message):
    with pytest.raises(ShapeError, match=message):
        fit_with(layer)


def test_a_seed_style_layer_is_checked_too():
    class SeedStyle:   # not even derived from Layer, as in the seed notebook's own library
        def outputshape(self):
            return self.inputshape

        def forward(self, X, training=True):
            return X

        def backward(self, grad):
            pass

    with pytest.raises(TypeError, match=r"Layer 1 \(SeedStyle\)\.backward returned None"):
        fit_with(SeedStyle())


def test_the_first_layer_may_return_none_and_a_correct_layer_passes():
    first = ForgetsGradient()   # position 0: its dX would be the data's gradient, which nothing reads
    model = Sequential([first, Dense(2), Activation("softmax")], SGD(), CrossEntropyForSoftMax(), input_shape=4,
                       seed=0)
    model.fit(X, y, epochs=1, verbose=0)
    assert model.checked
    fit_with(PassThrough())
    fit_with(Scale())


def test_train_on_batch_is_checked_too():
    model = Sequential([Dense(4), TransposesGradient(), Dense(2), Activation("softmax")], SGD(),
                       CrossEntropyForSoftMax(), input_shape=4, seed=0)
    with pytest.raises(ShapeError, match=r"Layer 1 \(TransposesGradient\)\.backward returned dX of shape \(4, 8\)"):
        model.train_on_batch(X, y)


# ---------------------------------------------------------------- and then it costs nothing
def test_only_the_first_step_is_checked(monkeypatch):
    calls = []
    for name in ("_check_forward", "_check_backward"):
        original = getattr(guards, name)
        monkeypatch.setattr(guards, name, lambda *args, original=original, name=name:
                            (calls.append(name), original(*args))[1])
    layer = PassThrough()
    model = fit_with(layer, epochs=5, batch_size=2)      # 5 epochs of 4 batches: 20 steps
    assert calls.count("_check_forward") == 3 and calls.count("_check_backward") == 3   # 3 layers, once each
    assert "forward" not in vars(layer) and "backward" not in vars(layer)              # nothing put on the layer
    model.fit(X, y, epochs=2, verbose=0)
    model.train_on_batch(X, y)
    assert len(calls) == 6                               # a model checks its layers once


def test_a_failed_check_leaves_the_layers_as_they_were_and_checks_again():
    layer = TransposesGradient()
    model = Sequential([Dense(4), layer, Dense(2), Activation("softmax")], SGD(), CrossEntropyForSoftMax(),
                       input_shape=4, seed=0)
    for _ in range(2):   # the model checks again after an error
        with pytest.raises(ShapeError):
            model.fit(X, y, epochs=1, verbose=0)
        assert "forward" not in vars(layer) and "backward" not in vars(layer)
        assert not model.checked


def test_a_first_step_that_never_reached_backward_is_checked_again():
    class InfiniteOnce(PassThrough):
        calls = 0

        def forward(self, X, training=True):
            InfiniteOnce.calls += 1
            return X * np.inf if InfiniteOnce.calls == 1 else X

    model = Sequential([Dense(2), InfiniteOnce()], SGD(), MeanSquaredError(), input_shape=4, seed=0)
    T = np.ones((8, 2))
    assert not np.isfinite(model.train_on_batch(X, T))    # no backward ran, so nothing was checked yet
    assert not model.checked
    model.train_on_batch(X, T)
    assert model.checked

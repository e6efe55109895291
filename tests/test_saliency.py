"""saliency(): the gradient of each image's logit with respect to its pixels, against finite differences."""

import numpy as np
import pytest

from deeplearner import (SGD, Activation, AvgPool2D, BatchNorm, Conv2D, CrossEntropyForSoftMax, Dense, Dropout,
                         Flatten, MaxPool2D, MeanSquaredError, Sequential)
from deeplearner.saliency import saliency


def small_cnn(seed=0, extra=()):
    layers = [Conv2D(3, 3, padding=1), *extra, Activation("tanh"), MaxPool2D(2), Conv2D(4, 2), Activation("relu"),
              AvgPool2D(2), Flatten(), Dense(5), Activation("sigmoid"), Dense(3), Activation("softmax")]
    return Sequential(layers, SGD(learning_rate=0.1), CrossEntropyForSoftMax(), input_shape=(2, 6, 6), seed=seed)


def logits(model, X):
    """The input of the final softmax, in inference mode, computed layer by layer."""
    for layer in model.layers[:-1]:
        X = layer.forward(X, False)
    return X


def finite_differences(score, X, h=1e-6):
    """d score(X) / dX by central differences, one entry at a time (X float64)."""
    G = np.zeros_like(X)
    for index in np.ndindex(*X.shape):
        up, down = X.copy(), X.copy()
        up[index] += h
        down[index] -= h
        G[index] = (score(up) - score(down)) / (2 * h)
    return G


def images(n=3, seed=1):
    return np.random.default_rng(seed).normal(size=(n, 2, 6, 6))


def check_against_finite_differences(model, X, units):
    S = saliency(model, X, classes=units)
    for i, unit in enumerate(units):
        numeric = finite_differences(lambda x, unit=unit: logits(model, x[None])[0, unit], X[i])
        np.testing.assert_allclose(S[i], numeric, rtol=1e-5, atol=1e-8)
    return S


def test_the_gradient_of_each_images_logit_matches_finite_differences():
    model = small_cnn()
    X = images()
    units = np.array([2, 0, 1])              # each image its own class, not the same for all
    S = check_against_finite_differences(model, X, units)
    assert S.shape == X.shape and S.dtype == np.float64 and np.abs(S).max() > 1e-3


def test_it_is_the_logit_not_the_probability_that_is_differentiated():
    model = small_cnn()
    X = images(1)
    S = saliency(model, X, classes=[1])
    probability = finite_differences(lambda x: model.predict_proba(x[None])[0, 1], X[0])
    assert not np.allclose(S[0], probability, rtol=1e-3, atol=1e-6)


def test_without_classes_the_predicted_class_is_used():
    model = small_cnn()
    X = images(4, seed=3)
    predicted = np.argmax(logits(model, X), axis=1)
    np.testing.assert_array_equal(saliency(model, X), saliency(model, X, classes=predicted))


def test_after_fit_classes_are_labels_of_classes_():
    model = small_cnn()
    X = images(30, seed=4)
    y = np.array(["cat", "dog", "emu"])[np.arange(30) % 3]
    model.fit(X, y, epochs=1, batchsize=10, verbose=0)
    S = saliency(model, X[:2], classes=["emu", "cat"])
    for i, unit in enumerate([2, 0]):        # "emu" is unit 2, "cat" unit 0
        numeric = finite_differences(lambda x, unit=unit: logits(model, x[None])[0, unit], X[i])
        np.testing.assert_allclose(S[i], numeric, rtol=1e-5, atol=1e-8)


def test_a_flat_model_with_dropout_and_a_linear_output():
    """Dropout is the identity in inference mode; without a softmax the output unit itself is the score."""
    model = Sequential([Dense(6), Activation("tanh"), Dropout(0.5), Dense(2)], SGD(learning_rate=0.1),
                       MeanSquaredError(), input_dim=5, seed=2)
    X = np.random.default_rng(5).normal(size=(3, 5))
    S = saliency(model, X, classes=[1, 0, 1])
    for i, unit in enumerate([1, 0, 1]):
        numeric = finite_differences(lambda x, unit=unit: model.predict_proba(x[None])[0, unit], X[i])
        np.testing.assert_allclose(S[i], numeric, rtol=1e-5, atol=1e-8)


def test_the_model_is_left_as_it_was():
    model = small_cnn()
    X = images(6, seed=6)
    model.fit(X, np.arange(6) % 3, epochs=1, batchsize=3, verbose=0)
    first = model.layers[0]
    grads = [{name: grad.copy() for name, grad in layer.grads.items()} for layer in model.layers]
    weights, rng_state = model.get_weights(), model.rng.bit_generator.state
    before = model.predict_proba(X)
    saliency(model, X)
    assert first.needs_input_grad is False
    for layer, kept in zip(model.layers, grads):
        for name, grad in kept.items():
            np.testing.assert_array_equal(layer.grads[name], grad)
    for a, b in zip(weights, model.get_weights()):
        assert all(np.array_equal(a[key], b[key]) for key in a)
    assert model.rng.bit_generator.state == rng_state
    np.testing.assert_array_equal(model.predict_proba(X), before)


def test_many_images_are_done_in_chunks_with_the_same_numbers(monkeypatch):
    import deeplearner.saliency as module
    model = small_cnn()
    X = images(7, seed=8)
    whole = saliency(model, X)
    monkeypatch.setattr(module, "CHUNK", 3)
    np.testing.assert_allclose(saliency(model, X), whole, rtol=1e-12, atol=1e-15)   # BLAS may sum in another order


def test_a_model_with_batchnorm_matches_finite_differences():
    model = small_cnn(extra=[BatchNorm()])
    X = images(6, seed=9)
    model.fit(X, np.arange(6) % 3, epochs=2, batchsize=3, verbose=0)   # running statistics away from 0 and 1
    check_against_finite_differences(model, X[:2], np.array([0, 2]))


def test_batchnorm_keeps_its_running_statistics():
    model = small_cnn(extra=[BatchNorm()])
    X = images(6, seed=10)
    model.fit(X, np.arange(6) % 3, epochs=1, batchsize=3, verbose=0)
    statistics = model.layers[1].get_weights()
    saliency(model, X)
    for key, value in model.layers[1].get_weights().items():
        np.testing.assert_array_equal(value, statistics[key])


def test_a_layer_that_cannot_back_propagate_after_inference_is_named_and_the_model_put_back():
    class Remembers(Activation):
        """An activation of one's own that keeps its input only in training, as the built-in ones once did."""

        def __init__(self):
            super().__init__("tanh")

        def backward(self, dY):
            raise RuntimeError("Remembers.backward needs a forward(X, training=True) first")

    model = Sequential([Conv2D(2, 3), Flatten(), Remembers(), Dense(3), Activation("softmax")], SGD(),
                       CrossEntropyForSoftMax(), input_shape=(2, 6, 6), seed=0)
    with pytest.raises(RuntimeError, match=r"saliency: layer 2 \(tanh\) cannot back-propagate after a forward in "
                                           r"inference mode: Remembers.backward needs a forward"):
        saliency(model, images(1))
    assert model.layers[0].needs_input_grad is False    # put back even when backward raised


@pytest.mark.parametrize("classes, message", [
    ([0, 1], r"saliency: classes holds 2 labels for 3 images\. Pass one class per image, or classes=None"),
    ([0, 1, 3], r"saliency: the model has not learned its classes \(no fit yet\), so classes must be output "
                r"units 0 to 2, received \[0, 1, 3\]\."),
    ([0.5, 1, 2], r"classes must be output units 0 to 2"),
])
def test_class_errors_before_fit(classes, message):
    with pytest.raises(ValueError, match=message):
        saliency(small_cnn(), images(3), classes=classes)


def test_an_unknown_label_and_a_wrong_shape_are_errors():
    model = small_cnn()
    X = images(6)
    model.fit(X, np.arange(6) % 3, epochs=1, batchsize=3, verbose=0)
    with pytest.raises(ValueError, match=r"saliency: classes holds labels the model does not know: \[7\]\. Its "
                                         r"classes are \[0, 1, 2\]\."):
        saliency(model, X[:1], classes=[7])
    with pytest.raises(ValueError, match=r"X .*\(2, 6, 6\)"):
        saliency(model, X[:, :1])

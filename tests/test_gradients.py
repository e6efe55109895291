"""Gradient checks: backward against central differences, in float64, with a random upstream gradient.

Two oracles, so that ``deeplearner.gradcheck`` is not the only judge of itself:

- ``deeplearner.gradcheck`` on every layer, loss and on whole models, over shapes drawn by
  hypothesis (error < 1e-6);
- ``central_difference`` below, written here from scratch, with a purely relative error.

For a layer the scalar checked is f(X) = sum(forward(X) * G) with G random: backward(G) must be
df/dX. An all-ones G would not do: BatchNorm's dX is then exactly 0, right or wrong (the last
tests show it).
"""

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from helpers import SelfTrainingScale, built

from deeplearner import (SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, Dropout, MeanSquaredError,
                         Sequential, gradcheck)

TOLERANCE = 1e-6
FEW = settings(max_examples=25, deadline=None)      # modest: the whole suite must stay fast
seeds = st.integers(0, 2**32 - 1)
widths = st.integers(1, 5)
ACTIVATIONS = ["relu", "leaky_relu", "sigmoid", "tanh", "softmax"]


# ---------------------------------------------------------------- an independent oracle
def central_difference(f, A, eps=1e-6):
    """dF/dA by (f(A + eps e_i) - f(A - eps e_i)) / (2 eps), entry by entry; A is restored exactly."""
    numeric = np.zeros_like(A)
    for index in np.ndindex(A.shape):
        original = A[index]
        A[index] = original + eps
        f_plus = f()
        A[index] = original - eps
        f_minus = f()
        A[index] = original
        numeric[index] = (f_plus - f_minus) / (2 * eps)
    return numeric


def relative_error(analytic, numeric):
    """||a - n|| / (||a|| + ||n||): scale-free, unlike gradcheck's (which floors the denominator at 1)."""
    return np.linalg.norm(analytic - numeric) / (np.linalg.norm(analytic) + np.linalg.norm(numeric))


def away_from_zero(rng, shape):
    """Inputs with |x| >= 0.1, so no relu kink lies within a finite-difference step."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 3.0, size=shape)


# ---------------------------------------------------------------- layers, with gradcheck
@FEW
@given(batch=st.integers(1, 6), n_in=widths, units=widths, seed=seeds)
def test_dense_gradcheck(batch, n_in, units, seed):
    """Dense: dX, dW and db match central differences."""
    rng = np.random.default_rng(seed)
    layer = built(Dense(units), n_in, seed)
    layer.params["b"][...] = rng.standard_normal(units)
    result = gradcheck(layer, rng.standard_normal((batch, n_in)), seed=seed)
    assert set(result.errors) == {"X", "W", "b"}
    assert result.max_error < TOLERANCE, result


@FEW
@given(batch=st.integers(2, 8), n=widths, seed=seeds)
def test_batchnorm_gradcheck(batch, n, seed):
    """BatchNorm in training mode: dX, dgamma and dbeta match central differences."""
    rng = np.random.default_rng(seed)
    layer = built(BatchNorm(), n, seed)
    layer.params["gamma"][...] = rng.uniform(0.5, 2.0, n) * rng.choice([-1, 1], n)
    layer.params["beta"][...] = rng.standard_normal(n)
    X = rng.normal(rng.uniform(-3, 3, n), rng.uniform(0.5, 3, n), size=(batch, n))
    result = gradcheck(layer, X, seed=seed)
    assert set(result.errors) == {"X", "gamma", "beta"}
    assert result.max_error < TOLERANCE, result


@FEW
@given(batch=st.integers(1, 6), n=widths, rate=st.floats(0.1, 0.8), seed=seeds)
def test_dropout_gradcheck(batch, n, rate, seed):
    """Dropout in training mode (gradcheck replays the generator, so the mask is fixed)."""
    rng = np.random.default_rng(seed)
    layer = built(Dropout(rate), n, seed)
    result = gradcheck(layer, rng.standard_normal((batch, n)), seed=seed)
    assert result.max_error < TOLERANCE, result


@pytest.mark.parametrize("name", ACTIVATIONS)
@FEW
@given(batch=st.integers(1, 6), n=st.integers(2, 5), seed=seeds)
def test_activation_gradcheck(name, batch, n, seed):
    """Each activation's backward matches central differences (softmax: the full Jacobian product)."""
    rng = np.random.default_rng(seed)
    layer = built(Activation(name), n, seed)
    result = gradcheck(layer, away_from_zero(rng, (batch, n)), seed=seed)
    assert result.max_error < TOLERANCE, result


# ---------------------------------------------------------------- losses, with gradcheck
@FEW
@given(batch=st.integers(1, 6), k=st.integers(2, 5), soft=st.booleans(), seed=seeds)
def test_cross_entropy_gradcheck(batch, k, soft, seed):
    """CrossEntropyForSoftMax on logits, one-hot or soft (probability) targets."""
    rng = np.random.default_rng(seed)
    Z = 3 * rng.standard_normal((batch, k))
    if soft:
        T = rng.dirichlet(np.ones(k), size=batch)
    else:
        T = np.eye(k)[rng.integers(0, k, batch)]
    result = gradcheck(CrossEntropyForSoftMax(), Z, T, seed=seed)
    assert result.max_error < TOLERANCE, result


@FEW
@given(batch=st.integers(1, 6), k=widths, seed=seeds)
def test_mean_squared_error_gradcheck(batch, k, seed):
    rng = np.random.default_rng(seed)
    result = gradcheck(MeanSquaredError(), rng.standard_normal((batch, k)),
                       rng.standard_normal((batch, k)), seed=seed)
    assert result.max_error < TOLERANCE, result


# ---------------------------------------------------------------- whole models, with gradcheck
# tanh and sigmoid rather than relu inside models: a model has hundreds of pre-activations, and one
# of them crossing relu's kink within a finite-difference step would make the check flaky.
# At least 2 inputs to each Dense that feeds a BatchNorm: with one input, a weight drawn near 0
# (|W| sigma ~ sqrt(eps)) makes BatchNorm's output bend so sharply in W that central differences
# lose accuracy (error ~ step^2, 1e-4 at step 1e-6, about once in 3000 draws): a limit of the
# finite differences, not a wrong gradient.
@FEW
@given(batch=st.integers(3, 8), n_in=st.integers(2, 4), hidden=st.integers(2, 5), k=st.integers(2, 4), seed=seeds)
def test_model_with_batchnorm_gradcheck(batch, n_in, hidden, k, seed):
    """Dense-BatchNorm-tanh-Dense-BatchNorm-softmax with the fused cross-entropy: every gradient."""
    model = Sequential([Dense(hidden), BatchNorm(), Activation("tanh"),
                        Dense(k), BatchNorm(), Activation("softmax")],
                       SGD(learning_rate=0.1), CrossEntropyForSoftMax(), n_in, seed=seed)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, n_in))
    y = rng.integers(0, k, batch)
    result = gradcheck(model, X, y, seed=seed)
    assert {"X", "0.W", "0.b", "1.gamma", "1.beta", "3.W", "4.gamma"} <= set(result.errors)
    assert result.max_error < TOLERANCE, result


@FEW
@given(batch=st.integers(2, 8), n_in=st.integers(1, 4), hidden=widths, k=st.integers(2, 4),
       rate=st.floats(0.1, 0.6), seed=seeds)
def test_model_with_dropout_gradcheck(batch, n_in, hidden, k, rate, seed):
    """Dense-tanh-Dropout-Dense-softmax: gradcheck replays the model's generator, fixing the masks."""
    model = Sequential([Dense(hidden), Activation("tanh"), Dropout(rate),
                        Dense(k), Activation("softmax")],
                       SGD(learning_rate=0.1), CrossEntropyForSoftMax(), n_in, seed=seed)
    rng = np.random.default_rng(seed)
    result = gradcheck(model, rng.standard_normal((batch, n_in)), rng.integers(0, k, batch), seed=seed)
    assert result.max_error < TOLERANCE, result


@FEW
@given(batch=st.integers(3, 8), n_in=st.integers(2, 4), hidden=widths, k=st.integers(2, 3), seed=seeds)
def test_regression_model_with_batchnorm_gradcheck(batch, n_in, hidden, k, seed):
    """Dense-BatchNorm-sigmoid-Dense with MeanSquaredError on real-valued targets."""
    model = Sequential([Dense(hidden), BatchNorm(), Activation("sigmoid"), Dense(k)],
                       SGD(learning_rate=0.1), MeanSquaredError(), n_in, seed=seed)
    rng = np.random.default_rng(seed)
    result = gradcheck(model, rng.standard_normal((batch, n_in)), rng.standard_normal((batch, k)),
                       seed=seed)
    assert result.max_error < TOLERANCE, result


def test_seed_architecture_with_relu_gradcheck():
    """The seed's Dense-BatchNorm-relu stack (small widths), at a fixed seed so no kink is near."""
    model = Sequential([Dense(6), BatchNorm(), Activation("relu"), Dense(5), BatchNorm(),
                        Activation("relu"), Dense(3), BatchNorm(), Activation("softmax")],
                       SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(), 4, seed=1)
    rng = np.random.default_rng(1)
    result = gradcheck(model, rng.standard_normal((10, 4)), rng.integers(0, 3, 10))
    assert result.max_error < TOLERANCE, result


def test_gradcheck_leaves_the_model_as_it_was():
    """Checking a model runs many training-mode forwards; weights, running stats and RNG come back."""
    model = Sequential([Dense(4), BatchNorm(), Activation("tanh"), Dropout(0.5), Dense(3),
                        Activation("softmax")], SGD(), CrossEntropyForSoftMax(), 3, seed=0)
    before = model.get_weights()
    rng_state = model.rng.bit_generator.state
    rng = np.random.default_rng(0)
    gradcheck(model, rng.standard_normal((6, 3)), rng.integers(0, 3, 6))
    after = model.get_weights()
    assert all(np.array_equal(a[key], b[key]) for a, b in zip(before, after) for key in a)
    assert model.rng.bit_generator.state == rng_state


def test_gradcheck_leaves_an_unfitted_models_classes_unlearned():
    """Checking on a few labels must not fix classes_ to those labels before fit sees them all."""
    model = Sequential([Dense(5), Activation("tanh"), Dense(10), Activation("softmax")],
                       SGD(), CrossEntropyForSoftMax(), 3, seed=0)
    rng = np.random.default_rng(0)
    gradcheck(model, rng.standard_normal((4, 3)), np.array([2, 5, 5, 7]))
    assert model.classes_ is None
    model.fit(rng.standard_normal((20, 3)), np.arange(20) % 10 + 1, verbose=0)   # labels 1..10
    np.testing.assert_array_equal(model.classes_, np.arange(1, 11))


def test_gradcheck_leaves_a_self_training_seed_layer_as_it_was_and_checks_through_it():
    model = Sequential([Dense(4), SelfTrainingScale(), Activation("tanh"), Dense(3), Activation("softmax")],
                       SGD(learning_rate=0.5, momentum=0.9), CrossEntropyForSoftMax(), 3, seed=0)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((12, 3)), rng.integers(0, 3, 12)
    model.fit(X, y, epochs=2, batch_size=4, verbose=0)   # s moves, and its optimizer copy has a velocity
    layer = model.layers[1]
    s, velocity = layer.s.copy(), copy.deepcopy(layer.s_opt._own_slots)
    assert velocity, "the layer's own optimizer should hold a velocity by now"
    P = model.predict_proba(X)
    result = gradcheck(model, X[:6], y[:6])
    # Its update inside backward is undone before the differences run, so the gradients flowing
    # through it agree; its own s is not checked, and the result says so.
    assert result.max_error < TOLERANCE, result
    assert set(result.errors) == {"X", "0.W", "0.b", "3.W", "3.b"}
    assert result.unchecked == ["1.SelfTrainingScale"] and "not checked" in repr(result)
    assert model.layers[1] is layer and np.array_equal(layer.s, s)
    assert all(np.array_equal(velocity[key], layer.s_opt._own_slots[key]) for key in velocity)
    np.testing.assert_array_equal(model.predict_proba(X), P)


def test_gradcheck_of_a_loss_without_targets_says_how_to_call_it():
    with pytest.raises(ValueError, match=r"gradcheck of a loss needs the targets: gradcheck\(loss, Y_pred, T\)"):
        gradcheck(CrossEntropyForSoftMax(), np.zeros((4, 3)))


# ---------------------------------------------------------------- the independent oracle
def test_dense_backward_by_independent_central_differences():
    rng = np.random.default_rng(10)
    layer = built(Dense(4), 3)
    layer.params["b"][...] = rng.standard_normal(4)
    X = rng.standard_normal((5, 3))
    G = rng.standard_normal((5, 4))

    def f():
        return np.sum(layer.forward(X, True) * G)

    layer.forward(X, True)
    dX = layer.backward(G)
    for name, analytic in [("X", dX), ("W", layer.grads["W"].copy()), ("b", layer.grads["b"].copy())]:
        array = X if name == "X" else layer.params[name]
        assert relative_error(analytic, central_difference(f, array)) < 1e-8, name


def test_batchnorm_backward_by_independent_central_differences():
    rng = np.random.default_rng(11)
    layer = built(BatchNorm(), 3)
    layer.params["gamma"][...] = [1.5, -0.7, 2.0]
    layer.params["beta"][...] = [0.3, -1.0, 0.0]
    X = rng.normal([2.0, -1.0, 0.0], [1.0, 3.0, 0.5], size=(6, 3))
    G = rng.standard_normal((6, 3))

    def f():
        return np.sum(layer.forward(X, True) * G)

    layer.forward(X, True)
    dX = layer.backward(G)
    analytic = {"X": dX, "gamma": layer.grads["gamma"].copy(), "beta": layer.grads["beta"].copy()}
    for name, grad in analytic.items():
        array = X if name == "X" else layer.params[name]
        assert relative_error(grad, central_difference(f, array)) < 1e-7, name


def test_dropout_backward_with_a_fixed_mask_by_independent_central_differences():
    """Replaying the layer's generator before each forward pins the mask; dX = G * mask."""
    layer = built(Dropout(0.4), 4, seed=3)
    X = np.random.default_rng(12).standard_normal((5, 4))
    G = np.random.default_rng(13).standard_normal((5, 4))
    state = layer.rng.bit_generator.state

    def forward():
        layer.rng.bit_generator.state = state
        return layer.forward(X, True)

    def f():
        return np.sum(forward() * G)

    Y = forward()
    dX = layer.backward(G)
    assert relative_error(dX, central_difference(f, X)) < 1e-8
    np.testing.assert_allclose(dX, G * Y / X, rtol=1e-12)      # the same mask, scale included
    assert 0 < np.count_nonzero(dX) < dX.size                    # something was dropped, not all


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_backward_by_independent_central_differences(name):
    rng = np.random.default_rng(14)
    layer = built(Activation(name), 4)
    X = away_from_zero(rng, (5, 4))
    G = rng.standard_normal((5, 4))
    layer.forward(X, True)
    dX = layer.backward(G)
    numeric = central_difference(lambda: np.sum(layer.forward(X, True) * G), X)
    assert relative_error(dX, numeric) < 1e-8


@pytest.mark.parametrize("loss, k", [(CrossEntropyForSoftMax(), 4), (MeanSquaredError(), 3)])
def test_loss_backward_by_independent_central_differences(loss, k):
    """Losses are means, so their gradients are small: a relative error matters here."""
    rng = np.random.default_rng(15)
    Y_pred = 2 * rng.standard_normal((6, k))
    T = np.eye(k)[rng.integers(0, k, 6)]
    loss.forward(Y_pred, T)
    analytic = loss.backward()
    numeric = central_difference(lambda: loss.forward(Y_pred, T), Y_pred)
    assert relative_error(analytic, numeric) < 1e-7


# ---------------------------------------------------------------- the check can fail
class BatchNormWithoutVariancePath(BatchNorm):
    """A classic slip: dX = gamma / std * (dY - mean(dY)), forgetting the path through the variance.

    Self-contained (it keeps its own copy of X) so it does not lean on BatchNorm's internals.
    """

    def forward(self, X, training=True):
        self.saved_X = X
        return super().forward(X, training)

    def backward(self, dY):
        super().backward(dY)                     # keep dgamma and dbeta right: only dX is wrong
        X = self.saved_X
        inv_std = 1 / np.sqrt(X.var(axis=0) + self.eps)
        return self.params["gamma"] * inv_std * (dY - dY.mean(axis=0))


class DenseWithBatchMeanGradient(Dense):
    """Another slip: dW divided by the batch size, as if the layer had to average."""

    def backward(self, dY):
        dX = super().backward(dY)
        self.grads["W"] /= len(dY)
        return dX


def batchnorm_input(seed=16, shape=(6, 3)):
    return np.random.default_rng(seed).normal(1.0, 2.0, size=shape)


def test_gradcheck_catches_a_batchnorm_backward_missing_a_term():
    X = batchnorm_input()
    correct = gradcheck(built(BatchNorm(), 3), X)
    broken = gradcheck(built(BatchNormWithoutVariancePath(), 3), X)
    assert correct.max_error < TOLERANCE, correct
    assert broken.errors["X"] > 1e-3, broken
    assert broken.errors["gamma"] < TOLERANCE and broken.errors["beta"] < TOLERANCE   # it points at dX


def test_gradcheck_catches_a_wrong_dense_weight_gradient():
    X = np.random.default_rng(17).standard_normal((5, 3))
    broken = gradcheck(built(DenseWithBatchMeanGradient(4), 3), X)
    assert broken.errors["W"] > 1e-3, broken


def test_independent_oracle_catches_the_broken_batchnorm_too():
    X = batchnorm_input()
    G = np.random.default_rng(18).standard_normal(X.shape)
    layer = built(BatchNormWithoutVariancePath(), 3)
    layer.forward(X, True)
    dX = layer.backward(G)
    numeric = central_difference(lambda: np.sum(layer.forward(X, True) * G), X)
    assert relative_error(dX, numeric) > 1e-3


def test_all_ones_upstream_gradient_cannot_tell_right_from_wrong():
    """Why G must be random: with G = 1, BatchNorm's true dX is 0, and so is the broken one's.

    sum_i Y[i] = N beta does not depend on X at all, so its gradient is exactly zero.
    """
    X = batchnorm_input()
    ones = np.ones_like(X)
    G = np.random.default_rng(19).standard_normal(X.shape)
    right, wrong = built(BatchNorm(), 3), built(BatchNormWithoutVariancePath(), 3)
    dX_right_ones = (right.forward(X, True), right.backward(ones))[1]
    dX_wrong_ones = (wrong.forward(X, True), wrong.backward(ones))[1]
    np.testing.assert_allclose(dX_right_ones, 0, atol=1e-12)
    np.testing.assert_allclose(dX_wrong_ones, 0, atol=1e-12)     # the wrong formula looks perfect

    dX_right = (right.forward(X, True), right.backward(G))[1]
    dX_wrong = (wrong.forward(X, True), wrong.backward(G))[1]
    assert np.abs(dX_right - dX_wrong).max() > 1e-2                # a random G tells them apart


def test_gradcheck_refuses_float32():
    """float32 differences are too coarse for a 1e-6 check; the message says how to fix it."""
    layer = Dense(3)
    layer.build(2, np.random.default_rng(0), np.float32)
    with pytest.raises(ValueError, match=r"gradcheck needs float64, but parameter 'W' is float32.*dtype=np.float64"):
        gradcheck(layer, np.ones((4, 2)))

"""Dense, Activation and Dropout: hand-computed cases, invariants and constructor errors."""

import math

import numpy as np
import pytest

from deeplearner import Activation, Dense, Dropout, leaky_relu, relu, sigmoid, softmax, tanh
from deeplearner.layers.activations import LeakyReLU
from helpers import built


# ---------------------------------------------------------------- Dense
def hand_dense():
    layer = built(Dense(2), 3)
    layer.params["W"][...] = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]    # (n_in, units) = (3, 2)
    layer.params["b"][...] = [0.5, -1.0]
    return layer


def test_dense_forward_by_hand():
    """Y = X W + b:  [1, 0, -1] W = [1 - 5, 2 - 6] = [-4, -4];  [2, 1, 0] W = [5, 8]."""
    Y = hand_dense().forward(np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]]), training=True)
    np.testing.assert_array_equal(Y, [[-3.5, -5.0], [5.5, 7.0]])


def test_dense_backward_by_hand():
    """dW = X^T dY, db = column sums of dY, dX = dY W^T, for dY = [[1, 0], [0, 2]]."""
    layer = hand_dense()
    layer.forward(np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]]), training=True)
    dX = layer.backward(np.array([[1.0, 0.0], [0.0, 2.0]]))
    np.testing.assert_array_equal(layer.grads["W"], [[1.0, 4.0], [0.0, 2.0], [-1.0, 0.0]])
    np.testing.assert_array_equal(layer.grads["b"], [1.0, 2.0])
    np.testing.assert_array_equal(dX, [[1.0, 3.0, 5.0], [4.0, 8.0, 12.0]])


def test_dense_backward_overwrites_its_gradients_instead_of_accumulating():
    layer = hand_dense()
    X, dY = np.ones((2, 3)), np.ones((2, 2))
    for _ in range(2):
        layer.forward(X, training=True)
        layer.backward(dY)
    np.testing.assert_array_equal(layer.grads["W"], np.full((3, 2), 2.0))   # 2 rows of ones, once
    np.testing.assert_array_equal(layer.grads["b"], [2.0, 2.0])


def test_dense_shapes_params_and_grads():
    layer = built(Dense(7), 5)
    assert set(layer.params) == set(layer.grads) == {"W", "b"}
    assert layer.params["W"].shape == layer.grads["W"].shape == (5, 7)       # (n_in, units)
    assert layer.params["b"].shape == layer.grads["b"].shape == (7,)
    assert layer.outputshape() == 7
    assert layer.forward(np.ones((4, 5)), training=True).shape == (4, 7)
    assert layer.backward(np.ones((4, 7))).shape == (4, 5)
    assert layer.count_params() == (5 * 7 + 7, 0)


def test_dense_bias_starts_at_zero_and_the_dtype_is_respected():
    layer = built(Dense(3), 4, dtype=np.float32)
    np.testing.assert_array_equal(layer.params["b"], np.zeros(3))
    assert layer.params["W"].dtype == layer.params["b"].dtype == np.float32


def test_glorot_uniform_init_stays_within_its_limit_and_has_its_variance():
    """W ~ U(-r, r) with r = sqrt(6 / (n_in + n_out)), so std(W) = r / sqrt(3)."""
    n_in, n_out = 200, 300
    W = built(Dense(n_out), n_in).params["W"]
    r = math.sqrt(6 / (n_in + n_out))
    assert np.abs(W).max() <= r
    assert np.abs(W).max() > 0.99 * r                       # uses the whole interval
    assert W.std() == pytest.approx(r / math.sqrt(3), rel=0.02)
    assert abs(W.mean()) < 0.01 * r


def test_he_normal_init_has_variance_2_over_n_in():
    n_in, n_out = 200, 300
    W = built(Dense(n_out, init="he_normal"), n_in).params["W"]
    assert W.std() == pytest.approx(math.sqrt(2 / n_in), rel=0.02)
    assert abs(W.mean()) < 0.01 * math.sqrt(2 / n_in)


def test_dense_init_is_reproducible_from_the_generator():
    W1 = built(Dense(4), 3, seed=5).params["W"]
    W2 = built(Dense(4), 3, seed=5).params["W"]
    W3 = built(Dense(4), 3, seed=6).params["W"]
    np.testing.assert_array_equal(W1, W2)
    assert not np.array_equal(W1, W3)


@pytest.mark.parametrize("args, kwargs, message", [
    ((), {"units": -3}, r"Dense: units must be a positive integer, received units=-3"),
    ((2.5,), {}, r"received units=2\.5"),
    ((0,), {}, r"received units=0"),
    ((True,), {}, r"received units=True"),
    ((4,), {"init": "xavier"}, r"Dense: unknown init='xavier'. Use one of .*glorot_uniform.*he_normal"),
])
def test_dense_constructor_errors(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        Dense(*args, **kwargs)


# ---------------------------------------------------------------- activations
X_SMALL = np.array([[-2.0, 0.0, 3.0]])


@pytest.mark.parametrize("name, expected", [
    ("relu", [[0.0, 0.0, 3.0]]),
    ("leaky_relu", [[-0.02, 0.0, 3.0]]),                          # alpha = 0.01
    ("sigmoid", [[1 / (1 + math.exp(2)), 0.5, 1 / (1 + math.exp(-3))]]),
    ("tanh", [[math.tanh(-2), 0.0, math.tanh(3)]]),
])
def test_elementwise_activations_by_hand(name, expected):
    np.testing.assert_allclose(Activation(name).forward(X_SMALL), expected, rtol=1e-15)


def test_softmax_by_hand():
    """softmax([0, ln 2, ln 3]) = [1, 2, 3] / 6."""
    Y = Activation("softmax").forward(np.array([[0.0, math.log(2), math.log(3)]]))
    np.testing.assert_allclose(Y, [[1 / 6, 2 / 6, 3 / 6]], rtol=1e-15)


@pytest.mark.parametrize("fn, name", [(relu, "relu"), (leaky_relu, "leaky_relu"), (sigmoid, "sigmoid"),
                                      (tanh, "tanh"), (softmax, "softmax")])
def test_activation_by_name_and_by_object_agree_and_show_the_function_name(fn, name):
    X = np.random.default_rng(0).standard_normal((4, 3))
    by_object, by_name = Activation(fn), Activation(name)
    np.testing.assert_array_equal(by_object.forward(X), by_name.forward(X))
    assert by_object.name == by_name.name == name


def test_softmax_rows_sum_to_one():
    Y = Activation("softmax").forward(5 * np.random.default_rng(1).standard_normal((20, 7)))
    np.testing.assert_allclose(Y.sum(axis=1), 1, rtol=1e-14)
    assert (Y > 0).all()


def test_softmax_is_stable_for_huge_inputs():
    """A naive exp overflows at 710 (inf / inf = nan) and underflows rows of -1000 (0 / 0)."""
    X = np.array([[1000.0, 1000.0], [1000.0, -1000.0], [-1000.0, -1000.0], [1e300, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        Y = Activation("softmax").forward(X)
    np.testing.assert_array_equal(Y, [[0.5, 0.5], [1.0, 0.0], [0.5, 0.5], [1.0, 0.0]])


def test_softmax_ignores_a_constant_added_to_a_row():
    X = np.random.default_rng(2).standard_normal((3, 4))
    softmax_layer = Activation("softmax")
    np.testing.assert_allclose(softmax_layer.forward(X + 500.0), softmax_layer.forward(X), rtol=1e-12)


def test_sigmoid_is_stable_for_large_inputs():
    """No overflow warning at +-1000, exact limits, and full relative precision near 0 at -40."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        Y = Activation("sigmoid").forward(np.array([[-1000.0, 1000.0, -40.0]]))
    assert Y[0, 0] == 0.0 and Y[0, 1] == 1.0
    assert Y[0, 2] == pytest.approx(math.exp(-40) / (1 + math.exp(-40)), rel=1e-14)


def test_activation_passes_shapes_through():
    layer = built(Activation("relu"), 6)
    assert layer.outputshape() == 6
    assert layer.count_params() == (0, 0)


def test_unknown_activation_name_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"unknown activation 'relux'. Use one of "
                                         r"\['leaky_relu', 'relu', 'sigmoid', 'softmax', 'tanh'\]"):
        Activation("relux")


def test_activation_rejects_an_object_that_is_not_an_activation():
    with pytest.raises(TypeError, match=r"Activation: expected a name from .* received 42"):
        Activation(42)


@pytest.mark.parametrize("alpha, shown", [("x", "'x'"), (None, "None"), (True, "True"), (1, "1"),
                                          (-0.1, "-0.1"), (float("nan"), "nan")])
def test_leaky_relu_alpha_errors(alpha, shown):
    with pytest.raises(ValueError, match=rf"LeakyReLU: alpha must be a number in \[0, 1\), received "
                                         rf"alpha={shown}\. Example: LeakyReLU\(alpha=0\.01\)"):
        LeakyReLU(alpha)


def test_leaky_relu_keeps_alpha_as_a_python_float_so_float32_stays_float32():
    fn = LeakyReLU(np.float64(0.2))                 # e.g. read from a NumPy array of settings
    assert type(fn.alpha) is float
    X = np.array([[-1.0, 2.0]], dtype=np.float32)
    assert fn.forward(X).dtype == np.float32 and fn.backward(X, None, X).dtype == np.float32
    np.testing.assert_allclose(fn.forward(X), [[-0.2, 2.0]], rtol=1e-6)


def test_softmax_backward_by_hand():
    """dX[i] = Y[i] * (dY[i] - sum_k dY[i, k] Y[i, k]):  Y = [1, 2, 3] / 6, dY = [1, 0, 0]
    gives sum = 1/6 and dX = [1/6 * 5/6, 2/6 * -1/6, 3/6 * -1/6] = [5, -2, -3] / 36."""
    layer = Activation("softmax")
    layer.forward(np.array([[0.0, math.log(2), math.log(3)]]))
    np.testing.assert_allclose(layer.backward(np.array([[1.0, 0.0, 0.0]])), [[5 / 36, -2 / 36, -3 / 36]],
                               rtol=1e-14)


# ---------------------------------------------------------------- Dropout
def test_dropout_is_the_identity_at_inference():
    layer = built(Dropout(0.5), 4)
    X = np.random.default_rng(3).standard_normal((6, 4))
    np.testing.assert_array_equal(layer.forward(X, training=False), X)
    np.testing.assert_array_equal(layer.backward(X), X)          # and so is its backward


def test_dropout_with_rate_zero_is_the_identity_in_training():
    layer = built(Dropout(0.0), 4)
    X = np.random.default_rng(4).standard_normal((6, 4))
    np.testing.assert_array_equal(layer.forward(X, training=True), X)


def test_dropout_keeps_a_fraction_1_minus_rate_scaled_by_1_over_1_minus_rate():
    """Inverted dropout: kept entries become 1 / (1 - rate), so E[Y] = X.

    100,000 draws: the kept fraction has standard deviation 0.0015; 0.01 is about 7 of them.
    """
    rate = 0.3
    Y = built(Dropout(rate), 500).forward(np.ones((200, 500)), training=True)
    kept = Y != 0
    assert kept.mean() == pytest.approx(1 - rate, abs=0.01)
    np.testing.assert_allclose(Y[kept], 1 / (1 - rate), rtol=1e-15)
    assert Y.mean() == pytest.approx(1.0, abs=0.015)


def test_dropout_backward_uses_the_forward_mask():
    layer = built(Dropout(0.5), 8)
    X = np.random.default_rng(5).uniform(1, 2, (10, 8))        # nonzero, so Y / X is the mask
    mask = layer.forward(X, training=True) / X
    dY = np.random.default_rng(6).standard_normal((10, 8))
    np.testing.assert_allclose(layer.backward(dY), dY * mask, rtol=1e-15)


def test_dropout_masks_are_reproducible_from_the_seed_and_fresh_each_call():
    X = np.ones((10, 8))
    a, b, c = built(Dropout(0.5), 8, seed=7), built(Dropout(0.5), 8, seed=7), built(Dropout(0.5), 8, seed=8)
    first = a.forward(X, training=True)
    np.testing.assert_array_equal(first, b.forward(X, training=True))
    assert not np.array_equal(first, c.forward(X, training=True))
    assert not np.array_equal(first, a.forward(X, training=True))   # a new mask every batch


def test_dropout_keeps_float32():
    Y = built(Dropout(0.5), 4, dtype=np.float32).forward(np.ones((3, 4), dtype=np.float32), training=True)
    assert Y.dtype == np.float32


@pytest.mark.parametrize("rate, message", [
    (1.0, r"Dropout: rate must be a number in \[0, 1\), received rate=1\.0"),
    (-0.1, r"received rate=-0\.1"),
    ("0.5", r"received rate='0\.5'"),
])
def test_dropout_constructor_errors(rate, message):
    with pytest.raises(ValueError, match=message):
        Dropout(rate)

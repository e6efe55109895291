"""BatchNorm: invariants in training, running statistics, inference, a hand-computed case, errors.

Conventions under test (see BatchNorm's docstring): biased batch variance; running statistics
start at 0 and 1 and follow running = momentum * running + (1 - momentum) * batch_stat (Keras).
"""

import numpy as np
import pytest

from deeplearner import BatchNorm
from helpers import built

EPS = 1e-5   # BatchNorm's default


def features(seed, batch=50, n=4):
    """Columns with very different means and scales, so normalization has work to do."""
    rng = np.random.default_rng(seed)
    return rng.normal([5.0, -3.0, 0.0, 100.0], [3.0, 0.5, 10.0, 20.0], size=(batch, n))


# ---------------------------------------------------------------- training mode
def exact_std(X):
    """The std of x_hat is sqrt(var / (var + eps)): 1 but for eps, which shows for small var."""
    var = X.var(axis=0)
    return np.sqrt(var / (var + EPS))


def test_training_output_has_mean_0_and_std_1_per_feature():
    """With gamma = 1 and beta = 0 (the defaults)."""
    X = features(0)
    Y = built(BatchNorm(), 4).forward(X, training=True)
    np.testing.assert_allclose(Y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Y.std(axis=0), 1, atol=1e-4)
    np.testing.assert_allclose(Y.std(axis=0), exact_std(X), rtol=1e-12)


def test_gamma_scales_and_beta_shifts_the_normalized_output():
    layer = built(BatchNorm(), 4)
    gamma, beta = np.array([2.0, -1.0, 0.5, 3.0]), np.array([1.0, 0.0, -3.0, 10.0])
    layer.params["gamma"][...] = gamma
    layer.params["beta"][...] = beta
    X = features(1)
    Y = layer.forward(X, training=True)
    np.testing.assert_allclose(Y.mean(axis=0), beta, atol=1e-12)
    np.testing.assert_allclose(Y.std(axis=0), np.abs(gamma) * exact_std(X), rtol=1e-12)


def test_training_uses_the_batch_statistics_not_the_running_ones():
    """Y = (X - mean(X)) / sqrt(var(X) + eps), var biased, computed here with plain NumPy."""
    X = features(2, batch=7)
    layer = built(BatchNorm(), 4)
    layer.buffers["running_mean"][...] = 123.0        # must be ignored in training mode
    layer.buffers["running_var"][...] = 45.0
    expected = (X - X.mean(axis=0)) / np.sqrt(X.var(axis=0, ddof=0) + EPS)
    np.testing.assert_allclose(layer.forward(X, training=True), expected, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- running statistics
def test_running_statistics_start_at_zeros_and_ones():
    layer = built(BatchNorm(), 3)
    np.testing.assert_array_equal(layer.running_mean, np.zeros(3))
    np.testing.assert_array_equal(layer.running_var, np.ones(3))


@pytest.mark.parametrize("momentum", [0.9, 0.8, 0.0])
def test_running_statistics_follow_the_keras_recurrence_with_the_biased_variance(momentum):
    """Three training steps against the recurrence written out by hand (0.0: just the last batch)."""
    layer = built(BatchNorm(momentum=momentum), 4)
    running_mean, running_var = np.zeros(4), np.ones(4)
    unbiased_var = np.ones(4)
    for step, batch in enumerate([5, 8, 3]):
        X = features(10 + step, batch=batch)
        layer.forward(X, training=True)
        running_mean = momentum * running_mean + (1 - momentum) * X.mean(axis=0)
        running_var = momentum * running_var + (1 - momentum) * X.var(axis=0, ddof=0)
        unbiased_var = momentum * unbiased_var + (1 - momentum) * X.var(axis=0, ddof=1)
        np.testing.assert_allclose(layer.running_mean, running_mean, rtol=1e-12)
        np.testing.assert_allclose(layer.running_var, running_var, rtol=1e-12)
    # The biased and unbiased variants differ by far more than the tolerance: the test can tell.
    assert np.abs(layer.running_var - unbiased_var).max() > 1e-3


def test_inference_does_not_move_the_running_statistics():
    layer = built(BatchNorm(), 4)
    layer.forward(features(3), training=True)
    mean, var = layer.running_mean.copy(), layer.running_var.copy()
    layer.forward(features(4), training=False)
    np.testing.assert_array_equal(layer.running_mean, mean)
    np.testing.assert_array_equal(layer.running_var, var)


# ---------------------------------------------------------------- inference mode
def test_inference_uses_the_running_statistics():
    """Y = gamma (X - running_mean) / sqrt(running_var + eps) + beta, written out by hand."""
    layer = built(BatchNorm(), 4)
    for seed in (5, 6, 7):
        layer.forward(features(seed, batch=10), training=True)
    layer.params["gamma"][...] = [1.5, -2.0, 0.1, 1.0]
    layer.params["beta"][...] = [0.0, 1.0, -1.0, 5.0]
    X = features(8, batch=6)
    gamma, beta = layer.params["gamma"], layer.params["beta"]
    expected = gamma * (X - layer.running_mean) / np.sqrt(layer.running_var + EPS) + beta
    np.testing.assert_allclose(layer.forward(X, training=False), expected, rtol=1e-12, atol=1e-12)


def test_inference_treats_each_row_on_its_own_and_accepts_a_batch_of_one():
    layer = built(BatchNorm(), 4)
    layer.forward(features(9), training=True)
    X = features(10, batch=5)
    Y = layer.forward(X, training=False)
    for i in range(len(X)):
        np.testing.assert_allclose(layer.forward(X[i:i + 1], training=False), Y[i:i + 1], rtol=1e-14)


# ---------------------------------------------------------------- a case small enough to do by hand
def test_two_by_one_case_by_hand():
    """X = [1, 5]: mean 3, biased var 4 (unbiased would be 8), x_hat = -+2 / sqrt(4 + eps).

    running_mean = 0.9 * 0 + 0.1 * 3 = 0.3;  running_var = 0.9 * 1 + 0.1 * 4 = 1.3.
    With N = 2 the output is -+1 (up to eps) whatever X is, so dX is tiny:
    for dY = [1, 0], dX = [1, -1] * (1 - h^2) / (2 s), s = sqrt(4 + eps), h = 2 / s,
    that is [1, -1] * eps / ((4 + eps) * 2 s).
    """
    layer = built(BatchNorm(), 1)
    X = np.array([[1.0], [5.0]])
    s = np.sqrt(4 + EPS)
    Y = layer.forward(X, training=True)
    np.testing.assert_allclose(Y, [[-2 / s], [2 / s]], rtol=1e-14)
    np.testing.assert_allclose(layer.running_mean, [0.3], rtol=1e-14)
    np.testing.assert_allclose(layer.running_var, [1.3], rtol=1e-14)

    dX = layer.backward(np.array([[1.0], [0.0]]))
    np.testing.assert_allclose(layer.grads["beta"], [1.0], rtol=1e-14)
    np.testing.assert_allclose(layer.grads["gamma"], [-2 / s], rtol=1e-14)
    expected = EPS / ((4 + EPS) * 2 * s)
    np.testing.assert_allclose(dX, [[expected], [-expected]], rtol=1e-6)

    # Inference on the same X with the running statistics: (X - 0.3) / sqrt(1.3 + eps).
    np.testing.assert_allclose(layer.forward(X, training=False),
                               [[0.7 / np.sqrt(1.3 + EPS)], [4.7 / np.sqrt(1.3 + EPS)]], rtol=1e-14)


def test_three_by_one_backward_by_hand():
    """X = [0, 1, 2] (mean 1, var 2/3), gamma = 1, dY = [1, 0, 0], eps = 1e-12 (negligible).

    x_hat = [-r, 0, r] with r = sqrt(3/2); dbeta = 1; dgamma = -r;
    dX = (1 / (3 sigma)) (3 dY - dbeta - x_hat dgamma), sigma = sqrt(2/3)
       = (1 / (3 sigma)) ([3, 0, 0] - 1 - [3/2, 0, -3/2]) = (1 / (3 sigma)) [1/2, -1, 1/2].
    """
    layer = built(BatchNorm(eps=1e-12), 1)
    layer.forward(np.array([[0.0], [1.0], [2.0]]), training=True)
    dX = layer.backward(np.array([[1.0], [0.0], [0.0]]))
    sigma = np.sqrt(2 / 3)
    np.testing.assert_allclose(dX, np.array([[0.5], [-1.0], [0.5]]) / (3 * sigma), rtol=1e-9)


# ---------------------------------------------------------------- parameters and errors
def test_parameters_and_running_statistics_are_kept_apart():
    """gamma and beta are trained; running_mean and running_var are non-trainable buffers."""
    layer = built(BatchNorm(), 5)
    assert set(layer.params) == set(layer.grads) == {"gamma", "beta"}
    assert set(layer.buffers) == {"running_mean", "running_var"}
    np.testing.assert_array_equal(layer.params["gamma"], np.ones(5))
    np.testing.assert_array_equal(layer.params["beta"], np.zeros(5))
    assert layer.count_params() == (10, 10)


def test_training_on_a_batch_of_one_raises_a_clear_error():
    layer = built(BatchNorm(), 3)
    with pytest.raises(ValueError, match=r"BatchNorm: training needs at least 2 samples.*received a batch of 1"):
        layer.forward(np.ones((1, 3)), training=True)


@pytest.mark.parametrize("kwargs, message", [
    ({"momentum": 1.0}, r"momentum must be in \[0, 1\), received momentum=1\.0"),
    ({"momentum": -0.1}, r"momentum must be in \[0, 1\), received momentum=-0\.1"),
    ({"eps": 0}, r"eps must be a positive number, received eps=0"),
    ({"eps": -1e-5}, r"eps must be a positive number, received eps=-1e-05"),
])
def test_invalid_hyperparameters_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchNorm(**kwargs)

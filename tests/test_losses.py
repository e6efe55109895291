"""Losses: values and gradients by hand, numerical stability, means over the batch."""

import math

import numpy as np
import pytest

from deeplearner import CrossEntropyForSoftMax, MeanSquaredError

RAISE_ON_TROUBLE = dict(over="raise", invalid="raise", divide="raise")   # underflow to 0 is fine


def numpy_softmax(Z):
    """Independent reference: exp of the row-shifted logits, normalized."""
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------- cross-entropy
def test_cross_entropy_by_hand():
    """Row 1: softmax([0, ln 2, ln 3]) = [1, 2, 3] / 6, target class 2: -ln(1/2) = ln 2.
    Row 2: softmax([0, 0, 0]) = 1/3 each, target class 0: ln 3.   Loss = (ln 2 + ln 3) / 2.
    dZ = (P - T) / 2.
    """
    Z = np.array([[0.0, math.log(2), math.log(3)], [0.0, 0.0, 0.0]])
    T = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    loss = CrossEntropyForSoftMax()
    assert loss.forward(Z, T) == pytest.approx((math.log(2) + math.log(3)) / 2, rel=1e-15)
    expected = np.array([[1 / 6, 2 / 6, 3 / 6 - 1], [1 / 3 - 1, 1 / 3, 1 / 3]]) / 2
    np.testing.assert_allclose(loss.backward(), expected, rtol=1e-14)


def test_cross_entropy_is_stable_for_huge_logits():
    """Logits +-1000: a naive softmax overflows; log P of the wrong class is -2000, exactly."""
    Z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0], [1000.0, -1000.0]])
    T = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])     # two confidently wrong, one right
    loss = CrossEntropyForSoftMax()
    with np.errstate(**RAISE_ON_TROUBLE):
        value = loss.forward(Z, T)
        dZ = loss.backward()
    assert value == pytest.approx((2000 + 2000 + 0) / 3, rel=1e-15)
    np.testing.assert_allclose(dZ, np.array([[1.0, -1.0], [-1.0, 1.0], [0.0, 0.0]]) / 3, atol=1e-300)


def test_cross_entropy_of_a_confident_right_answer_is_zero():
    loss = CrossEntropyForSoftMax()
    assert loss.forward(np.array([[1000.0, -1000.0]]), np.array([[1.0, 0.0]])) == 0.0


@pytest.mark.parametrize("seed", range(3))
def test_cross_entropy_gradient_is_softmax_minus_targets_over_batch(seed):
    """dL/dZ = (softmax(Z) - T) / batch, also for soft targets; the value is -mean(sum T log P)."""
    rng = np.random.default_rng(seed)
    Z = 4 * rng.standard_normal((7, 5))
    T = rng.dirichlet(np.ones(5), size=7)
    loss = CrossEntropyForSoftMax()
    value = loss.forward(Z, T)
    P = numpy_softmax(Z)
    np.testing.assert_allclose(loss.backward(), (P - T) / 7, rtol=1e-12, atol=1e-15)
    assert value == pytest.approx(-np.mean(np.sum(T * np.log(P), axis=1)), rel=1e-12)


def test_cross_entropy_takes_logits():
    """The model must hand it the softmax's input, not its output."""
    assert CrossEntropyForSoftMax.takes_logits is True
    assert MeanSquaredError.takes_logits is False


# ---------------------------------------------------------------- mean squared error
def test_mean_squared_error_by_hand():
    """diff = [[1, 0], [-2, 0]]: L = (1 + 4) / 4 = 1.25;  dL/dY = 2 diff / 4."""
    loss = MeanSquaredError()
    value = loss.forward(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 2.0], [5.0, 4.0]]))
    assert value == 1.25
    np.testing.assert_array_equal(loss.backward(), [[0.5, 0.0], [-1.0, 0.0]])


# ---------------------------------------------------------------- both: means over the batch
@pytest.mark.parametrize("loss", [CrossEntropyForSoftMax(), MeanSquaredError()], ids=lambda loss: loss.name)
def test_losses_are_means_over_the_batch(loss):
    """Stacking the batch twice leaves the loss unchanged and halves each row's gradient."""
    rng = np.random.default_rng(4)
    Y = rng.standard_normal((4, 3))
    T = np.eye(3)[rng.integers(0, 3, 4)]
    value, grad = loss.forward(Y, T), loss.backward()
    value2, grad2 = loss.forward(np.vstack([Y, Y]), np.vstack([T, T])), loss.backward()
    assert value2 == pytest.approx(value, rel=1e-14)
    np.testing.assert_allclose(grad2[:4], grad / 2, rtol=1e-14)

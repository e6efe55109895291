"""Optimizers against update sequences worked out by hand, the seed's update() API, and errors.

The gradients below are fixed sequences (not functions of W), so each expected value is a short
hand calculation, written out in the comments.
"""

import copy
import math

import numpy as np
import pytest

from deeplearner import SGD, Adam, RMSprop

GRADIENTS = [1.0, 0.5, -1.0]


def run_steps(optimizer, gradients=GRADIENTS, start=1.0):
    """Apply ``optimizer.step`` (the model's API) to a one-entry parameter; return W after each step."""
    params = {"W": np.array([start])}
    grads = {"W": np.zeros(1)}
    history = []
    for g in gradients:
        grads["W"][0] = g
        optimizer.step(params, grads)
        history.append(params["W"][0])
    return history


def run_updates(optimizer, gradients=GRADIENTS, start=1.0):
    """The same with ``update(param, grad)`` (the seed notebook's API)."""
    W, history = np.array([start]), []
    for g in gradients:
        W = optimizer.update(W, np.array([g]))
        history.append(W[0])
    return history


@pytest.fixture(params=[run_steps, run_updates], ids=["step", "update"])
def run(request):
    return request.param


# ---------------------------------------------------------------- SGD
def test_plain_sgd(run):
    """W -= 0.1 g:  1 - 0.1 = 0.9;  0.9 - 0.05 = 0.85;  0.85 + 0.1 = 0.95."""
    assert run(SGD(learning_rate=0.1)) == pytest.approx([0.9, 0.85, 0.95], abs=1e-15)


def test_sgd_with_classical_momentum_pytorch_convention(run):
    """v = 0.9 v + g;  W -= 0.1 v.

    v1 = 1                  W1 = 1 - 0.1            = 0.9
    v2 = 0.9 + 0.5 = 1.4    W2 = 0.9 - 0.14         = 0.76
    v3 = 1.26 - 1 = 0.26    W3 = 0.76 - 0.026       = 0.734
    (A dampened v = mu v + (1 - mu) g would give W1 = 0.99.)
    """
    assert run(SGD(learning_rate=0.1, momentum=0.9)) == pytest.approx([0.9, 0.76, 0.734], abs=1e-14)


def test_sgd_with_nesterov_momentum(run):
    """v = 0.9 v + g;  W -= 0.1 (g + 0.9 v).

    v1 = 1       W1 = 1 - 0.1 (1 + 0.9)            = 0.81
    v2 = 1.4     W2 = 0.81 - 0.1 (0.5 + 1.26)      = 0.634
    v3 = 0.26    W3 = 0.634 - 0.1 (-1 + 0.234)     = 0.7106
    """
    optimizer = SGD(learning_rate=0.1, momentum=0.9, nesterov=True)
    assert run(optimizer) == pytest.approx([0.81, 0.634, 0.7106], abs=1e-14)


def test_sgd_works_elementwise_on_arrays():
    """Two entries with different gradients, two momentum steps, in a (2, 2) array."""
    params = {"W": np.array([[1.0, -2.0], [0.0, 3.0]])}
    optimizer = SGD(learning_rate=0.5, momentum=0.5)
    g = np.array([[1.0, -1.0], [2.0, 0.0]])
    optimizer.step(params, {"W": g})          # v = g;           W -= 0.5 g
    optimizer.step(params, {"W": g})          # v = 0.5 g + g;   W -= 0.75 g   -> W0 - 1.25 g
    np.testing.assert_allclose(params["W"], [[-0.25, -0.75], [-2.5, 3.0]], rtol=1e-15)


def test_step_keeps_separate_state_per_key():
    """The model's optimizer holds one velocity per parameter name."""
    optimizer = SGD(learning_rate=0.1, momentum=0.9)
    params = {"a": np.array([1.0]), "b": np.array([1.0])}
    optimizer.step(params, {"a": np.array([1.0]), "b": np.array([0.0])})
    optimizer.step(params, {"a": np.array([0.5]), "b": np.array([1.0])})
    assert params["a"][0] == pytest.approx(0.76, abs=1e-14)   # as in the momentum test
    assert params["b"][0] == pytest.approx(0.9, abs=1e-14)    # v_b = 0 then 1: one step of 0.1


def test_step_updates_in_place():
    W = np.array([1.0, 2.0])
    params = {"W": W}
    SGD(learning_rate=0.1).step(params, {"W": np.array([1.0, 1.0])})
    assert params["W"] is W
    np.testing.assert_allclose(W, [0.9, 1.9], rtol=1e-15)


# ---------------------------------------------------------------- Adam
def adam_by_hand(gradients, lr, beta_1, beta_2, eps, correct_bias_with_t=True, start=1.0):
    """Kingma & Ba's Algorithm 1, in plain Python floats."""
    W, m, v, out = start, 0.0, 0.0, []
    for t, g in enumerate(gradients, start=1):
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        power = t if correct_bias_with_t else 1          # the ML-From-Scratch bug: (1 - beta), not (1 - beta**t)
        m_hat = m / (1 - beta_1 ** power)
        v_hat = v / (1 - beta_2 ** power)
        W -= lr * m_hat / (math.sqrt(v_hat) + eps)
        out.append(W)
    return out


def test_adam_with_bias_correction_1_minus_beta_to_the_t(run):
    """Step 1 moves by lr * g / |g| = 0.1 (bias correction makes m_hat = g, v_hat = g^2).

    Step 2: m = 0.09 + 0.05 = 0.14, v = 0.000999 + 0.00025 = 0.001249,
    m_hat = 0.14 / 0.19, v_hat = 0.001249 / 0.001999, W2 = 0.9 - 0.1 m_hat / sqrt(v_hat) = 0.80678...
    """
    gradients = [1.0, 0.5, -2.0]
    got = run(Adam(learning_rate=0.1, beta_1=0.9, beta_2=0.999, eps=1e-8), gradients)
    expected = adam_by_hand(gradients, 0.1, 0.9, 0.999, 1e-8)
    assert got == pytest.approx(expected, abs=1e-14)
    assert got == pytest.approx([0.900000001, 0.8067820382981611, 0.8274177408620569], abs=1e-12)


def test_adam_differs_from_the_ml_from_scratch_bias_correction_bug():
    """Dividing by (1 - beta) instead of (1 - beta**t) agrees at t = 1 and goes wrong from t = 2."""
    gradients = [1.0, 0.5, -2.0]
    got = run_steps(Adam(learning_rate=0.1), gradients)
    buggy = adam_by_hand(gradients, 0.1, 0.9, 0.999, 1e-8, correct_bias_with_t=False)
    assert got[0] == pytest.approx(buggy[0], abs=1e-15)
    assert abs(got[1] - buggy[1]) > 0.03          # 0.80678 against 0.77473
    assert abs(got[2] - buggy[2]) > 0.01


def test_adam_default_hyperparameters_follow_the_paper():
    optimizer = Adam()
    assert (optimizer.learning_rate, optimizer.beta_1, optimizer.beta_2, optimizer.eps) == (0.001, 0.9, 0.999, 1e-8)


# ---------------------------------------------------------------- RMSprop
def test_rmsprop(run):
    """v = 0.9 v + 0.1 g^2;  W -= 0.01 g / (sqrt(v) + 1e-8).

    v1 = 0.1      W1 = 1 - 0.01 / sqrt(0.1)                 = 0.96837722...
    v2 = 0.115    W2 = W1 - 0.005 / sqrt(0.115)             = 0.95363302...
    v3 = 0.2035   W3 = W2 + 0.01 / sqrt(0.2035)             = 0.97580058...
    """
    W1 = 1 - 0.01 * 1.0 / (math.sqrt(0.1) + 1e-8)
    W2 = W1 - 0.01 * 0.5 / (math.sqrt(0.115) + 1e-8)
    W3 = W2 + 0.01 * 1.0 / (math.sqrt(0.2035) + 1e-8)
    got = run(RMSprop(learning_rate=0.01, rho=0.9, eps=1e-8))
    assert got == pytest.approx([W1, W2, W3], abs=1e-14)
    assert got == pytest.approx([0.9683772243983162, 0.9536330292176091, 0.9758005836522822], abs=1e-12)


# ---------------------------------------------------------------- the seed notebook's update() API
@pytest.mark.parametrize("optimizer", [SGD(0.1), SGD(0.1, momentum=0.9), Adam(0.1), RMSprop(0.1)],
                         ids=["sgd", "momentum", "adam", "rmsprop"])
def test_update_returns_a_new_array_and_leaves_the_old_one_unchanged(optimizer):
    """The seed's BathNorm keeps the old gamma for its dX after calling update()."""
    gamma = np.array([1.0, 2.0, 3.0])
    new_gamma = optimizer.update(gamma, np.array([0.5, -0.5, 1.0]))
    np.testing.assert_array_equal(gamma, [1.0, 2.0, 3.0])
    assert not np.shares_memory(new_gamma, gamma)
    assert not np.array_equal(new_gamma, gamma)


def test_copies_of_an_optimizer_keep_separate_momentum():
    """The seed keeps copy.copy(optimizer) per parameter; each copy has its own velocity."""
    optimizer = SGD(learning_rate=0.1, momentum=0.9)
    for_gamma, for_beta = copy.copy(optimizer), copy.copy(optimizer)
    assert run_updates(for_gamma) == pytest.approx([0.9, 0.76, 0.734], abs=1e-14)
    # for_beta has seen nothing yet: its first step is a first step, not a fourth.
    assert run_updates(for_beta, [1.0]) == pytest.approx([0.9], abs=1e-15)
    # and the original was not touched by either copy
    assert run_updates(optimizer, [1.0]) == pytest.approx([0.9], abs=1e-15)


def test_a_copy_has_the_same_hyperparameters_and_fresh_state():
    optimizer = Adam(learning_rate=0.1, beta_1=0.8, beta_2=0.99, eps=1e-7)
    run_updates(optimizer)                                       # give it some state
    twin = copy.copy(optimizer)
    assert (twin.learning_rate, twin.beta_1, twin.beta_2, twin.eps) == (0.1, 0.8, 0.99, 1e-7)
    expected = adam_by_hand(GRADIENTS, 0.1, 0.8, 0.99, 1e-7)
    assert run_updates(twin) == pytest.approx(expected, abs=1e-14)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("make, message", [
    (lambda: SGD(learning_rate=-0.1),
     r"SGD: learning_rate must be a number in \[0, inf\), received learning_rate=-0\.1"),
    (lambda: SGD(learning_rate=float("nan")), r"received learning_rate=nan"),
    (lambda: SGD(learning_rate="0.1"), r"received learning_rate='0\.1'"),
    (lambda: SGD(momentum=1.0), r"SGD: momentum must be a number in \[0, 1\), received momentum=1\.0"),
    (lambda: SGD(momentum=-0.5), r"received momentum=-0\.5"),
    (lambda: SGD(nesterov=True), r"SGD: nesterov=True needs momentum > 0"),
    (lambda: Adam(learning_rate=-1), r"Adam: learning_rate must be .*received learning_rate=-1"),
    (lambda: Adam(beta_1=1.0), r"Adam: beta_1 must be a number in \[0, 1\), received beta_1=1\.0"),
    (lambda: Adam(beta_2=1.5), r"Adam: beta_2 must be a number in \[0, 1\), received beta_2=1\.5"),
    (lambda: Adam(eps=0), r"Adam: eps must be a positive number, received eps=0"),
    (lambda: RMSprop(rho=1.0), r"RMSprop: rho must be a number in \[0, 1\), received rho=1\.0"),
    (lambda: RMSprop(eps=-1e-8), r"RMSprop: eps must be a positive number, received eps=-1e-08"),
])
def test_invalid_hyperparameters_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()

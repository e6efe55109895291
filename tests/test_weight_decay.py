"""weight_decay, clipnorm and global_clipnorm on every optimizer, and AdamW.

One step of each optimizer against its formula written out here, on small arrays; AdamW, Adam and
SGD with weight decay against PyTorch where the definitions coincide; the default path against a
copy of the update formulas as they were before these arguments existed; saving; every message.
"""

import copy
import math

import numpy as np
import pytest

from deeplearner import (SGD, Activation, Adam, AdamW, BatchNorm, CrossEntropyForSoftMax, Dense, MeanSquaredError,
                         RMSprop, Sequential, load_model)

W0 = np.array([[1.0, -2.0], [0.5, 4.0]])
G0 = np.array([[3.0, 4.0], [0.0, 0.0]])        # ||G0|| = 5


# The first step of each rule, written out (every state starts at zero):
#   SGD:              W - lr g                       (momentum: v = g, the same first step)
#   Adam:             m_hat = g, v_hat = g^2         W - lr g / (|g| + eps)
#   RMSprop:          v = (1 - rho) g^2              W - lr g / (sqrt(v) + eps)
FIRST_STEPS = {
    "sgd": (lambda: SGD(learning_rate=0.1), lambda W, g: W - 0.1 * g),
    "momentum": (lambda: SGD(learning_rate=0.1, momentum=0.9), lambda W, g: W - 0.1 * g),
    "nesterov": (lambda: SGD(learning_rate=0.1, momentum=0.9, nesterov=True), lambda W, g: W - 0.1 * (g + 0.9 * g)),
    "adam": (lambda: Adam(learning_rate=0.1), lambda W, g: W - 0.1 * g / (np.abs(g) + 1e-8)),
    "rmsprop": (lambda: RMSprop(learning_rate=0.1, rho=0.9), lambda W, g: W - 0.1 * g / (np.sqrt(0.1 * g * g) + 1e-8)),
}


def with_options(name, **options):
    """The optimizer FIRST_STEPS[name] makes, made again with ``options`` added."""
    optimizer = FIRST_STEPS[name][0]()
    return type(optimizer)(**{**optimizer.get_config(), **options})


# ---------------------------------------------------------------- one step of each, by hand
@pytest.mark.parametrize("name", FIRST_STEPS)
def test_weight_decay_shrinks_W_then_the_rule_steps(name):
    """W = W - lr wd W = W (1 - 0.1 * 0.5) = 0.95 W, then the optimizer's own first step."""
    optimizer, rule = with_options(name, weight_decay=0.5), FIRST_STEPS[name][1]
    W = W0.copy()
    optimizer.step({"W": W}, {"W": G0.copy()})
    np.testing.assert_allclose(W, rule(0.95 * W0, G0), rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("name", FIRST_STEPS)
def test_clipnorm_rescales_each_gradient_to_that_norm(name):
    """||G0|| = 5 > 1: g = G0 / 5 = [[0.6, 0.8], [0, 0]]. b's gradient, of norm 0.5, stays as it is."""
    optimizer, rule = with_options(name, clipnorm=1.0), FIRST_STEPS[name][1]
    W, b, g_b = W0.copy(), np.array([1.0, 1.0]), np.array([0.3, -0.4])
    optimizer.step({"W": W, "b": b}, {"W": G0.copy(), "b": g_b.copy()})
    np.testing.assert_allclose(W, rule(W0, np.array([[0.6, 0.8], [0.0, 0.0]])), rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(b, rule(np.array([1.0, 1.0]), g_b), rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("name", FIRST_STEPS)
def test_global_clipnorm_rescales_all_gradients_by_one_factor(name):
    """Joint norm sqrt(5^2 + 0.5^2) = sqrt(25.25) > 2: both gradients times 2 / sqrt(25.25)."""
    optimizer, rule = with_options(name, global_clipnorm=2.0), FIRST_STEPS[name][1]
    W, b, g_b = W0.copy(), np.array([1.0, 1.0]), np.array([0.3, -0.4])
    optimizer.step({"W": W, "b": b}, {"W": G0.copy(), "b": g_b.copy()})
    scale = 2.0 / math.sqrt(25.25)
    np.testing.assert_allclose(W, rule(W0, G0 * scale), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(b, rule(np.array([1.0, 1.0]), g_b * scale), rtol=1e-14, atol=1e-15)


def test_sgd_numbers_by_hand():
    """lr 0.5, wd 0.4: W = 2 (1 - 0.2) = 1.6, then 1.6 - 0.5 * 1 = 1.1.

    Decaying after the update would give (2 - 0.5) * 0.8 = 1.2: the decay uses W before the update.
    """
    W = np.array([2.0])
    SGD(learning_rate=0.5, weight_decay=0.4).step({"W": W}, {"W": np.array([1.0])})
    assert W[0] == pytest.approx(1.1, abs=1e-15)


def test_the_decay_does_not_enter_the_velocity():
    """SGD lr 0.1, mu 0.5, wd 1, g = 1 twice, W = 1.

    Step 1: W = 1 * 0.9 = 0.9;    v = 1;             W = 0.9 - 0.1 = 0.8
    Step 2: W = 0.8 * 0.9 = 0.72; v = 0.5 + 1 = 1.5; W = 0.72 - 0.15 = 0.57
    (PyTorch's coupled weight_decay would put wd W into v: step 1 gives 1 - 0.1 (1 + 1) = 0.8 too, but
    step 2 has v = 0.5 * 2 + (1 + 0.8) = 2.8 and W = 0.8 - 0.28 = 0.52.)
    """
    W, optimizer = np.array([1.0]), SGD(learning_rate=0.1, momentum=0.5, weight_decay=1.0)
    history = []
    for _ in range(2):
        optimizer.step({"W": W}, {"W": np.array([1.0])})
        history.append(W[0])
    assert history == pytest.approx([0.8, 0.57], abs=1e-15)


def test_adamw_two_steps_by_hand():
    """AdamW lr 0.1, wd 0.5, g = 1 then 0.5, W = 1 (Adam's moments as in test_optimizers.py).

    Step 1: W = 0.95;  m_hat = 1, v_hat = 1:  W = 0.95 - 0.1 / (1 + eps)
    Step 2: W = W * 0.95;  m = 0.14, v = 0.001249:  W -= 0.1 (0.14 / 0.19) / (sqrt(0.001249 / 0.001999) + eps)
    """
    W, optimizer = np.array([1.0]), AdamW(learning_rate=0.1, weight_decay=0.5)
    optimizer.step({"W": W}, {"W": np.array([1.0])})
    W1 = 0.95 - 0.1 / (1 + 1e-8)
    assert W[0] == pytest.approx(W1, abs=1e-15)
    optimizer.step({"W": W}, {"W": np.array([0.5])})
    W2 = W1 * 0.95 - 0.1 * (0.14 / 0.19) / (math.sqrt(0.001249 / 0.001999) + 1e-8)
    assert W[0] == pytest.approx(W2, abs=1e-14)


def test_adamw_is_adam_with_weight_decay():
    assert AdamW().get_config() == {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9,
                                    "beta_2": 0.999, "eps": 1e-8}
    rng = np.random.default_rng(0)
    W_a = rng.normal(size=(3, 2))
    W_b = W_a.copy()
    a, b = AdamW(learning_rate=0.01), Adam(learning_rate=0.01, weight_decay=0.004)
    for _ in range(4):
        g = rng.normal(size=(3, 2))
        a.step({"W": W_a}, {"W": g})
        b.step({"W": W_b}, {"W": g})
    np.testing.assert_array_equal(W_a, W_b)


# ---------------------------------------------------------------- clipping leaves the gradients alone
@pytest.mark.parametrize("options", [{"clipnorm": 1.0}, {"global_clipnorm": 1.0}])
def test_clipping_never_changes_the_gradients_it_is_handed(options):
    grads = {"W": G0.copy(), "b": np.array([0.3, -0.4])}
    raw = {key: value.copy() for key, value in grads.items()}
    SGD(learning_rate=0.1, **options).step({"W": W0.copy(), "b": np.ones(2)}, grads)
    for key in grads:
        np.testing.assert_array_equal(grads[key], raw[key])


def test_clip_gradients_returns_the_same_arrays_when_nothing_is_clipped():
    grads = {"W": G0.copy(), "b": np.array([0.3, -0.4])}
    assert SGD().clip_gradients(grads) is grads                              # no clipping asked for
    assert SGD(global_clipnorm=10.0).clip_gradients(grads) is grads          # joint norm 5.02 < 10
    clipped = SGD(clipnorm=1.0).clip_gradients(grads)
    assert clipped["b"] is grads["b"] and clipped["W"] is not grads["W"]
    assert np.linalg.norm(clipped["W"]) == pytest.approx(1.0, rel=1e-15)


def test_clipping_keeps_float32():
    grads = {"W": G0.astype(np.float32)}
    for optimizer in (SGD(clipnorm=1.0), SGD(global_clipnorm=1.0)):
        assert optimizer.clip_gradients(grads)["W"].dtype == np.float32


def test_a_model_layers_grads_stay_raw_after_a_clipped_step():
    """compute_gradients fills layer.grads; a clipped step must not rescale them in place."""
    X, y = np.random.default_rng(0).normal(size=(8, 3)), np.arange(8) % 2
    model = Sequential([Dense(2), Activation("softmax")], SGD(learning_rate=0.1, clipnorm=1e-3),
                       CrossEntropyForSoftMax(), input_shape=3, seed=0)
    model.train_on_batch(X, y)
    raw = model.layers[0].grads["W"].copy()
    reference = Sequential([Dense(2), Activation("softmax")], SGD(learning_rate=0.1),
                           CrossEntropyForSoftMax(), input_shape=3, seed=0)
    reference.compute_gradients(X, y)
    np.testing.assert_array_equal(raw, reference.layers[0].grads["W"])
    assert np.linalg.norm(raw) > 1e-3                                   # so clipping did happen


# ---------------------------------------------------------------- through a model, and the seed's update()
def test_train_on_batch_with_weight_decay_and_clipnorm_is_the_formula():
    X, y = np.random.default_rng(1).normal(size=(10, 4)), np.random.default_rng(2).normal(size=(10, 2))

    def model(optimizer):
        return Sequential([Dense(3), Activation("tanh"), Dense(2)], optimizer, MeanSquaredError(),
                          input_shape=4, seed=0)

    trained, reference = model(SGD(learning_rate=0.2, weight_decay=0.1, clipnorm=0.05)), model(SGD())
    reference.compute_gradients(X, y)
    expected = {}
    for i in (0, 2):
        for name, W in reference.layers[i].params.items():
            g = reference.layers[i].grads[name]
            g = g * min(1.0, 0.05 / np.linalg.norm(g))
            expected[i, name] = W * (1 - 0.2 * 0.1) - 0.2 * g
    trained.train_on_batch(X, y)
    for (i, name), value in expected.items():
        np.testing.assert_allclose(trained.layers[i].params[name], value, rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("name", FIRST_STEPS)
def test_update_decays_and_clips_one_parameter(name):
    """The seed's update(param, grad): the same step, one parameter at a time; param is left as it was."""
    optimizer, rule = with_options(name, weight_decay=0.5, clipnorm=1.0), FIRST_STEPS[name][1]
    W = W0.copy()
    new = optimizer.update(W, G0)
    np.testing.assert_array_equal(W, W0)
    np.testing.assert_allclose(new, rule(0.95 * W0, G0 / 5), rtol=1e-15, atol=1e-15)
    # global_clipnorm there sees the one gradient: the same as clipnorm
    twin = with_options(name, weight_decay=0.5, global_clipnorm=1.0)
    np.testing.assert_allclose(twin.update(W, G0), new, rtol=1e-15)


def test_copies_keep_the_new_hyperparameters():
    optimizer = Adam(learning_rate=0.1, weight_decay=0.01, global_clipnorm=2.0)
    twin = copy.copy(optimizer)
    assert (twin.weight_decay, twin.clipnorm, twin.global_clipnorm) == (0.01, None, 2.0)


# ---------------------------------------------------------------- against PyTorch
def torch_run(torch_optimizer_class, W, gradients, clip=None, **hyperparameters):
    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.tensor(W, dtype=torch.float64))
    optimizer = torch_optimizer_class(torch, [param], **hyperparameters)
    for g in gradients:
        param.grad = torch.tensor(g, dtype=torch.float64)
        if clip is not None:
            torch.nn.utils.clip_grad_norm_([param], clip)
        optimizer.step()
    return param.detach().numpy()


def ours(optimizer, W, gradients):
    W = W.copy()
    for g in gradients:
        optimizer.step({"W": W}, {"W": g.copy()})
    return W


RNG = np.random.default_rng(7)
W_T, GRADIENTS_T = RNG.normal(size=(4, 3)), [RNG.normal(size=(4, 3)) for _ in range(6)]


def test_adamw_matches_torch_adamw_over_six_steps():
    expected = torch_run(lambda torch, p, **h: torch.optim.AdamW(p, **h), W_T, GRADIENTS_T,
                         lr=0.05, weight_decay=0.3, betas=(0.9, 0.999), eps=1e-8)
    got = ours(AdamW(learning_rate=0.05, weight_decay=0.3), W_T, GRADIENTS_T)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    assert not np.allclose(got, ours(Adam(learning_rate=0.05), W_T, GRADIENTS_T), atol=1e-3)   # the decay shows


def test_adam_with_weight_decay_is_torch_adamw_not_torch_adam():
    got = ours(Adam(learning_rate=0.05, weight_decay=0.3), W_T, GRADIENTS_T)
    adamw = torch_run(lambda torch, p, **h: torch.optim.AdamW(p, **h), W_T, GRADIENTS_T, lr=0.05, weight_decay=0.3)
    adam_l2 = torch_run(lambda torch, p, **h: torch.optim.Adam(p, **h), W_T, GRADIENTS_T, lr=0.05, weight_decay=0.3)
    np.testing.assert_allclose(got, adamw, rtol=1e-12, atol=1e-14)
    assert not np.allclose(got, adam_l2, atol=1e-3)


def test_sgd_without_momentum_matches_torch_sgd_weight_decay():
    """The one case where decoupled decay and the L2 gradient are one formula: W - lr (g + wd W)."""
    expected = torch_run(lambda torch, p, **h: torch.optim.SGD(p, **h), W_T, GRADIENTS_T, lr=0.1, weight_decay=0.2)
    got = ours(SGD(learning_rate=0.1, weight_decay=0.2), W_T, GRADIENTS_T)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-14)


def test_sgd_with_momentum_and_weight_decay_differs_from_torch():
    coupled = torch_run(lambda torch, p, **h: torch.optim.SGD(p, **h), W_T, GRADIENTS_T, lr=0.1, momentum=0.9,
                        weight_decay=0.2)
    got = ours(SGD(learning_rate=0.1, momentum=0.9, weight_decay=0.2), W_T, GRADIENTS_T)
    assert not np.allclose(got, coupled, atol=1e-3)


def test_global_clipnorm_matches_torch_clip_grad_norm():
    """PyTorch divides by (norm + 1e-6), Keras and deeplearner by the norm: equal to about 1e-6 relative."""
    expected = torch_run(lambda torch, p, **h: torch.optim.SGD(p, **h), W_T, GRADIENTS_T, clip=0.5, lr=0.1,
                         momentum=0.9)
    got = ours(SGD(learning_rate=0.1, momentum=0.9, global_clipnorm=0.5), W_T, GRADIENTS_T)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert not np.allclose(got, ours(SGD(learning_rate=0.1, momentum=0.9), W_T, GRADIENTS_T), atol=1e-2)


# ---------------------------------------------------------------- the default path, bit for bit
def old_sgd(param, grad, slots, lr, mu, nesterov):
    """The update as it was written before weight_decay and clipping (a copy, kept as the reference)."""
    if mu == 0:
        param -= lr * grad
        return
    if "velocity" not in slots:
        slots["velocity"] = np.zeros_like(param)
    v = slots["velocity"]
    v *= mu
    v += grad
    param -= lr * (grad + mu * v) if nesterov else lr * v


def old_adam(param, grad, slots, lr, beta_1, beta_2, eps):
    if "m" not in slots:
        slots.update(m=np.zeros_like(param), v=np.zeros_like(param), t=0)
    m, v = slots["m"], slots["v"]
    slots["t"] += 1
    t = slots["t"]
    m *= beta_1
    m += (1 - beta_1) * grad
    v *= beta_2
    v += (1 - beta_2) * grad * grad
    denominator = np.sqrt(v)
    denominator /= math.sqrt(1 - beta_2 ** t)
    denominator += eps
    step = m / denominator
    step *= lr / (1 - beta_1 ** t)
    param -= step


def old_rmsprop(param, grad, slots, lr, rho, eps):
    if "v" not in slots:
        slots["v"] = np.zeros_like(param)
    v = slots["v"]
    v *= rho
    v += (1 - rho) * grad * grad
    denominator = np.sqrt(v)
    denominator += eps
    step = grad / denominator
    step *= lr
    param -= step


@pytest.mark.parametrize("make, old", [
    (lambda **o: SGD(0.1, **o), lambda p, g, s: old_sgd(p, g, s, 0.1, 0.0, False)),
    (lambda **o: SGD(0.1, momentum=0.9, **o), lambda p, g, s: old_sgd(p, g, s, 0.1, 0.9, False)),
    (lambda **o: SGD(0.1, momentum=0.9, nesterov=True, **o), lambda p, g, s: old_sgd(p, g, s, 0.1, 0.9, True)),
    (lambda **o: Adam(0.01, **o), lambda p, g, s: old_adam(p, g, s, 0.01, 0.9, 0.999, 1e-8)),
    (lambda **o: RMSprop(0.01, **o), lambda p, g, s: old_rmsprop(p, g, s, 0.01, 0.9, 1e-8)),
], ids=["sgd", "momentum", "nesterov", "adam", "rmsprop"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_default_path_is_bit_identical_to_the_old_update(make, old, dtype):
    rng = np.random.default_rng(3)
    params = {"W": rng.normal(size=(5, 4)).astype(dtype), "b": rng.normal(size=4).astype(dtype)}
    reference = {key: value.copy() for key, value in params.items()}
    reference_slots = {key: {} for key in params}
    optimizers = [make(), make(weight_decay=0.0)]           # wd = 0 multiplies by nothing either
    copies = [{key: value.copy() for key, value in params.items()} for _ in optimizers]
    for _ in range(5):
        grads = {key: rng.normal(size=value.shape).astype(dtype) for key, value in params.items()}
        for key in params:
            old(reference[key], grads[key], reference_slots[key])
        for optimizer, arrays in zip(optimizers, copies):
            optimizer.step(arrays, grads)
    for arrays in copies:
        for key in params:
            np.testing.assert_array_equal(arrays[key], reference[key])
            assert arrays[key].dtype == dtype

def test_before_batchnorm_scaling_W_keeps_the_loss_and_divides_dW():
    """The reason the decay acts on the effective learning rate there (van Laarhoven 2017)."""
    X, y = np.random.default_rng(4).normal(size=(16, 3)), np.arange(16) % 3
    model = Sequential([Dense(4), BatchNorm(eps=1e-12), Activation("relu"), Dense(3), Activation("softmax")], SGD(),
                       CrossEntropyForSoftMax(), input_shape=3, seed=0)
    loss, _ = model.compute_gradients(X, y)
    dW = model.layers[0].grads["W"].copy()
    model.layers[0].params["W"] *= 4.0
    loss_scaled, _ = model.compute_gradients(X, y)
    assert loss_scaled == pytest.approx(loss, rel=1e-10)              # exact but for BN's eps (tiny here)
    np.testing.assert_allclose(model.layers[0].grads["W"], dW / 4.0, rtol=1e-8, atol=1e-14)


# ---------------------------------------------------------------- configs and saving
def test_configs_hold_the_new_arguments_only_when_set():
    assert SGD(0.1).get_config() == {"learning_rate": 0.1, "momentum": 0.0, "nesterov": False}
    optimizer = RMSprop(0.01, weight_decay=1e-4, clipnorm=2.0)
    assert optimizer.get_config() == {"learning_rate": 0.01, "weight_decay": 1e-4, "clipnorm": 2.0,
                                      "rho": 0.9, "eps": 1e-8}
    assert Adam(global_clipnorm=1.5).get_config()["global_clipnorm"] == 1.5
    again = RMSprop(**optimizer.get_config())
    assert again.get_config() == optimizer.get_config()


@pytest.mark.parametrize("optimizer", [
    lambda: AdamW(learning_rate=0.01, weight_decay=0.05, clipnorm=1.0),
    lambda: SGD(learning_rate=0.1, momentum=0.9, weight_decay=1e-3, global_clipnorm=0.5),
    lambda: RMSprop(learning_rate=0.01, weight_decay=1e-3),
], ids=["adamw", "sgd", "rmsprop"])
def test_a_saved_model_keeps_its_optimizer_and_trains_on_identically(optimizer, tmp_path):
    X, y = np.random.default_rng(5).normal(size=(30, 4)), np.arange(30) % 3
    model = Sequential([Dense(5), Activation("relu"), Dense(3), Activation("softmax")], optimizer(),
                       CrossEntropyForSoftMax(), input_shape=4, seed=0)
    model.fit(X, y, epochs=2, batchsize=8, verbose=0)
    model.save(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz")
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    model.fit(X, y, epochs=1, batchsize=8, verbose=0)
    loaded.fit(X, y, epochs=1, batchsize=8, verbose=0)
    for a, b in zip(model.layers, loaded.layers):
        for name in a.params:
            np.testing.assert_array_equal(a.params[name], b.params[name])


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("make, message", [
    (lambda: SGD(weight_decay=-0.1),
     r"SGD: weight_decay must be a number >= 0 or None, received weight_decay=-0\.1\. Typical values are 1e-4"),
    (lambda: Adam(weight_decay=float("nan")), r"Adam: weight_decay must be .*received weight_decay=nan"),
    (lambda: RMSprop(weight_decay="1e-4"), r"RMSprop: weight_decay must be .*received weight_decay='1e-4'.*None"),
    (lambda: SGD(learning_rate=0.5, weight_decay=2.0),
     r"SGD: learning_rate \* weight_decay must be below 1, received learning_rate=0\.5, weight_decay=2\.0.*"
     r"Pass a smaller weight_decay"),
    (lambda: SGD(clipnorm=0), r"SGD: clipnorm must be a positive number or None, received clipnorm=0\. "
                              r"Values around 1\.0 are common; pass clipnorm=None not to clip"),
    (lambda: Adam(clipnorm=-1.0), r"Adam: clipnorm must be .*received clipnorm=-1\.0"),
    (lambda: RMSprop(global_clipnorm=True), r"RMSprop: global_clipnorm must be .*received global_clipnorm=True"),
    (lambda: SGD(global_clipnorm=float("inf")), r"received global_clipnorm=inf.*global_clipnorm=None not to clip"),
    (lambda: SGD(clipnorm=1.0, global_clipnorm=5.0),
     r"SGD: clipnorm and global_clipnorm cannot both be set, received clipnorm=1\.0, global_clipnorm=5\.0\. "
     r"Pass one of them"),
    (lambda: AdamW(clipnorm=1.0, global_clipnorm=1.0), r"AdamW: clipnorm and global_clipnorm cannot both be set"),
    (lambda: AdamW(weight_decay=None),
     r"AdamW: weight_decay must be a number >= 0, received weight_decay=None\. AdamW is Adam with weight decay.*"
     r"use Adam\(\.\.\.\) for none"),
    (lambda: AdamW(weight_decay=-1), r"AdamW: weight_decay must be a number >= 0, received weight_decay=-1"),
    (lambda: AdamW(beta_1=1.5), r"AdamW: beta_1 must be a number in \[0, 1\), received beta_1=1\.5"),
    (lambda: AdamW(learning_rate=-1), r"AdamW: learning_rate must be .*received learning_rate=-1"),
])
def test_error_messages(make, message):
    with pytest.raises(ValueError, match=message):
        make()

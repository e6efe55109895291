"""deeplearner.initializers: the spread of every initializer, the old draws kept, fans, names, saving."""

import json
import math

import numpy as np
import pytest

from deeplearner import SGD, Activation, CrossEntropyForSoftMax, Dense, Sequential, load_model
from deeplearner import initializers
from deeplearner.initializers import (GlorotNormal, GlorotUniform, HeNormal, HeUniform, Initializer, Normal,
                                      Zeros, fans)

SHAPE = (400, 300)   # 120,000 draws: the sample std is within 0.3% of the true one (3 standard errors)


def draw(initializer, shape=SHAPE, seed=0, dtype=np.float64):
    return initializer(shape, np.random.default_rng(seed), dtype)


# ---------------------------------------------------------------- fans, by hand
@pytest.mark.parametrize("shape, expected", [
    ((7,), (7, 7)),                  # a bias
    ((400, 100), (400, 100)),        # Dense's W: (n_in, n_out)
    ((16, 3, 5, 5), (75, 400)),      # Conv2D's W: (F, C, kh, kw) -> (C kh kw, F kh kw)
])
def test_fans_in_deeplearners_layouts(shape, expected):
    assert fans(shape) == expected


def test_fans_refuse_other_shapes():
    with pytest.raises(ValueError, match=r"fans: expected a shape \(n,\), \(n_in, n_out\) or \(filters, "
                                         r"channels, kh, kw\), received \(2, 3, 4\)"):
        fans((2, 3, 4))


# ---------------------------------------------------------------- mean and std over many draws
# The standard deviations, written out from the formulas for fan_in = 400, fan_out = 300.
@pytest.mark.parametrize("initializer, std", [
    (HeNormal(), math.sqrt(2 / 400)),                          # 0.0707
    (HeUniform(), math.sqrt(6 / 400) / math.sqrt(3)),          # U(-r, r) has std r / sqrt(3)
    (GlorotNormal(), math.sqrt(2 / 700)),                      # 0.0535
    (GlorotUniform(), math.sqrt(6 / 700) / math.sqrt(3)),
    (Normal(0.25), 0.25),
    (Normal(), 0.01),
])
def test_sample_mean_and_std_match_the_formula(initializer, std):
    W = draw(initializer)
    assert W.shape == SHAPE and W.dtype == np.float64
    assert W.std() == pytest.approx(std, rel=0.01)
    assert abs(W.mean()) < 0.02 * std                  # 120,000 draws: the standard error is 0.003 std


@pytest.mark.parametrize("initializer, limit", [(HeUniform(), math.sqrt(6 / 400)),
                                                (GlorotUniform(), math.sqrt(6 / 700))])
def test_uniform_ones_fill_exactly_their_interval(initializer, limit):
    W = np.abs(draw(initializer))
    assert W.max() <= limit and W.max() > 0.999 * limit


def test_normal_ones_are_not_truncated():
    """As in the papers and PyTorch (Keras truncates at 2 std): some draws lie beyond 3 std."""
    W = draw(HeNormal())
    std = math.sqrt(2 / 400)
    assert np.mean(np.abs(W) > 3 * std) == pytest.approx(0.0027, abs=0.001)   # the normal's 0.27%


def test_conv_shapes_use_the_receptive_field():
    W = draw(HeNormal(), shape=(64, 8, 3, 3))         # fan_in = 8 * 3 * 3 = 72
    assert W.std() == pytest.approx(math.sqrt(2 / 72), rel=0.02)


def test_zeros_are_zero_and_draw_nothing():
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    b = Zeros()((5,), rng, np.float32)
    assert b.dtype == np.float32 and not b.any()
    assert rng.bit_generator.state == before


def test_float32_weights_are_the_float64_ones_rounded():
    W64, W32 = draw(HeNormal(), dtype=np.float64), draw(HeNormal(), dtype=np.float32)
    assert W32.dtype == np.float32
    np.testing.assert_array_equal(W32, W64.astype(np.float32))


# ---------------------------------------------------------------- old seeds, same weights
def test_dense_draws_exactly_what_it_drew_before_initializers_existed():
    """The lines Dense used to run, written out: a seed gives the weights it always gave."""
    n_in, n_out = 13, 7
    for name in ("glorot_uniform", "he_normal"):
        model = Sequential([Dense(n_out, init=name), Dense(3), Activation("softmax")], SGD(),
                           CrossEntropyForSoftMax(), input_shape=n_in, seed=42)
        rng = np.random.default_rng(42)
        if name == "glorot_uniform":
            limit = np.sqrt(6.0 / (n_in + n_out))
            W = rng.uniform(-limit, limit, size=(n_in, n_out))
        else:
            W = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
        W2 = rng.uniform(-np.sqrt(6.0 / (n_out + 3)), np.sqrt(6.0 / (n_out + 3)), size=(n_out, 3))
        np.testing.assert_array_equal(model.layers[0].params["W"], W)
        np.testing.assert_array_equal(model.layers[1].params["W"], W2)   # the generator moved on as before
        np.testing.assert_array_equal(model.layers[0].params["b"], np.zeros(n_out))


def test_dense_takes_a_name_or_an_object_and_draws_from_the_models_generator():
    def first_weights(init, seed):
        model = Sequential([Dense(50, init=init), Activation("softmax")], SGD(), CrossEntropyForSoftMax(),
                           input_shape=20, seed=seed)
        return model.layers[0].params["W"]
    np.testing.assert_array_equal(first_weights("he_uniform", 1), first_weights(HeUniform(), 1))
    assert not np.array_equal(first_weights("he_uniform", 1), first_weights("he_uniform", 2))
    assert first_weights(Normal(0.5), 0).std() == pytest.approx(0.5, rel=0.05)
    np.testing.assert_array_equal(first_weights(Normal(0.5), 3), 0.5 * np.random.default_rng(3).normal(
        size=(20, 50)))   # N(0, std^2) is std times the generator's standard normals


# ---------------------------------------------------------------- names, configs and saving
def test_names_map_to_instances_with_default_arguments():
    assert [initializers.get(name, "Dense") for name in initializers.NAMES] == [
        GlorotNormal(), GlorotUniform(), HeNormal(), HeUniform(), Normal(0.01), Zeros()]


@pytest.mark.parametrize("init, stored", [
    ("he_normal", "he_normal"), (HeNormal(), "he_normal"), (Normal(0.01), "normal"),
    (Normal(0.3), {"class": "Normal", "config": {"std": 0.3}}), (GlorotNormal(), "glorot_normal"),
])
def test_dense_config_stores_a_name_or_a_json_dict(init, stored):
    config = Dense(4, init=init).get_config()
    assert config == {"units": 4, "init": stored}
    assert json.loads(json.dumps(config)) == config
    assert Dense(**config).init == initializers.get(init, "Dense")


def test_a_model_with_non_default_initializers_saves_and_loads(tmp_path):
    model = Sequential([Dense(6, init=Normal(0.3)), Activation("relu"), Dense(5, init="he_uniform"),
                        Dense(3, init=GlorotNormal()), Activation("softmax")],
                       SGD(learning_rate=0.1), CrossEntropyForSoftMax(), input_shape=4, seed=0)
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert [loaded.layers[i].init for i in (0, 2, 3)] == [Normal(0.3), HeUniform(), GlorotNormal()]
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    # A model built from the loaded layers' configs with the same seed draws the same weights.
    rebuilt = Sequential([type(layer)(**layer.get_config()) for layer in loaded.layers], SGD(),
                         CrossEntropyForSoftMax(), input_shape=4, seed=0)
    np.testing.assert_array_equal(rebuilt.layers[0].params["W"], model.layers[0].params["W"])


class Mine(Initializer):
    def draw(self, shape, fan_in, fan_out, rng):
        return np.full(shape, 0.5)


def test_an_initializer_of_your_own_is_used_but_not_saved(tmp_path):
    model = Sequential([Dense(2, init=Mine()), Activation("softmax")], SGD(), CrossEntropyForSoftMax(),
                       input_shape=3, seed=0)
    np.testing.assert_array_equal(model.layers[0].params["W"], np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match=r"save_model: layer 0 \(Dense\): Dense: only the initializers of "
                                         r"deeplearner.initializers can be saved, this layer holds Mine\(\)"):
        model.save(tmp_path / "m.npz")


@pytest.mark.parametrize("init, error, message", [
    ("xavier", ValueError, r"Dense: unknown init='xavier'. Use one of \('glorot_normal', 'glorot_uniform', "
                           r"'he_normal', 'he_uniform', 'normal', 'zeros'\), or an initializer such as "
                           r"Normal\(std=0.01\)"),
    (HeNormal, TypeError, r"Dense: init=HeNormal is a class; pass an instance, e.g. init=HeNormal\(\)\."),
    (0.01, TypeError, r"Dense: init must be a name from .* or an Initializer such as Normal\(std=0.01\), "
                      r"received init=0.01\."),
    ({"class": "Evil", "config": {}}, TypeError, r"received init=\{'class': 'Evil'"),
])
def test_dense_init_errors(init, error, message):
    with pytest.raises(error, match=message):
        Dense(3, init=init)


@pytest.mark.parametrize("std", [0, -0.1, float("nan"), float("inf"), True, "0.1"])
def test_normal_std_must_be_positive(std):
    with pytest.raises(ValueError, match=rf"Normal: std must be a positive number, received std={std!r}\. "
                                         r"Example: Normal\(std=0.01\)\."):
        Normal(std)


def test_conv2d_draws_exactly_what_it_drew_before_and_takes_any_initializer(tmp_path):
    from deeplearner import Conv2D, Flatten

    F, C, kh, kw = 4, 2, 3, 3
    fan_in, fan_out = C * kh * kw, F * kh * kw
    for name in ("he_normal", "glorot_uniform"):
        model = Sequential([Conv2D(F, 3, init=name), Flatten(), Dense(3), Activation("softmax")], SGD(),
                           CrossEntropyForSoftMax(), input_shape=(C, 6, 6), seed=7)
        rng = np.random.default_rng(7)   # Conv2D's lines before initializers existed, written out
        if name == "glorot_uniform":
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            W = rng.uniform(-limit, limit, size=(F, C, kh, kw))
        else:
            W = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(F, C, kh, kw))
        np.testing.assert_array_equal(model.layers[0].params["W"], W)
    model = Sequential([Conv2D(F, 3, init=Normal(0.2)), Flatten(), Dense(3), Activation("softmax")], SGD(),
                       CrossEntropyForSoftMax(), input_shape=(C, 6, 6), seed=7)
    np.testing.assert_array_equal(model.layers[0].params["W"],
                                  0.2 * np.random.default_rng(7).normal(size=(F, C, kh, kw)))
    model.save(tmp_path / "conv.npz")
    loaded = load_model(tmp_path / "conv.npz")
    assert loaded.layers[0].get_config()["init"] == {"class": "Normal", "config": {"std": 0.2}}
    np.testing.assert_array_equal(loaded.layers[0].params["W"], model.layers[0].params["W"])

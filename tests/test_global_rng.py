"""No hidden global state: building, training and using a model never touch NumPy's global generator.

Every random draw (initialization, Dropout masks, shuffling) must come from the model's own
``numpy.random.Generator``. Two checks: the global state is unchanged afterwards, and the
legacy ``np.random.*`` functions, replaced by ones that raise, are never called.
"""

import numpy as np
import pytest

from deeplearner import (Activation, Adam, BatchNorm, CrossEntropyForSoftMax, Dense, Dropout, EarlyStopping,
                         Sequential, load_model)

LEGACY_FUNCTIONS = ["seed", "set_state", "rand", "randn", "random", "random_sample", "ranf", "sample", "randint",
                    "random_integers", "permutation", "shuffle", "choice", "uniform", "normal",
                    "standard_normal", "binomial", "bytes"]


def whole_life_of_a_model(tmp_path, seed):
    """Build, train (Dropout, BatchNorm, shuffling, validation, early stopping), use, save, load."""
    rng = np.random.default_rng(12345)
    X, y = rng.normal(size=(60, 5)), np.arange(60) % 3
    model = Sequential([Dense(8, init="he_normal"), BatchNorm(), Activation("relu"), Dropout(0.5),
                        Dense(8), Activation("tanh"), Dropout(0.2), Dense(3), Activation("softmax")],
                       Adam(learning_rate=0.01), CrossEntropyForSoftMax(), input_shape=5, seed=seed)
    model.fit(X, y, X[:20], y[:20], epochs=3, batch_size=8, verbose=0,
              callbacks=[EarlyStopping(patience=1)])
    model.train_on_batch(X[:10], y[:10])
    model.evaluate(X, y)
    model.predict(X)
    model.save(tmp_path / "model.npz")
    load_model(tmp_path / "model.npz").fit(X, y, epochs=1, verbose=0)
    return model


def assert_same_state(before, after):
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])    # the Mersenne Twister's 624 words
    assert before[2:] == after[2:]


@pytest.mark.parametrize("seed", [0, None])
def test_global_random_state_is_unchanged(seed, tmp_path):
    before = np.random.get_state()
    whole_life_of_a_model(tmp_path, seed)
    assert_same_state(before, np.random.get_state())


def test_state_check_notices_a_global_draw():
    """Control: one draw from the global generator is visible to the check above."""
    before = np.random.get_state()
    np.random.random()
    with pytest.raises(AssertionError):
        assert_same_state(before, np.random.get_state())


@pytest.fixture
def forbid_global_random(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("deeplearner used NumPy's global random state")

    for name in LEGACY_FUNCTIONS:
        monkeypatch.setattr(np.random, name, forbidden)


def test_no_legacy_random_function_is_called(forbid_global_random, tmp_path):
    model = whole_life_of_a_model(tmp_path, seed=0)
    assert model.history_["loss"]        # it did train


def test_the_forbidden_functions_really_raise(forbid_global_random):
    """Control: inside the fixture, the legacy functions fail, so the test above can fail."""
    for name in LEGACY_FUNCTIONS:
        with pytest.raises(AssertionError, match="global random state"):
            getattr(np.random, name)()

"""check_real: the one check behind every hyperparameter that must be a real number in a range."""

import math
import re
from fractions import Fraction

import numpy as np
import pytest

from deeplearner import SGD, Adam, BatchNorm, Dense, Dropout, EarlyStopping, RMSprop
from deeplearner.layers.activations import LeakyReLU
from deeplearner.validation import check_positive_int, check_real


@pytest.mark.parametrize("value", [True, False, float("nan"), float("inf"), -float("inf"), "0.5", None, 1j,
                                   np.float64("nan"), 10**400])
def test_what_is_not_a_finite_real_number_is_refused(value):
    with pytest.raises(ValueError, match=rf"^Owner: rate must be a number in \[0, 1\), received rate="
                                         rf"{re.escape(repr(value))}\.$"):
        check_real("Owner", "rate", value, 0, 1)


def test_numpy_and_fraction_values_come_back_as_python_numbers():
    for value, expected in ((np.float32(0.25), 0.25), (Fraction(1, 4), 0.25), (np.int64(0), 0.0)):
        result = check_real("Owner", "rate", value, 0, 1)
        assert result == expected and type(result) is float
    result = check_real("Owner", "units", np.int64(7), 1, integer=True)
    assert result == 7 and type(result) is int


@pytest.mark.parametrize("kwargs, good, bad, words", [
    ({"low": 0, "high": 1}, [0, 0.999], [1, -1e-9], r"a number in \[0, 1\)"),
    ({"low": 0, "high": 1, "low_open": True, "high_open": False}, [1e-9, 1], [0, 1.001], r"a number in \(0, 1\]"),
    ({"low": 0, "low_open": True}, [1e-300, 1e300], [0, -1], r"a positive number"),
    ({"low": 0, "high": math.inf}, [0, 1e300], [-1e-300], r"a number in \[0, inf\)"),
    ({"low": 1, "integer": True}, [1, 10**400], [0, 2.0], r"a positive integer"),
    ({"low": 0, "integer": True}, [0, 3], [-1, 0.5], r"an integer >= 0"),
    ({"low": 2, "high": 5, "integer": True}, [2, 4], [5, 1], r"an integer in \[2, 5\)"),
])
def test_the_interval_and_its_words(kwargs, good, bad, words):
    for value in good:
        assert check_real("Owner", "x", value, **kwargs) == value
    for value in bad:
        with pytest.raises(ValueError, match=rf"^Owner: x must be {words}, received x={value!r}\.$"):
            check_real("Owner", "x", value, **kwargs)


def test_a_hint_and_own_words_end_up_in_the_message():
    with pytest.raises(ValueError, match=r"^BatchNorm: momentum must be in \[0, 1\), received momentum=2\. "
                                         r"The usual value is 0\.9\.$"):
        check_real("BatchNorm", "momentum", 2, 0, 1, must="in [0, 1)", hint=" The usual value is 0.9.")
    with pytest.raises(ValueError, match=r"^fit: epochs must be a positive integer, received epochs=0\. "
                                         r"Pass e\.g\. epochs=10\.$"):
        check_positive_int(0, "epochs", example=10)


# Every hyperparameter that goes through check_real refuses a bool, NaN and infinity alike,
# and keeps a plain Python number (a NumPy float64 would upcast float32 arithmetic).
HYPERPARAMETERS = [
    (lambda v: SGD(learning_rate=v), "learning_rate", "SGD"), (lambda v: SGD(momentum=v), "momentum", "SGD"),
    (lambda v: Adam(beta_1=v), "beta_1", "Adam"), (lambda v: Adam(beta_2=v), "beta_2", "Adam"),
    (lambda v: Adam(eps=v), "eps", "Adam"), (lambda v: RMSprop(rho=v), "rho", "RMSprop"),
    (lambda v: RMSprop(eps=v), "eps", "RMSprop"), (lambda v: BatchNorm(momentum=v), "momentum", "BatchNorm"),
    (lambda v: BatchNorm(eps=v), "eps", "BatchNorm"), (lambda v: Dropout(v), "rate", "Dropout"),
    (lambda v: LeakyReLU(alpha=v), "alpha", "LeakyReLU"),
    (lambda v: EarlyStopping(min_delta=v), "min_delta", "EarlyStopping"),
]


@pytest.mark.parametrize("make, name, owner", HYPERPARAMETERS, ids=[f"{o}.{n}" for _, n, o in HYPERPARAMETERS])
@pytest.mark.parametrize("value", [True, float("nan"), float("inf")])
def test_every_real_hyperparameter_refuses_bools_nan_and_infinity(make, name, owner, value):
    with pytest.raises(ValueError, match=rf"^{owner}: {name} must be .*, received {name}={value!r}\."):
        make(value)


@pytest.mark.parametrize("make, name, owner", HYPERPARAMETERS, ids=[f"{o}.{n}" for _, n, o in HYPERPARAMETERS])
def test_every_real_hyperparameter_is_kept_as_a_python_float(make, name, owner):
    kept = getattr(make(np.float32(0.5)), name)
    assert type(kept) is float and kept == 0.5


@pytest.mark.parametrize("make, name", [(lambda v: Dense(v), "units"),
                                        (lambda v: EarlyStopping(patience=v), "patience")])
def test_integer_hyperparameters_refuse_bools_and_floats_and_keep_python_ints(make, name):
    for value in (True, 3.0):
        with pytest.raises(ValueError, match=rf"{name} must be .*integer.*, received {name}={value!r}\."):
            make(value)
    kept = getattr(make(np.int64(3)), name)
    assert type(kept) is int and kept == 3

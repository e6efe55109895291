"""Every bad input gets a ValueError or TypeError that names the problem and the fix.

One test per bad input listed in the reliability issue, each matching the message; then one
test that none of them, nor a few odder ones, escapes as an incidental IndexError, KeyError,
ZeroDivisionError or NumPy broadcast error.
"""

import os
import traceback

import numpy as np
import pytest

import deeplearner
from deeplearner import (SGD, Activation, Adam, BatchNorm, CrossEntropyForSoftMax, Dense, Dropout, RMSprop,
                         Sequential)

N, N_FEATURES = 20, 4


def new_model():
    return Sequential([Dense(6), BatchNorm(), Activation("relu"), Dense(3), Activation("softmax")],
                      SGD(learning_rate=0.1), CrossEntropyForSoftMax(), input_dim=N_FEATURES, seed=0)


def make_data():
    X = np.random.default_rng(0).normal(size=(N, N_FEATURES))
    y = np.arange(N) % 3                       # labels 0, 1, 2, all present
    return X, y


X, y = make_data()


@pytest.fixture(scope="module")
def trained():
    """A fitted model; the tests only call it with bad input, which must not change it."""
    model = new_model()
    model.fit(X, y, epochs=1, batchsize=5, verbose=0)
    return model


def with_value(array, row, column, value):
    array = np.array(array, dtype=float)
    if column is None:
        array[row] = value
    else:
        array[row, column] = value
    return array


# ---------------------------------------------------------------- shapes
def test_1d_input_says_reshape():
    with pytest.raises(ValueError, match=r"X must be a 2-D array of shape \(n_samples, 4\), received an array of "
                                         r"shape \(20,\)\. .*use X\.reshape\(-1, 1\).*X\.reshape\(1, -1\)"):
        new_model().fit(X[:, 0], y, verbose=0)


def test_3d_input_says_flatten():
    with pytest.raises(ValueError, match=r"X must be a 2-D array .*received an array of shape \(20, 2, 2\)\. "
                                         r"Flatten each sample first, e\.g\. X\.reshape\(len\(X\), -1\)"):
        new_model().fit(X.reshape(N, 2, 2), y, verbose=0)


def test_1d_input_to_predict_says_reshape(trained):
    with pytest.raises(ValueError, match=r"2-D array .*received an array of shape \(4,\).*reshape\(1, -1\)"):
        trained.predict(X[0])


FEATURE_CALLS = {
    "fit": lambda model: model.fit(X[:, :3], y, verbose=0),
    "validation data": lambda model: model.fit(X, y, X[:, :3], y, verbose=0),
    "predict": lambda model: model.predict(X[:, :3]),
    "predict_proba": lambda model: model.predict_proba(X[:, :3]),
    "evaluate": lambda model: model.evaluate(X[:, :3], y),
}


@pytest.mark.parametrize("where", FEATURE_CALLS)
def test_wrong_number_of_features_says_both_numbers(where, trained):
    name = "X_valid" if where == "validation data" else "X"
    model = new_model() if where.startswith(("fit", "validation")) else trained
    with pytest.raises(ValueError, match=rf"{name} has 3 features per sample, but the model expects 4 "
                                         rf"\(its input_shape\)\. Pass data with 4 columns, or build the model "
                                         rf"with input_shape=3"):
        FEATURE_CALLS[where](model)


@pytest.mark.parametrize("where", ["fit", "validation data", "evaluate"])
def test_different_lengths_of_X_and_y(where, trained):
    call = {"fit": lambda: new_model().fit(X, y[:-1], verbose=0),
            "validation data": lambda: new_model().fit(X, y, X, y[:-1], verbose=0),
            "evaluate": lambda: trained.evaluate(X, y[:-1])}[where]
    names = ("X_valid", "y_valid") if where == "validation data" else ("X", "y")
    with pytest.raises(ValueError, match=rf"{names[0]} and {names[1]} have different lengths: 20 samples in "
                                         rf"{names[0]} but 19 in {names[1]}\. Pass one label per sample"):
        call()


# ---------------------------------------------------------------- values
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_nan_or_inf_in_X_says_where(bad):
    with pytest.raises(ValueError, match=r"X contains 1 NaN or infinite values \(the first at row 3, column 1\)\. "
                                         r"Remove those rows or fill the gaps in"):
        new_model().fit(with_value(X, 3, 1, bad), y, verbose=0)


def test_nan_in_validation_X_names_X_valid():
    with pytest.raises(ValueError, match=r"X_valid contains 2 NaN or infinite values \(the first at row 0, "
                                         r"column 2\)"):
        new_model().fit(X, y, with_value(with_value(X, 0, 2, np.nan), 5, 0, np.nan), y, verbose=0)


def test_nan_in_X_to_predict(trained):
    with pytest.raises(ValueError, match=r"X contains 1 NaN or infinite values \(the first at row 7, column 0\)"):
        trained.predict(with_value(X, 7, 0, np.nan))


@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
def test_nan_or_inf_in_y_says_drop_the_rows(bad):
    with pytest.raises(ValueError, match=r"y contains 1 NaN or infinite values\. Every sample needs a valid "
                                         r"label: "
                                         r"drop the unlabeled rows"):
        new_model().fit(X, with_value(y, 4, None, bad), verbose=0)


@pytest.mark.parametrize("values, dtype", [("a", "<U1"), (None, "object")], ids=["strings", "objects"])
def test_non_numeric_X_is_a_type_error(values, dtype):
    with pytest.raises(TypeError, match=rf"X must hold numbers, received an array of dtype {dtype}\. Convert it "
                                        rf"first, e\.g\. X\.astype\(float\)"):
        new_model().fit(np.full((N, N_FEATURES), values), y, verbose=0)


def test_empty_X_in_fit():
    with pytest.raises(ValueError, match=r"X is empty \(shape \(0, 4\)\): pass at least one sample"):
        new_model().fit(np.empty((0, N_FEATURES)), np.empty(0, dtype=int), verbose=0)


def test_empty_X_in_predict(trained):
    with pytest.raises(ValueError, match=r"X is empty \(shape \(0, 4\)\): pass at least one sample"):
        trained.predict(np.empty((0, N_FEATURES)))


# ---------------------------------------------------------------- labels
@pytest.mark.parametrize("labels, shown", [(np.arange(N) % 5, r"\[0, 1, 2, 3, 4\]"),
                                           (np.array(list("abcde") * 4), r"\['a', 'b', 'c', 'd', 'e'\]")],
                         ids=["integers", "strings"])
def test_more_classes_than_output_units(labels, shown):
    with pytest.raises(ValueError, match=rf"y has 5 different labels but the model has only 3 output units\. "
                                         rf"Make the last Dense layer Dense\(5\), or check the labels: {shown}"):
        new_model().fit(X, labels, verbose=0)


def test_unknown_labels_at_evaluation(trained):
    with pytest.raises(ValueError, match=r"y contains labels the model was not trained on: \[5, 6, 7\]\. "
                                         r"The model knows \[0, 1, 2\] \(its classes_, fixed by the first fit or "
                                         r"train_on_batch\); build a new model"):
        trained.evaluate(X, y + 5)


def test_text_labels_for_a_model_trained_on_numbers(trained):
    with pytest.raises(ValueError, match=r"y holds text labels .* but the model was trained on \[0, 1, 2\] "
                                         r"\(its classes_\)\. Pass labels of the same kind as in fit"):
        trained.evaluate(X, np.array(["a"] * N))


def test_unknown_labels_in_validation_data_name_y_valid():
    with pytest.raises(ValueError, match=r"y_valid contains labels the model was not trained on: \[7, 8, 9\]"):
        new_model().fit(X, y, X, y + 7, verbose=0)


# ---------------------------------------------------------------- fit's arguments
@pytest.mark.parametrize("argument", ["epochs", "batchsize"])
@pytest.mark.parametrize("value", [0, -3, 2.5, "10", None])
def test_non_positive_epochs_or_batchsize(argument, value):
    if argument == "batchsize" and value is None:
        pytest.skip("batchsize=None means the default, 32, as batch_size=None does in Keras")
    with pytest.raises(ValueError, match=rf"fit: {argument} must be a positive integer, received "
                                         rf"{argument}={value!r}"):
        new_model().fit(X, y, verbose=0, **{argument: value})


@pytest.mark.parametrize("argument", ["epochs", "batchsize"])
def test_non_positive_epochs_or_batchsize_suggests_a_value(argument):
    with pytest.raises(ValueError, match=rf"received {argument}=0\. .*e\.g\. {argument}=\d+"):
        new_model().fit(X, y, verbose=0, **{argument: 0})


# ---------------------------------------------------------------- hyperparameters
HYPERPARAMETERS = {
    "Dense units=0": (lambda: Dense(0), r"Dense: units must be a positive integer, received units=0\. "
                                        r"Example: Dense\(100\)"),
    "Dense units=-3": (lambda: Dense(-3), r"Dense: units must be a positive integer, received units=-3"),
    "Dense units=2.5": (lambda: Dense(2.5), r"Dense: units must be a positive integer, received units=2\.5"),
    "Dense units='5'": (lambda: Dense("5"), r"Dense: units must be a positive integer, received units='5'"),
    "Dense units=True": (lambda: Dense(True), r"Dense: units must be a positive integer, received units=True"),
    "Dropout rate=1": (lambda: Dropout(1.0), r"Dropout: rate must be a number in \[0, 1\), received rate=1\.0\. "
                                             r"Example: Dropout\(0\.2\)"),
    "Dropout rate=-0.1": (lambda: Dropout(-0.1), r"Dropout: rate must be a number in \[0, 1\), "
                                                 r"received rate=-0\.1"),
    "BatchNorm momentum=1": (lambda: BatchNorm(momentum=1.0),
                             r"BatchNorm: momentum must be in \[0, 1\), received momentum=1\.0\. "
                             r"The usual value is 0\.9"),
    "BatchNorm momentum=-0.1": (lambda: BatchNorm(momentum=-0.1),
                                r"BatchNorm: momentum must be in \[0, 1\), received momentum=-0\.1"),
    "BatchNorm eps=0": (lambda: BatchNorm(eps=0), r"BatchNorm: eps must be a positive number, received eps=0\. "
                                                  r"The usual value is 1e-5"),
    "BatchNorm eps=-1e-5": (lambda: BatchNorm(eps=-1e-5), r"BatchNorm: eps must be a positive number, "
                                                          r"received eps=-1e-05"),
    "SGD learning_rate<0": (lambda: SGD(learning_rate=-0.1),
                            r"SGD: learning_rate must be a number in \[0, inf\), received learning_rate=-0\.1\. "
                            r"Typical values are 0\.001 to 0\.1"),
    "Adam learning_rate<0": (lambda: Adam(learning_rate=-0.1),
                             r"Adam: learning_rate must be a number in \[0, inf\), received learning_rate=-0\.1"),
    "RMSprop learning_rate<0": (lambda: RMSprop(learning_rate=-0.1),
                                r"RMSprop: learning_rate must be a number .*received learning_rate=-0\.1"),
    "SGD momentum=1": (lambda: SGD(momentum=1.0), r"SGD: momentum must be a number in \[0, 1\), received "
                                                  r"momentum=1\.0\. The usual value is 0\.9"),
    "SGD momentum=-0.5": (lambda: SGD(momentum=-0.5), r"SGD: momentum must be a number in \[0, 1\), received "
                                                      r"momentum=-0\.5"),
    "unknown activation": (lambda: Activation("relu6"),
                           r"Activation: unknown activation 'relu6'\. Use one of \['leaky_relu', 'relu', "
                           r"'sigmoid', 'softmax', 'tanh'\], e\.g\. Activation\('relu'\)"),
}


@pytest.mark.parametrize("case", HYPERPARAMETERS)
def test_invalid_hyperparameter(case):
    construct, message = HYPERPARAMETERS[case]
    with pytest.raises(ValueError, match=message):
        construct()


# ---------------------------------------------------------------- BatchNorm on a batch of one
def test_batchnorm_training_on_a_batch_of_one():
    layer = BatchNorm()
    layer.build(3, np.random.default_rng(0), np.float64)
    with pytest.raises(ValueError, match=r"BatchNorm: training needs at least 2 samples per batch .*received a "
                                         r"batch of 1\. Use a larger batch_size"):
        layer.forward(np.ones((1, 3)), training=True)


def test_batchnorm_batch_of_one_at_inference_is_fine():
    """The check is about training only: a single sample can be predicted."""
    layer = BatchNorm()
    layer.build(3, np.random.default_rng(0), np.float64)
    np.testing.assert_allclose(layer.forward(np.ones((1, 3)), training=False), np.ones((1, 3)) / np.sqrt(1 + 1e-5))


def test_fit_with_batchsize_1_and_batchnorm():
    """fit refuses up front, before any step, and names the layer and the fix."""
    with pytest.raises(ValueError, match=r"BatchNorm \(layer \d\) needs at least 2 samples per batch in training, "
                                         r"received batch_size=1\. Use batch_size=2 or more"):
        new_model().fit(X, y, batchsize=1, verbose=0)


def test_fit_on_a_single_sample_with_batchnorm_asks_for_more_samples():
    with pytest.raises(ValueError, match=r"(?is)BatchNorm.*at least 2 samples.*received 1.*"
                                         r"(pass at least 2 samples|more samples)"):
        new_model().fit(X[:1], y[:1], verbose=0)


# ---------------------------------------------------------------- nothing incidental escapes
BAD_INPUTS = {
    "1-D X": lambda m: m.fit(X[:, 0], y, verbose=0),
    "3-D X": lambda m: m.fit(X.reshape(N, 2, 2), y, verbose=0),
    "0-D X": lambda m: m.fit(np.float64(5.0), y, verbose=0),
    "X is None": lambda m: m.fit(None, y, verbose=0),
    "ragged X": lambda m: m.fit([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0]], [0, 1], verbose=0),
    "complex X": lambda m: m.fit(X + 1j, y, verbose=0),
    "string X": lambda m: m.fit(np.full((N, N_FEATURES), "a"), y, verbose=0),
    "too few features in fit": lambda m: m.fit(X[:, :3], y, verbose=0),
    "too many features in fit": lambda m: m.fit(np.hstack([X, X]), y, verbose=0),
    "wrong features in validation": lambda m: m.fit(X, y, X[:, :3], y, verbose=0),
    "wrong features in predict": lambda m: m.predict(X[:, :3]),
    "wrong features in predict_proba": lambda m: m.predict_proba(X[:, :3]),
    "wrong features in evaluate": lambda m: m.evaluate(X[:, :3], y),
    "short y": lambda m: m.fit(X, y[:-1], verbose=0),
    "long y": lambda m: m.fit(X, np.concatenate([y, y]), verbose=0),
    "empty y": lambda m: m.fit(X, [], verbose=0),
    "y is None": lambda m: m.fit(X, None, verbose=0),
    "3-D y": lambda m: m.fit(X, np.zeros((N, 3, 1)), verbose=0),
    "one-hot y of the wrong width": lambda m: m.fit(X, np.eye(2)[np.arange(N) % 2], verbose=0),
    "fractional labels": lambda m: m.fit(X, np.linspace(0, 1, N), verbose=0),
    "short y_valid": lambda m: m.fit(X, y, X, y[:-2], verbose=0),
    "X_valid without y_valid": lambda m: m.fit(X, y, X, None, verbose=0),
    "NaN in X": lambda m: m.fit(with_value(X, 3, 1, np.nan), y, verbose=0),
    "inf in X": lambda m: m.fit(with_value(X, 3, 1, np.inf), y, verbose=0),
    "NaN in y": lambda m: m.fit(X, with_value(y, 4, None, np.nan), verbose=0),
    "inf in y": lambda m: m.fit(X, with_value(y, 4, None, np.inf), verbose=0),
    "empty X": lambda m: m.fit(np.empty((0, N_FEATURES)), np.empty(0, dtype=int), verbose=0),
    "empty X in predict": lambda m: m.predict(np.empty((0, N_FEATURES))),
    "more classes than units": lambda m: m.fit(X, np.arange(N) % 5, verbose=0),
    "unknown labels in evaluate": lambda m: m.evaluate(X, y + 5),
    "unknown labels in validation": lambda m: m.fit(X, y, X, y + 7, verbose=0),
    "text labels in evaluate": lambda m: m.evaluate(X, np.array(["a"] * N)),
    "evaluate before fit": lambda m: new_model().evaluate(X, y),
    "epochs=0": lambda m: m.fit(X, y, epochs=0, verbose=0),
    "batchsize=0": lambda m: m.fit(X, y, batchsize=0, verbose=0),
    "batch_size=0": lambda m: m.fit(X, y, batch_size=0, verbose=0),
    "batchsize and batch_size": lambda m: m.fit(X, y, batchsize=4, batch_size=4, verbose=0),
    "unknown keyword": lambda m: m.fit(X, y, epoch=3, verbose=0),
    "validation_data of three": lambda m: m.fit(X, y, validation_data=(X, y, y), verbose=0),
    "validation_data twice": lambda m: m.fit(X, y, X, y, validation_data=(X, y), verbose=0),
    "validation_split=1.5": lambda m: m.fit(X, y, validation_split=1.5, verbose=0),
    "validation_split leaving nothing": lambda m: m.fit(X[:3], y[:3], validation_split=0.9, verbose=0),
    "batchsize=1 with BatchNorm": lambda m: new_model().fit(X, y, batchsize=1, verbose=0),
    "one sample with BatchNorm": lambda m: new_model().fit(X[:1], y[:1], verbose=0),
    "one sample train_on_batch": lambda m: new_model().train_on_batch(X[:1], y[:1]),
    **{case: (lambda m, construct=construct: construct()) for case, (construct, _) in HYPERPARAMETERS.items()},
}

DEEPLEARNER_DIR = os.path.dirname(deeplearner.__file__)


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_raises_a_deliberate_value_or_type_error(case):
    """The error is a ValueError or TypeError raised by deeplearner's own checks, not by NumPy.

    IndexError, KeyError and ZeroDivisionError fail the type check; a NumPy broadcast error is
    a ValueError, but it is raised inside NumPy, which the traceback check catches.
    """
    model = new_model()
    model.fit(X, y, epochs=1, batchsize=5, verbose=0)
    with pytest.raises(Exception) as caught:
        BAD_INPUTS[case](model)
    error = caught.value
    assert isinstance(error, (ValueError, TypeError)), f"{type(error).__name__}: {error}"
    assert not isinstance(error, (IndexError, KeyError, ArithmeticError)), type(error).__mro__
    raised_in = traceback.extract_tb(error.__traceback__)[-1].filename
    assert os.path.dirname(raised_in).startswith(DEEPLEARNER_DIR), f"raised in {raised_in}: {error}"
    assert "broadcast" not in str(error) and "out of bounds" not in str(error)

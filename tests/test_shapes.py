"""The shaped layer contract: input_shape, shapes flowing through build, and image input checked at the boundary."""

import re
from pathlib import Path

import numpy as np
import pytest

from deeplearner import (SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, Dropout, Layer, Sequential,
                         load_model)
from deeplearner.layers.base import ShapeError
from deeplearner.validation import check_X

DATA = Path(__file__).parent / "data"


def model(layers, input_shape, **kwargs):
    return Sequential(layers, SGD(learning_rate=0.1), CrossEntropyForSoftMax(), input_shape, **kwargs)


# ---------------------------------------------------------------- input_shape
def test_an_int_and_a_one_tuple_are_the_same_flat_model():
    a = model([Dense(3), Activation("softmax")], 4, seed=0)
    b = model([Dense(3), Activation("softmax")], (4,), seed=0)
    c = Sequential([Dense(3), Activation("softmax")], SGD(), CrossEntropyForSoftMax(), input_dim=4, seed=0)
    for m in (a, b, c):
        assert m.input_shape == (4,) and m.input_dim == 4 and m.layers[0].inputshape == 4
    np.testing.assert_array_equal(a.layers[0].params["W"], b.layers[0].params["W"])


def test_layers_see_an_int_for_rows_and_a_tuple_for_images():
    seen = []

    class Spy(Layer):
        def build(self, input_shape, rng, dtype):
            super().build(input_shape, rng, dtype)
            seen.append(input_shape)

        def outputshape(self):
            return 12 if isinstance(self.inputshape, tuple) else self.inputshape

        def forward(self, X, training=True):
            return X.reshape(len(X), -1)

        def backward(self, dY):
            return dY

    m = model([BatchNorm(), Spy(), Dense(3), Activation("softmax")], (3, 2, 2))
    assert seen == [(3, 2, 2)]
    assert m.input_shapes == [(3, 2, 2), (3, 2, 2), (12,), (3,)]
    assert m.output_shapes == [(3, 2, 2), (12,), (3,), (3,)]


@pytest.mark.parametrize("bad", [0, -3, (1, 0, 4), (), "400", (2.5, 3), True, None])
def test_a_bad_input_shape_says_what_is_expected(bad):
    with pytest.raises((ValueError, TypeError), match=r"Sequential: (input_shape must be a positive integer .*"
                                                      r"Examples: input_shape=400, input_shape=\(1, 20, 20\)|"
                                                      r"pass the shape of one sample once)"):
        model([Dense(3), Activation("softmax")], bad)


def test_input_shape_and_input_dim_together_is_an_error():
    with pytest.raises(TypeError, match="as input_shape .* or as input_dim=400, not both"):
        Sequential([Dense(3), Activation("softmax")], SGD(), CrossEntropyForSoftMax(), 4, input_dim=4)


def test_a_dense_after_images_names_its_position_and_says_add_flatten():
    with pytest.raises(ShapeError, match=r"Sequential: layer 2 \(Dense\) received samples of shape \(1, 4, 4\): "
                                         r"Dense takes flat rows.*Add Flatten\(\) before it"):
        model([BatchNorm(), Activation("relu"), Dense(3), Activation("softmax")], (1, 4, 4))


def test_a_model_whose_output_is_not_flat_is_refused():
    with pytest.raises(ShapeError, match=r"the last layer \(softmax\) gives samples of shape \(2, 3, 3\), but a "
                                         r"loss compares flat rows. Add Flatten\(\)"):
        model([BatchNorm(), Activation("softmax")], (2, 3, 3))


# ---------------------------------------------------------------- X at the boundary
IMAGE = (1, 20, 20)


@pytest.mark.parametrize("shape, hint", [
    ((5, 20, 20), r"no channel axis: add one with X\[:, None\] \(shape \(n, 1, 20, 20\)\)"),
    ((5, 20, 20, 1), r"look channels-last .* pass X\.transpose\(0, 3, 1, 2\)"),
    ((5, 400), r"flat row of 400 values.*X\.reshape\(-1, 1, 20, 20\).*to_images\(X\)\[:, None\]"),
    ((5, 1, 20, 21), r"Pass samples of shape \(1, 20, 20\), or build the model with input_shape=\(1, 20, 21\)"),
])
def test_image_input_of_the_wrong_shape_names_the_likely_fix(shape, hint):
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 1, 20, 20\), received shape "
                                         + re.escape(str(shape)) + r"\. .*" + hint):
        check_X(np.zeros(shape), IMAGE, np.float64)


def test_channels_last_with_three_channels_is_recognized():
    with pytest.raises(ValueError, match=r"channels-last .*X_valid\.transpose\(0, 3, 1, 2\)"):
        check_X(np.zeros((2, 8, 8, 3)), (3, 8, 8), np.float64, name="X_valid")


def test_nan_in_an_image_is_reported_by_sample_channel_row_and_column():
    X = np.zeros((4, 2, 5, 5))
    X[3, 1, 2, 4] = np.nan
    X[3, 1, 3, 0] = np.inf
    with pytest.raises(ValueError, match=r"X contains 2 NaN or infinite values \(the first at \(sample, channel, "
                                         r"row, column\) \(3, 1, 2, 4\)\)"):
        check_X(X, (2, 5, 5), np.float64)


def test_images_of_the_right_shape_pass_and_are_cast():
    X = check_X(np.ones((3, 1, 20, 20), dtype=np.uint8), IMAGE, np.float32)
    assert X.dtype == np.float32 and X.shape == (3, 1, 20, 20)


def test_a_flat_model_given_images_says_flatten_or_build_an_image_model():
    with pytest.raises(ValueError, match=r"Flatten each sample first, e\.g\. X\.reshape\(len\(X\), -1\), or build "
                                         r"an image model with input_shape=\(1, 2, 2\)"):
        check_X(np.zeros((3, 1, 2, 2)), (4,), np.float64)


# ---------------------------------------------------------------- files from before images
def test_a_model_file_saved_by_version_0_1_0_still_loads_and_predicts_the_same():
    """The file holds input_dim (an int), written before input_shape existed."""
    loaded = load_model(DATA / "model_saved_by_0.1.0.npz")
    expected = np.load(DATA / "model_saved_by_0.1.0_predictions.npz")   # what 0.1.0 predicted
    assert loaded.input_shape == (6,)
    assert [type(layer) for layer in loaded.layers] == [Dense, BatchNorm, Activation, Dropout, Dense, Activation]
    np.testing.assert_allclose(loaded.predict_proba(expected["X"]), expected["P"], rtol=1e-14)
    # ...and that is the network's arithmetic, redone by hand from the loaded weights
    W1, b1 = loaded.layers[0].params["W"], loaded.layers[0].params["b"]
    bn = loaded.layers[1]
    W2, b2 = loaded.layers[4].params["W"], loaded.layers[4].params["b"]
    H = expected["X"] @ W1 + b1
    H = bn.params["gamma"] * (H - bn.running_mean) / np.sqrt(bn.running_var + bn.eps) + bn.params["beta"]
    Z = np.maximum(H, 0) @ W2 + b2
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(P, expected["P"], rtol=1e-12)


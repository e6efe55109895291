"""BatchNorm on images (batch, channels, height, width): one mean and variance per channel."""

import numpy as np
import pytest

from deeplearner import BatchNorm, gradcheck
from deeplearner.layers.base import ShapeError


def built(shape, dtype=np.float64, **kwargs):
    layer = BatchNorm(**kwargs)
    layer.build(shape, np.random.default_rng(0), dtype)
    return layer


def images(shape, seed=0, dtype=np.float64):
    """Channels with very different means and scales, so per-channel statistics matter."""
    rng = np.random.default_rng(seed)
    n, c, h, w = shape
    X = rng.normal(size=shape) * (1 + 3 * np.arange(c))[None, :, None, None]
    return (X + 10 * np.arange(c)[None, :, None, None]).astype(dtype)


def test_parameters_and_statistics_have_one_entry_per_channel():
    layer = built((3, 5, 4))
    for array in (*layer.params.values(), *layer.buffers.values()):
        assert array.shape == (3,)
    assert layer.outputshape() == (3, 5, 4)


def test_each_channel_has_mean_0_and_std_1_over_batch_height_and_width_in_training():
    layer = built((3, 5, 4))
    Y = layer.forward(images((6, 3, 5, 4)), training=True)
    assert Y.shape == (6, 3, 5, 4)
    np.testing.assert_allclose(Y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    # std is sqrt(var / (var + eps)), a hair below 1
    np.testing.assert_allclose(Y.std(axis=(0, 2, 3)), 1, atol=1e-4)
    # ...and not per (channel, pixel): the normalization over (batch,) alone would give these exactly 0
    assert np.abs(Y.mean(axis=0)).max() > 0.1


def test_statistics_match_a_plain_numpy_computation_by_hand():
    X = images((4, 2, 3, 3), seed=1)
    layer = built((2, 3, 3), momentum=0.0, eps=1e-5)     # momentum 0: running = this batch's statistics
    Y = layer.forward(X, training=True)
    mu = np.array([X[:, c].mean() for c in range(2)])
    var = np.array([((X[:, c] - mu[c]) ** 2).mean() for c in range(2)])
    np.testing.assert_allclose(layer.running_mean, mu, rtol=1e-13)
    np.testing.assert_allclose(layer.running_var, var, rtol=1e-13)
    expected = np.stack([(X[:, c] - mu[c]) / np.sqrt(var[c] + 1e-5) for c in range(2)], axis=1)
    np.testing.assert_allclose(Y, expected, rtol=1e-12, atol=1e-12)


def test_inference_uses_the_running_statistics_per_channel():
    layer = built((2, 3, 3))
    layer.buffers["running_mean"][:] = [1.0, -2.0]
    layer.buffers["running_var"][:] = [4.0, 0.25]
    layer.params["gamma"][:] = [2.0, 1.0]
    layer.params["beta"][:] = [0.5, 0.0]
    X = images((2, 2, 3, 3), seed=2)
    Y = layer.forward(X, training=False)
    expected = np.empty_like(X)
    expected[:, 0] = 2.0 * (X[:, 0] - 1.0) / np.sqrt(4.0 + 1e-5) + 0.5
    expected[:, 1] = (X[:, 1] + 2.0) / np.sqrt(0.25 + 1e-5)
    np.testing.assert_allclose(Y, expected, rtol=1e-12)
    assert layer.X_hat is None


@pytest.mark.parametrize("shape", [(5, 3, 4, 4), (2, 1, 3, 5), (1, 4, 3, 3)])
def test_gradcheck_per_channel(shape):
    layer = built(shape[1:])
    layer.params["gamma"][:] = np.linspace(0.5, 2.0, shape[1])
    layer.params["beta"][:] = np.linspace(-1.0, 1.0, shape[1])
    result = gradcheck(layer, images(shape, seed=3))
    assert result.max_error < 1e-6, result


def test_a_single_image_is_enough_in_training_but_a_single_pixel_is_not():
    layer = built((2, 3, 3))
    assert layer.min_training_batch == 1
    Y = layer.forward(images((1, 2, 3, 3)), training=True)
    np.testing.assert_allclose(Y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    one_pixel = built((2, 1, 1))
    assert one_pixel.min_training_batch == 2
    with pytest.raises(ValueError, match=r"BatchNorm: training needs at least 2 samples per batch .*"
                                         r"received a batch of 1\. Use a larger batch_size"):
        one_pixel.forward(np.ones((1, 2, 1, 1)), training=True)


def test_rows_still_need_two_samples():
    assert built(5).min_training_batch == 2


def test_float32_stays_float32_on_images():
    layer = built((3, 4, 4), dtype=np.float32)
    X = images((5, 3, 4, 4), dtype=np.float32)
    Y = layer.forward(X, training=True)
    dX = layer.backward(np.random.default_rng(0).normal(size=Y.shape).astype(np.float32))
    assert Y.dtype == dX.dtype == np.float32
    for array in (*layer.params.values(), *layer.grads.values(), *layer.buffers.values()):
        assert array.dtype == np.float32


def test_a_sample_shape_that_is_neither_rows_nor_images_is_refused():
    with pytest.raises(ShapeError, match=r"BatchNorm takes rows \(an int width\) or images \(channels, "
                                         r"height, width\), received \(3, 4\)"):
        built((3, 4))

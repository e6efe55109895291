"""Image models end to end: every Sequential feature that works on rows works on (batch, channels, height, width)."""

import numpy as np
import pytest

from deeplearner import (SGD, Activation, AvgPool2D, BatchNorm, Conv2D, CrossEntropyForSoftMax, Dense, Dropout,
                         EarlyStopping, Flatten, MaxPool2D, Sequential, TrainingDivergedError, gradcheck,
                         load_model)
from deeplearner.layers.base import ShapeError


def small_cnn(dtype=np.float64, seed=0, learning_rate=0.1, batchnorm=True, dropout=0.1):
    norm = (lambda: [BatchNorm()]) if batchnorm else (lambda: [])
    layers = [Conv2D(3, 3, padding=1), *norm(), Activation("relu"), MaxPool2D(2),
              Conv2D(4, (2, 3), stride=(1, 2), padding=(0, 1)), *norm(), Activation("tanh"),
              AvgPool2D(2, stride=1),
              Flatten(), Dropout(dropout), Dense(3), *norm(), Activation("softmax")]
    return Sequential(layers, SGD(learning_rate=learning_rate, momentum=0.9), CrossEntropyForSoftMax(),
                      input_shape=(2, 8, 8), seed=seed, dtype=dtype)


def image_data(n=60, seed=0):
    """Three classes of 2-channel 8x8 images: a bright row, a bright column, or a bright corner."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.normal(0, 0.3, size=(n, 2, 8, 8))
    X[y == 0, 0, 2, :] += 1.5
    X[y == 1, 1, :, 5] += 1.5
    X[y == 2, :, 5:, 5:] += 1.0
    return X, y


def test_the_shapes_flow_and_the_summary_shows_them():
    m = small_cnn()
    assert m.output_shapes[:4] == [(3, 8, 8), (3, 8, 8), (3, 8, 8), (3, 4, 4)]
    assert m.output_shapes[4] == (4, 3, 2)            # (4 - 2)//1 + 1 = 3 rows, (4 + 2 - 3)//2 + 1 = 2 columns
    lines = []
    m.summary(print_fn=lines.append)
    assert "(None, 2, 8, 8)" in lines[0] and "(None, 3, 4, 4)" in lines[0] and "(None, 8)" in lines[0]


def test_a_cnn_learns_and_predicts_labels():
    X, y = image_data(120)
    m = small_cnn()
    history = m.fit(X[:90], y[:90], X[90:], y[90:], epochs=15, batch_size=16, verbose=0)
    assert history["val_accuracy"][-1] >= 0.9
    assert m.predict(X[90:]).shape == (30,)
    P = m.predict_proba(X[90:])
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-12)
    loss, accuracy = m.evaluate(X[90:], y[90:])
    assert accuracy == pytest.approx(np.mean(m.predict(X[90:]) == y[90:]))


def test_predict_in_chunks_gives_the_same_numbers_as_in_one_piece():
    X, y = image_data(50)
    m = small_cnn()
    m.fit(X, y, epochs=2, batch_size=10, verbose=0)
    whole = m.predict_proba(X)
    m.predict_batchsize = 7                           # 50 = 7 * 7 + 1: an uneven last chunk
    np.testing.assert_allclose(m.predict_proba(X), whole, rtol=1e-12)


def test_train_on_batch_accepts_a_single_image_with_batchnorm_per_channel():
    X, y = image_data(1)
    m = Sequential([Conv2D(3, 3), BatchNorm(), Activation("relu"), Flatten(), Dense(3), Activation("softmax")],
                   SGD(learning_rate=0.1), CrossEntropyForSoftMax(), input_shape=(2, 8, 8), seed=0)
    before = m.layers[0].params["W"].copy()
    assert np.isfinite(m.train_on_batch(X, y))
    assert not np.array_equal(m.layers[0].params["W"], before)


def test_gradcheck_of_a_whole_cnn():
    X, y = image_data(6, seed=1)
    result = gradcheck(small_cnn(), X, y)
    assert result.max_error < 1e-6, result
    assert {"0.W", "0.b", "1.gamma", "4.W", "5.beta", "10.W", "11.gamma"} <= set(result.errors)


def test_save_and_load_predicts_the_same_numbers_and_continues_identically(tmp_path):
    X, y = image_data(40)
    a = small_cnn()
    a.fit(X, y, epochs=2, batch_size=8, verbose=0)
    a.save(tmp_path / "cnn.npz")
    b = load_model(tmp_path / "cnn.npz")
    assert b.input_shape == (2, 8, 8)
    np.testing.assert_array_equal(b.predict_proba(X), a.predict_proba(X))
    a.fit(X, y, epochs=1, batch_size=8, verbose=0)
    b.fit(X, y, epochs=1, batch_size=8, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        for key in wa:
            np.testing.assert_array_equal(wa[key], wb[key])


def test_float32_stays_float32_through_a_cnn():
    X, y = image_data(20)
    m = small_cnn(dtype=np.float32)
    m.fit(X, y, epochs=1, batch_size=10, verbose=0)
    assert m.predict_proba(X).dtype == np.float32
    for layer in m.layers:
        for array in (*layer.params.values(), *layer.grads.values(), *layer.buffers.values()):
            assert array.dtype == np.float32, layer.name
    for slots in m.optimizer.state.values():
        assert all(value.dtype == np.float32 for value in slots.values())


def test_float32_and_float64_cnns_agree():
    X, y = image_data(30)
    # No Dropout: its masks are drawn in the model's dtype, so the two would drop different units.
    m32, m64 = small_cnn(np.float32, dropout=0.0), small_cnn(np.float64, dropout=0.0)
    m32.fit(X, y, epochs=2, batch_size=10, verbose=0)
    m64.fit(X, y, epochs=2, batch_size=10, verbose=0)
    np.testing.assert_allclose(m32.predict_proba(X), m64.predict_proba(X), rtol=1e-3, atol=1e-4)


def test_early_stopping_restores_the_best_epoch_of_a_cnn():
    X, y = image_data(60)
    m = small_cnn(learning_rate=0.3)
    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = m.fit(X[:40], y[:40], X[40:], y[40:], epochs=25, batch_size=8, verbose=0, callbacks=[stop])
    assert m.evaluate(X[40:], y[40:])[0] == pytest.approx(min(history["val_loss"]), rel=1e-12)


def test_divergence_rolls_a_cnn_back_to_finite_weights():
    X, y = image_data(40)
    m = Sequential([Conv2D(3, 3), Activation("relu"), MaxPool2D(2), Conv2D(3, 3), Activation("relu"), Flatten(),
                    Dense(3), Activation("softmax")], SGD(learning_rate=1e100, momentum=0.9),
                   CrossEntropyForSoftMax(), input_shape=(2, 8, 8), seed=0)
    with np.errstate(over="ignore", invalid="ignore"), \
            pytest.raises(TrainingDivergedError, match=r"Training diverged: at epoch 1, batch \d+ the loss became nan"):
        m.fit(X, y, epochs=5, batch_size=8, verbose=0)
    assert all(np.isfinite(value).all() for weights in m.get_weights() for value in weights.values())
    assert np.isfinite(m.predict_proba(X)).all()


def test_image_input_errors_reach_the_user_from_fit_and_predict():
    X, y = image_data(10)
    m = small_cnn()
    with pytest.raises(ValueError, match=r"no channel axis|channels-last|X\.transpose"):
        m.fit(X.transpose(0, 2, 3, 1), y, verbose=0)
    with pytest.raises(ValueError, match=r"flat row of 128 values.*X\.reshape\(-1, 2, 8, 8\)"):
        m.predict(X.reshape(10, -1))


def test_a_kernel_larger_than_its_input_names_the_layer_and_the_excess():
    with pytest.raises(ShapeError, match=r"Sequential: layer 2 \(Conv2D\) received samples of shape \(2, 4, 4\): "
                                         r".*larger than the input 4x4 by 1 row and 1 column"):
        Sequential([Conv2D(2, 3), MaxPool2D(2), Conv2D(2, 5), Flatten(), Dense(2), Activation("softmax")],
                   SGD(), CrossEntropyForSoftMax(), input_shape=(1, 10, 10))

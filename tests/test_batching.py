"""Work split into pieces gives the numbers of the whole: predict in chunks, epoch means over batches.

The expected values come from outside the code under test: the layers' own forward over all
rows at once, and a twin model replaying fit's batches by hand with train_on_batch.
"""

import numpy as np
import pytest

from deeplearner import SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, Sequential

N = 23                      # rows to predict: with chunks of 7, the last chunk has 2 rows


def trained_model():
    """A small float64 classifier whose BatchNorm statistics have moved (inference uses them)."""
    rng = np.random.default_rng(0)
    model = Sequential([Dense(6), BatchNorm(), Activation("relu"), Dense(3), Activation("softmax")],
                       SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(), input_shape=4, seed=0)
    model.fit(rng.normal(size=(40, 4)), np.arange(40) % 3, epochs=3, batch_size=8, verbose=0)
    return model


def all_rows_at_once(model, X):
    """The oracle: every layer's inference forward over all of X in one piece, not through chunks."""
    Y = X
    for layer in model.layers:
        Y = layer.forward(Y, training=False)
    return Y


@pytest.mark.parametrize("chunk", [1, 2, 7, 22, 23, 64])
def test_predicting_in_chunks_gives_each_row_its_own_prediction(chunk, monkeypatch):
    model = trained_model()
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(N, 4)), rng.integers(0, 3, N)
    expected = all_rows_at_once(model, X)                       # (N, 3)
    monkeypatch.setattr(model, "predict_batchsize", chunk)

    P = model.predict_proba(X)
    for i in range(N):           # row by row: a row dropped, repeated or shifted in any chunk shows here
        np.testing.assert_allclose(P[i], expected[i], rtol=1e-12, atol=0, err_msg=f"row {i}")
    np.testing.assert_array_equal(model.predict(X), np.argmax(expected, axis=1))

    loss, accuracy = model.evaluate(X, y)                         # chunk means weighted by chunk sizes
    expected_loss = -np.mean(np.log(expected[np.arange(N), y]))
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    assert accuracy == np.mean(np.argmax(expected, axis=1) == y)


def test_the_chunk_sizes_used_above_are_uneven_and_each_row_differs():
    """Control: with 7 rows per chunk the last has 2, and no two rows predict alike, so a lost or
    doubled row cannot hide behind a neighbour with the same numbers."""
    assert [len(range(N)[start:start + 7]) for start in range(0, N, 7)] == [7, 7, 7, 2]
    model = trained_model()
    P = all_rows_at_once(model, np.random.default_rng(1).normal(size=(N, 4)))
    assert len(np.unique(P.round(12), axis=0)) == N


def classifier(seed=0):
    """No BatchNorm or Dropout: a training forward gives what predict gives, so the replay below
    can read each batch's predictions before its step without changing any state."""
    return Sequential([Dense(5), Activation("tanh"), Dense(3), Activation("softmax")],
                      SGD(learning_rate=0.5, momentum=0.9), CrossEntropyForSoftMax(), input_shape=4, seed=seed)


def test_the_epoch_loss_and_accuracy_weight_each_batch_by_its_own_size():
    """50 rows in batches of 16: 16, 16, 16 and a last batch of 2, whose loss counts 2/50, not 16/64."""
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(50, 4)), rng.integers(0, 3, 50)
    history = classifier().fit(X, y, epochs=2, batch_size=16, shuffle=False, verbose=0)

    twin = classifier()
    for epoch in range(2):
        losses, sizes, correct = [], [], 0
        for start in range(0, 50, 16):
            X_batch, y_batch = X[start:start + 16], y[start:start + 16]
            correct += int(np.sum(twin.predict_proba(X_batch).argmax(axis=1) == y_batch))   # before the step, as fit
            losses.append(twin.train_on_batch(X_batch, y_batch))
            sizes.append(len(X_batch))
        assert sizes == [16, 16, 16, 2]
        by_size = np.dot(losses, sizes) / 50
        by_batchsize = np.dot(losses, [16] * 4) / 64
        assert abs(by_size - by_batchsize) > 1e-3 * by_size          # control: the two weightings differ here
        assert history["loss"][epoch] == pytest.approx(by_size, rel=1e-12)
        assert history["accuracy"][epoch] == correct / 50

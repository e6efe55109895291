"""End to end: the seed notebook's network, with the library's BatchNorm, learns scikit-learn's digits.

The seed trained Dense(100)-BN-relu-Dense(50)-BN-relu-Dense(10)-BN-softmax with SGD(0.1, momentum 0.9)
on the 5000 Coursera 20x20 digits; here the same network trains on the 1797 bundled 8x8 digits
(80/20 split, random_state=42, X / 16). 30 epochs of batches of 32 take about a second; the time
is not asserted (speed goals do not belong in timed tests), only the accuracy.
"""

import numpy as np
import pytest

from deeplearner import SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, Sequential


@pytest.fixture(scope="module")
def trained(digits):
    X_train, X_valid, y_train, y_valid = digits
    model = Sequential([
        Dense(100), BatchNorm(), Activation("relu"),
        Dense(50), BatchNorm(), Activation("relu"),
        Dense(10), BatchNorm(), Activation("softmax"),
    ], SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(), input_shape=64, seed=0)
    history = model.fit(X_train, y_train, X_valid, y_valid, epochs=30, batch_size=32, verbose=0)
    return model, history, X_valid, y_valid


def test_seed_architecture_reaches_95_percent_on_digits(trained):
    model, history, X_valid, y_valid = trained
    assert history["val_accuracy"][-1] >= 0.95
    loss, accuracy = model.evaluate(X_valid, y_valid)
    assert accuracy == history["val_accuracy"][-1]
    assert np.mean(model.predict(X_valid) == y_valid) >= 0.95


def test_training_loss_falls_and_the_model_is_confident_where_right(trained):
    model, history, X_valid, y_valid = trained
    assert history["loss"][-1] < 0.25 * history["loss"][0]
    P = model.predict_proba(X_valid)
    right = P.argmax(axis=1) == y_valid
    assert np.median(P[right].max(axis=1)) > 0.9

"""fit takes Keras's spellings too: batch_size=, validation_data=(X, y), validation_split=; typos get a hint."""

import numpy as np
import pytest

from deeplearner import SGD, Activation, CrossEntropyForSoftMax, Dense, Layer, Sequential

rng = np.random.default_rng(0)
X = rng.standard_normal((40, 3))
y = np.arange(40) % 4                    # every class in every part of the rows


def model(*layers):
    return Sequential([*layers, Dense(4), Activation("softmax")], SGD(learning_rate=0.1),
                      CrossEntropyForSoftMax(), input_shape=3, seed=0)


class Recorder(Layer):
    """Passes X through and notes the rows it saw, in training and at inference."""

    def __init__(self):
        super().__init__()
        self.training_rows, self.inference_rows = [], []

    def forward(self, X, training=True):
        (self.training_rows if training else self.inference_rows).append(X[:, 0].copy())
        return X

    def backward(self, dY):
        return dY


def test_batch_size_is_batchsize():
    a, b = model(), model()
    history_a = a.fit(X, y, epochs=3, batchsize=8, verbose=0)
    history_b = b.fit(X, y, epochs=3, batch_size=8, verbose=0)
    assert history_a == history_b
    np.testing.assert_array_equal(a.layers[0].params["W"], b.layers[0].params["W"])


def test_validation_data_is_the_positional_pair():
    a, b = model(), model()
    assert a.fit(X[:30], y[:30], X[30:], y[30:], epochs=3, verbose=0) == \
        b.fit(X[:30], y[:30], validation_data=(X[30:], y[30:]), epochs=3, verbose=0)


def test_validation_split_keeps_the_last_rows_as_keras_does():
    """40 rows, validation_split=0.25: floor(40 * 0.75) = 30 to train on, the last 10 to validate."""
    a, b = model(), model()
    history_a = a.fit(X, y, validation_split=0.25, epochs=3, verbose=0)
    history_b = b.fit(X[:30], y[:30], X[30:], y[30:], epochs=3, verbose=0)
    assert history_a == history_b and "val_accuracy" in history_a


def test_validation_split_takes_its_rows_before_shuffling_and_rounds_training_down():
    """10 rows at 0.25: floor(7.5) = 7 train and 3 validate; shuffling mixes only the 7."""
    recorder = Recorder()
    X_ordered = np.arange(10.0)[:, None] * np.ones((1, 3))      # row i holds the value i
    model(recorder).fit(X_ordered, np.arange(10) % 4, validation_split=0.25, epochs=2, batchsize=100,
                        shuffle=True, verbose=0)
    assert [sorted(rows) for rows in recorder.training_rows] == [list(range(7))] * 2
    assert not np.array_equal(recorder.training_rows[0], recorder.training_rows[1])   # shuffled each epoch
    assert all(list(rows) == [7, 8, 9] for rows in recorder.inference_rows)


def test_validation_split_of_zero_is_no_split_as_in_keras():
    history = model().fit(X, y, validation_split=0.0, epochs=1, verbose=0)
    assert "val_loss" not in history and "val_accuracy" not in history and "loss" in history


# ---------------------------------------------------------------- errors that name the fix
@pytest.mark.parametrize("typo, suggestion", [
    ("epoch", "epochs"), ("batch_sizes", "batch_size"), ("validation_splt", "validation_split"),
    ("callback", "callbacks"), ("x_valid", "X_valid"), ("verbosity", "verbose"),
])
def test_a_misspelled_keyword_names_the_closest_valid_one(typo, suggestion):
    with pytest.raises(TypeError, match=rf"fit\(\) got an unexpected keyword argument '{typo}'\. "
                                        rf"Did you mean {suggestion}=\? fit takes X, y, X_valid"):
        model().fit(X, y, **{typo: 1})


def test_an_unknown_keyword_lists_the_valid_ones():
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'class_weight'\. fit takes X, y, X_valid, "
                                        r"y_valid, epochs, batchsize, shuffle, verbose, callbacks, threads, "
                                        r"batch_size, "
                                        r"validation_data, validation_split\.$"):
        model().fit(X, y, class_weight={0: 1.0})
    with pytest.raises(TypeError, match=r"'class_weight'.*\(Also unknown: sample_weight\.\)"):
        model().fit(X, y, class_weight={0: 1.0}, sample_weight=np.ones(40))


def test_both_spellings_of_batchsize_are_refused():
    with pytest.raises(ValueError, match=r"fit: batch_size=16 and batchsize=8 are two spellings of the same "
                                         r"argument\. Pass only one of them\."):
        model().fit(X, y, batchsize=8, batch_size=16)


def test_a_bad_batch_size_is_named_as_it_was_spelled():
    with pytest.raises(ValueError, match=r"fit: batch_size must be a positive integer, received batch_size=0\."):
        model().fit(X, y, batch_size=0)


def test_validation_data_given_twice_is_refused():
    with pytest.raises(ValueError, match=r"validation data was passed twice, as X_valid/y_valid and as "
                                         r"validation_data\. Pass it once"):
        model().fit(X, y, X, y, validation_data=(X, y))


@pytest.mark.parametrize("bad, received", [((X, y, np.ones(40)), "a tuple of length 3"), (X, "ndarray")])
def test_validation_data_must_be_a_pair(bad, received):
    with pytest.raises(ValueError, match=rf"validation_data must be a pair \(X_valid, y_valid\), received "
                                         rf"{received}\."):
        model().fit(X, y, validation_data=bad)


@pytest.mark.parametrize("split", [1.0, 1.5, -0.2, "0.2", True])
def test_validation_split_must_be_a_fraction(split):
    with pytest.raises(ValueError, match=rf"validation_split must be a fraction between 0 and 1 \(exclusive\), "
                                         rf"received validation_split={split!r}\. Example: validation_split=0\.2"):
        model().fit(X, y, validation_split=split)


def test_validation_split_and_validation_data_do_not_mix():
    with pytest.raises(ValueError, match=r"validation_split=0\.2 and validation data were both passed\. Use one"):
        model().fit(X, y, validation_data=(X, y), validation_split=0.2)


def test_validation_split_must_leave_rows_on_both_sides():
    with pytest.raises(ValueError, match=r"validation_split=0\.9 of 3 samples leaves 0 to train on and 3 to "
                                         r"validate on; both need at least one"):
        model().fit(X[:3], y[:3], validation_split=0.9)

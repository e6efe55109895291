"""Property-based tests: batching, label sets and BatchNorm over random shapes."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from deeplearner import SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, Sequential
from deeplearner.model import training
from deeplearner.model.targets import learn_classes, one_hot


def small_model(n_in, n_out, seed=0):
    return Sequential([Dense(8), BatchNorm(), Activation("relu"), Dense(n_out), Activation("softmax")],
                      SGD(learning_rate=0.05, momentum=0.9), CrossEntropyForSoftMax(), input_dim=n_in, seed=seed)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 300), batchsize=st.integers(1, 120), shuffle=st.booleans())
def test_batches_cover_every_row_once_and_never_leave_a_single_sample_behind(n, batchsize, shuffle):
    rng = np.random.default_rng(0)
    batches = [np.arange(n)[rows] for rows in training.batches(rng, n, batchsize, shuffle)]
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(n))
    if n > 1 and batchsize > 1:
        assert min(len(batch) for batch in batches) >= 2
    assert max(len(batch) for batch in batches) <= batchsize + 1


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 60), batchsize=st.integers(1, 70), n_classes=st.integers(2, 5), seed=st.integers(0, 99))
def test_fit_with_batchnorm_works_for_any_batch_size(n, batchsize, n_classes, seed):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(n, 3)), rng.integers(0, n_classes, size=n)
    model = small_model(3, n_classes, seed)
    history = model.fit(X, y, epochs=2, batchsize=max(batchsize, 2), verbose=0)
    assert len(history["loss"]) == 2 and np.isfinite(history["loss"]).all()
    assert np.isfinite(model.predict_proba(X)).all()


labels = st.one_of(
    st.lists(st.integers(-1000, 1000), min_size=1, max_size=6, unique=True),
    st.lists(st.text("abcxyz", min_size=1, max_size=4), min_size=1, max_size=6, unique=True),
)


@settings(max_examples=40, deadline=None)
@given(label_set=labels, seed=st.integers(0, 99))
def test_any_label_set_round_trips_through_one_hot(label_set, seed):
    rng = np.random.default_rng(seed)
    y = np.array(label_set)[rng.integers(0, len(label_set), size=20)]
    n_out = len(label_set) + 1
    classes = learn_classes(y, n_out)
    assert list(classes) == sorted(classes) and set(y) <= set(classes.tolist())
    T = one_hot(y, classes, np.float64)
    assert T.shape == (20, len(classes)) and (T.sum(axis=1) == 1).all()
    np.testing.assert_array_equal(classes[T.argmax(axis=1)], y)


@settings(max_examples=15, deadline=None)
@given(label_set=labels, seed=st.integers(0, 99))
def test_predict_answers_in_the_users_own_labels(label_set, seed):
    rng = np.random.default_rng(seed)
    y = np.array(label_set)[np.arange(30) % len(label_set)]
    X = rng.normal(size=(30, 4))
    model = small_model(4, max(len(label_set), 2), seed)
    model.fit(X, y, epochs=1, batchsize=10, verbose=0)
    classes = model.classes_.tolist()
    assert set(label_set) <= set(classes)
    if not all(isinstance(label, int) and 0 <= label < model.n_outputs for label in label_set):
        assert classes == sorted(label_set)      # any other label set maps in sorted order
    assert set(model.predict(X).tolist()) <= set(classes)
    loss, accuracy = model.evaluate(X, y)
    assert accuracy == np.mean(model.predict(X) == y)


@settings(max_examples=40, deadline=None)
@given(batch=st.integers(2, 50), width=st.integers(1, 20), scale=st.floats(1e-2, 1e3), seed=st.integers(0, 999))
def test_batchnorm_training_output_is_standardized(batch, width, scale, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=5.0, scale=scale, size=(batch, width))
    layer = BatchNorm(eps=1e-12)
    layer.build(width, rng, np.float64)
    Y = layer.forward(X, training=True)
    np.testing.assert_allclose(Y.mean(axis=0), 0, atol=1e-9)
    # std 1 up to eps: a feature whose samples happen to nearly agree has var ~ eps, and then
    # std(Y) = sqrt(var / (var + eps)) < 1, exactly as the formula says.
    var = X.var(axis=0)
    np.testing.assert_allclose(Y.std(axis=0), np.sqrt(var / (var + 1e-12)), rtol=1e-6)

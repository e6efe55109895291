"""load_mnist20 and load_handwritten sort their rows by class unless asked to shuffle; a shuffle moves X and y
together, from its own seed, and is the same on every call."""

import numpy as np
import pytest
from scipy.io import savemat
from sklearn.model_selection import train_test_split

from deeplearner.datasets import load_handwritten, load_mnist20


def test_the_default_order_is_sorted_by_class_so_a_plain_slice_validates_on_two_digits():
    X, y = load_mnist20()
    assert sorted(set(y[4000:].tolist())) == [8, 9]           # the trap the docs warn about
    assert (np.diff(y) >= 0).all()


def test_shuffle_moves_rows_and_labels_together_and_keeps_every_image():
    X, y = load_mnist20()
    X_mixed, y_mixed = load_mnist20(shuffle=True)
    assert not np.array_equal(y_mixed, y)
    # every shuffled row is one of the original rows, with that row's label
    index = {row.tobytes(): label for row, label in zip(X, y)}
    assert all(index[row.tobytes()] == label for row, label in zip(X_mixed, y_mixed))
    assert np.bincount(y_mixed).tolist() == [500] * 10
    assert sorted(set(y_mixed[4000:].tolist())) == list(range(10))


def test_the_shuffle_is_fixed_by_random_state_and_leaves_numpys_global_state_alone():
    np.random.seed(123)
    before = np.random.random()
    np.random.seed(123)
    first = load_mnist20(shuffle=True)[1]
    assert np.random.random() == before
    assert np.array_equal(first, load_mnist20(shuffle=True, random_state=0)[1])
    assert not np.array_equal(first, load_mnist20(shuffle=True, random_state=1)[1])
    expected = np.repeat(np.arange(10), 500)[np.random.default_rng(0).permutation(5000)]
    assert np.array_equal(first, expected)                    # the documented permutation


def test_images_and_shuffle_combine():
    X, y = load_mnist20(images=True, shuffle=True)
    rows, labels = load_mnist20(shuffle=True)
    assert X.shape == (5000, 1, 20, 20)
    assert np.array_equal(y, labels)
    assert np.array_equal(X[7, 0], rows[7].reshape(20, 20, order="F"))


@pytest.mark.parametrize("random_state", [-1, 0.5, None, True, "0"])
def test_a_random_state_that_is_not_a_seed_is_refused(random_state):
    with pytest.raises(ValueError, match=rf"load_mnist20: random_state must be a non-negative int.*"
                                         rf"received {repr(random_state).replace('.', '[.]')}"):
        load_mnist20(shuffle=True, random_state=random_state)


def test_load_handwritten_shuffles_a_mat_file_the_same_way(tmp_path):
    images = np.arange(30 * 400, dtype=float).reshape(30, 400)
    labels = np.repeat([10, 1, 2], 10)                        # sorted, 10 for the digit 0
    path = tmp_path / "sorted.mat"
    savemat(path, {"X": images, "y": labels.reshape(-1, 1)})
    X, y = load_handwritten(path, shuffle=True, random_state=3)
    order = np.random.default_rng(3).permutation(30)
    assert np.array_equal(X, images[order]) and np.array_equal(y, np.where(labels == 10, 0, labels)[order])
    with pytest.raises(ValueError, match="load_handwritten: random_state must be a non-negative int"):
        load_handwritten(path, shuffle=True, random_state=-2)


def test_the_split_the_docs_recommend_keeps_every_digit_on_both_sides():
    X, y = load_mnist20()
    _, _, y_train, y_valid = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    assert np.bincount(y_valid).tolist() == [100] * 10
    assert np.bincount(y_train).tolist() == [400] * 10

"""deeplearner.datasets: the seed's .mat layout (column-major 20x20, labels 1..10) and the fallback."""

import numpy as np
import pytest
from scipy.io import savemat

from deeplearner.datasets import image_layout, load_digits, load_handwritten, to_images


def seven(side=20):
    """An upright, asymmetric digit: a top bar, a stem down the right, a dot bottom left.

    Neither its transpose nor its mirror image equals it, so a layout mix-up cannot pass unseen.
    """
    image = np.zeros((side, side))
    image[2, 4:side - 3] = 1.0                # the bar, near the top
    image[2:side - 2, side - 4] = 0.5         # the stem, on the right
    image[side - 3, 2] = 0.25                 # a dot, bottom left
    assert not np.array_equal(image, image.T) and not np.array_equal(image, image[:, ::-1])
    return image


def write_coursera_mat(path, images, digits):
    """Save upright images (n, 20, 20) and digits 0..9 the way handwritten.mat holds them."""
    X = images.reshape(len(images), -1, order="F")        # (n, 20, 20) -> (n, 400), column by column
    y = np.where(digits == 0, 10, digits).reshape(-1, 1)  # MATLAB labels: 10 stands for 0; (n, 1)
    savemat(path, {"X": X, "y": y})
    return path


@pytest.fixture
def mat_file(tmp_path):
    images = np.stack([seven(), np.eye(20), seven()[::-1]])   # (3, 20, 20)
    return write_coursera_mat(tmp_path / "handwritten.mat", images, np.array([7, 0, 3])), images


def test_images_come_back_upright_with_order_F(mat_file):
    path, images = mat_file
    X, _ = load_handwritten(path)
    assert X.shape == (3, 400) and X.dtype == np.float64
    np.testing.assert_array_equal(X[0].reshape(20, 20, order="F"), images[0])
    assert not np.array_equal(X[0].reshape(20, 20), images[0])   # the plain reshape is transposed
    np.testing.assert_array_equal(to_images(X), images)


def test_label_10_becomes_digit_0(mat_file):
    _, y = load_handwritten(mat_file[0])
    assert y.shape == (3,) and y.dtype == np.int64
    np.testing.assert_array_equal(y, [7, 0, 3])


def test_labels_0_to_9_and_a_row_vector_y_are_accepted(tmp_path):
    path = tmp_path / "mine.mat"
    savemat(path, {"X": np.ones((4, 64), dtype=np.uint8), "y": np.array([0, 1, 9, 5])})   # y saved as (1, 4)
    X, y = load_handwritten(path)
    assert X.dtype == np.float64
    np.testing.assert_array_equal(y, [0, 1, 9, 5])


def test_missing_file_names_the_path_the_file_and_the_fallback(tmp_path):
    path = tmp_path / "nowhere" / "handwritten.mat"
    with pytest.raises(FileNotFoundError, match=r"no file at .*nowhere.*Coursera.*load_digits"):
        load_handwritten(path)


def test_file_without_y_names_the_keys_found(tmp_path):
    path = tmp_path / "bad.mat"
    savemat(path, {"X": np.zeros((2, 400)), "labels": np.ones((2, 1))})
    with pytest.raises(ValueError, match=r"has no y; the keys found are \['X', 'labels'\]"):
        load_handwritten(path)


def test_file_without_X_and_y_names_both(tmp_path):
    path = tmp_path / "bad.mat"
    savemat(path, {"images": np.zeros((2, 400))})
    with pytest.raises(ValueError, match=r"has no X or y; the keys found are \['images'\]"):
        load_handwritten(path)


def test_X_and_y_of_different_lengths_name_both(tmp_path):
    path = tmp_path / "bad.mat"
    savemat(path, {"X": np.zeros((5, 400)), "y": np.ones((4, 1))})
    with pytest.raises(ValueError, match=r"X has 5 rows .* but y has 4 labels"):
        load_handwritten(path)


@pytest.mark.parametrize("contents", [b"",                                        # empty
                                      b"this is a text file, not MATLAB data\n" * 20,
                                      b"\x89HDF\r\n\x1a\n" + bytes(600)])          # a broken HDF5 (v7.3) file
def test_a_file_that_is_not_mat_is_a_clear_value_error(tmp_path, contents):
    path = tmp_path / "notes.mat"
    path.write_bytes(contents)
    with pytest.raises(ValueError, match=r"could not read .*notes.mat.* as a MATLAB .mat file"):
        load_handwritten(path)


def test_labels_outside_0_to_10_are_refused(tmp_path):
    path = tmp_path / "bad.mat"
    savemat(path, {"X": np.zeros((3, 400)), "y": np.array([[1], [11], [12]])})
    with pytest.raises(ValueError, match=r"labels outside 0..10: \[11, 12\]"):
        load_handwritten(path)


def test_labels_0_and_10_together_are_refused_rather_than_merged(tmp_path):
    """10 means the digit 0 in MATLAB's labels; with a 0 present too, two classes would become one."""
    path = tmp_path / "mixed.mat"
    savemat(path, {"X": np.zeros((4, 400)), "y": np.array([[0], [10], [10], [5]])})
    with pytest.raises(ValueError, match=r"holds both label 0 \(count 1\) and label 10 \(count 2\), which would "
                                         r"both become the digit 0\. Labels must be 1\.\.10 \(MATLAB's, 10 for "
                                         r"the digit 0\) or 0\.\.9, not both\."):
        load_handwritten(path)


def test_load_digits_is_scaled_row_major_8x8():
    from sklearn.datasets import load_digits as sklearn_load_digits

    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(np.unique(y), np.arange(10))
    np.testing.assert_array_equal(to_images(X) * 16, sklearn_load_digits().images)   # sklearn's upright images


def test_image_layout_knows_both_sets_and_refuses_non_squares():
    assert image_layout(400) == ((20, 20), "F")
    assert image_layout(64) == ((8, 8), "C")
    assert image_layout(100) == ((10, 10), "C")
    with pytest.raises(ValueError, match=r"50 pixels do not make a square.*shape= and order="):
        image_layout(50)


def test_to_images_takes_an_explicit_layout():
    image = seven(6)[:, :4]                                     # a 6x4 picture: not square
    np.testing.assert_array_equal(to_images(image.reshape(-1), shape=(6, 4))[0], image)
    np.testing.assert_array_equal(to_images(image.reshape(1, -1, order="F"), shape=(6, 4), order="F")[0], image)
    with pytest.raises(ValueError, match=r"shape=\(5, 5\) holds 25 pixels, but the rows of X have 24"):
        to_images(image.reshape(1, -1), shape=(5, 5))

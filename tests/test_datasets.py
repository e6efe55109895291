"""deeplearner.datasets: the seed's .mat layout (column-major 20x20, labels 1..10), the bundled MNIST
digits in that layout, and scikit-learn's digits."""

import gzip
import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

from deeplearner.datasets import MNIST20_FILE, image_layout, load_digits, load_handwritten, load_mnist20, to_images

BUILD_SCRIPT = Path(__file__).resolve().parent.parent / "data" / "build_digits.py"


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


def test_images_option_gives_upright_channels_first_images_from_a_mat_file(mat_file):
    path, images = mat_file
    X, y = load_handwritten(path, images=True)
    assert X.shape == (3, 1, 20, 20) and X.dtype == np.float64
    np.testing.assert_array_equal(X[:, 0], images)
    np.testing.assert_array_equal(y, [7, 0, 3])


def test_without_a_path_data_handwritten_mat_is_read_when_present(mat_file, tmp_path, monkeypatch):
    path, images = mat_file
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    path.rename(tmp_path / "data" / "handwritten.mat")
    X, y = load_handwritten()
    np.testing.assert_array_equal(to_images(X), images)
    np.testing.assert_array_equal(y, [7, 0, 3])
    np.testing.assert_array_equal(load_handwritten(images=True)[0][:, 0], images)


def test_without_a_path_or_data_handwritten_mat_the_bundled_digits_are_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                     # no data/handwritten.mat here
    X, y = load_handwritten()
    expected_X, expected_y = load_mnist20()
    np.testing.assert_array_equal(X, expected_X)
    np.testing.assert_array_equal(y, expected_y)


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
    with pytest.raises(FileNotFoundError, match=r"no file at .*nowhere.*Coursera.*load_mnist20\(\)"):
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


# The bundled digits, deeplearner/data/mnist20.npz, built by data/build_digits.py.

def test_bundled_digits_are_500_of_each_in_the_coursera_layout_with_values_in_0_1():
    X, y = load_mnist20()
    assert X.shape == (5000, 400) and X.dtype == np.float64
    assert y.shape == (5000,) and y.dtype == np.int64
    np.testing.assert_array_equal(y, np.repeat(np.arange(10), 500))   # 500 zeros, then 500 ones, ...
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(X * 255, np.round(X * 255))        # stored as uint8 0..255
    assert image_layout(X.shape[1]) == ((20, 20), "F")                # so plot_digits shows them upright


def test_bundled_file_is_compact_uint8_package_data():
    assert MNIST20_FILE.stat().st_size < 1_500_000
    with np.load(MNIST20_FILE) as contents:
        assert sorted(contents) == ["X", "y"]
        assert contents["X"].dtype == np.uint8 and contents["y"].dtype == np.uint8


def upright_problems(images, y):
    """What in (n, 20, 20) images of digits y says they are not upright; [] when nothing does.

    Three facts of handwriting (the bundled digits' figures in brackets), each broken by a mix-up:
    - a one is tall: its mean image spreads down the rows more than 1.5 times as far as across
      the columns [3.97 vs 1.85 pixels]; transposed, the other way round;
    - a six keeps most of its ink in its lower half (its loop) [60%] and a seven in its upper half
      (its bar) [54%]; upside down, the other way round;
    - threes and sevens keep most of their ink in their right half [58%, 59%]; mirrored, the left.
    """
    mean = {digit: images[y == digit].mean(axis=0) for digit in (1, 3, 6, 7)}   # (20, 20) each
    pixels = np.arange(20)

    def spread(profile):   # standard deviation of the pixel index, weighted by ink
        weights = profile / profile.sum()
        return np.sqrt(np.sum(weights * (pixels - np.sum(weights * pixels)) ** 2))

    def share(image, rows=slice(None), cols=slice(None)):
        return image[rows, cols].sum() / image.sum()

    problems = []
    if not spread(mean[1].sum(axis=1)) > 1.5 * spread(mean[1].sum(axis=0)):
        problems.append("ones are not tall")
    if not (share(mean[6], rows=slice(10, None)) > 0.55 and share(mean[7], rows=slice(None, 10)) > 0.5):
        problems.append("sixes or sevens are upside down")
    if not (share(mean[3], cols=slice(10, None)) > 0.55 and share(mean[7], cols=slice(10, None)) > 0.55):
        problems.append("threes or sevens are mirrored")
    return problems


def test_bundled_digits_come_back_upright_and_the_check_would_see_otherwise():
    X, y = load_mnist20()
    images = np.stack([row.reshape(20, 20, order="F") for row in X])   # (5000, 400) -> (5000, 20, 20)
    assert upright_problems(images, y) == []
    # The check can fail: each way of getting the layout wrong trips it.
    assert "ones are not tall" in upright_problems(X.reshape(-1, 20, 20), y)      # order "C": transposed
    assert "sixes or sevens are upside down" in upright_problems(images[:, ::-1], y)
    assert upright_problems(images[:, :, ::-1], y) == ["threes or sevens are mirrored"]
    # The images option and to_images agree with the reshape above.
    np.testing.assert_array_equal(to_images(X), images)
    X_images, y_images = load_mnist20(images=True)
    assert X_images.shape == (5000, 1, 20, 20) and X_images.dtype == np.float64
    np.testing.assert_array_equal(X_images[:, 0], images)
    np.testing.assert_array_equal(y_images, y)


@pytest.fixture
def build_digits():
    """data/build_digits.py, imported from its path (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("build_digits", BUILD_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_area_average_matrix_by_hand(build_digits):
    A = build_digits.area_average_matrix(28, 20)   # each new pixel covers 1.4 old ones
    assert A.shape == (20, 28)
    np.testing.assert_allclose(A.sum(axis=1), 1.0)                     # an average: weights sum to 1
    np.testing.assert_allclose(A[0, :3], [1 / 1.4, 0.4 / 1.4, 0.0])    # covers [0, 1.4): pixel 0, 0.4 of pixel 1
    np.testing.assert_allclose(A[1, :4], [0.0, 0.6 / 1.4, 0.8 / 1.4, 0.0])   # covers [1.4, 2.8)
    halve = build_digits.area_average_matrix(4, 2)                     # a whole ratio: plain 2x2 block means
    image = np.arange(16.0).reshape(4, 4)
    np.testing.assert_allclose(halve @ image @ halve.T, image.reshape(2, 2, 2, 2).mean(axis=(1, 3)))


def test_build_turns_the_csv_into_column_major_20x20_rows(build_digits):
    """A fake mnist_5k.csv.gz: 28x28 images row by row, label last; every image a bar across rows 3..5."""
    images = np.zeros((5000, 28, 28), dtype=np.int64)
    images[:, 3:6, 2:26] = 255                                  # (28, 28) upright: a bar near the top
    labels = np.repeat(np.arange(10), 500)
    text = io.StringIO()
    np.savetxt(text, np.column_stack([images.reshape(5000, -1), labels]), fmt="%d", delimiter=",")  # (5000, 785)
    X, y = build_digits.build(gzip.compress(text.getvalue().encode()))
    assert X.shape == (5000, 400) and X.dtype == np.uint8 and y.dtype == np.uint8
    np.testing.assert_array_equal(y, labels)
    np.testing.assert_array_equal(X, np.tile(X[0], (5000, 1)))
    small = X[0].reshape(20, 20, order="F")                     # upright again if stored column-major
    # New row i covers [1.4 i, 1.4 (i + 1)) of the old ones; with the bar [3, 6) row 2 ([2.8, 4.2)) shares 1.2,
    # row 3 ([4.2, 5.6)) all 1.4, row 4 ([5.6, 7.0)) 0.4, rows 0, 1 and 5.. nothing. Columns 2..17 lie in [2, 26).
    np.testing.assert_array_equal(small[2, 2:18], round(1.2 / 1.4 * 255))   # 219
    np.testing.assert_array_equal(small[3, 2:18], 255)
    np.testing.assert_array_equal(small[4, 2:18], round(0.4 / 1.4 * 255))   # 73
    np.testing.assert_array_equal(small[:2], 0)
    np.testing.assert_array_equal(small[5:], 0)

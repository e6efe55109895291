"""The seed notebook's experiment: a BatchNorm MLP learns to read handwritten digits.

    python examples/train_handwritten.py                        # data/handwritten.mat, or the bundled digits
    python examples/train_handwritten.py --no-batchnorm --plot curves.png
    python examples/train_handwritten.py --data sklearn         # scikit-learn's 8x8 digits

The network, split and optimizer are the seed's: an 80/20 split with random_state=42,
Dense(100)-BN-relu-Dense(50)-BN-relu-Dense(10)-BN-softmax, SGD(learning_rate=0.1, momentum=0.9)
and batches of 1000. The data is the seed's handwritten.mat (the Coursera digits, which we cannot
ship: see data/README.md) when you have it; without it, the 5000 MNIST digits at 20x20 that
deeplearner bundles (deeplearner.datasets.load_mnist20), data of the same kind. The first line
printed says which.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from deeplearner import SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, Dropout, Sequential
from deeplearner.datasets import HANDWRITTEN_PATH, load_digits, load_handwritten, load_mnist20

REPO_ROOT = Path(__file__).resolve().parent.parent


def positive_int(text):
    """argparse type: an integer >= 1, with a message that says so."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {value}")
    return value


def dropout_rate(text):
    """argparse type: a Dropout rate in [0, 1), so --dropout -0.5 is refused rather than ignored."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a rate in [0, 1), received {text!r}") from None
    if not 0 <= value < 1:   # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"expected a rate in [0, 1), received {value:g}")
    return value


# --data names for the sets that need no file; anything else is the path of a .mat file.
BUILT_IN = {"mnist20": "the bundled MNIST digits", "sklearn": "scikit-learn's digits"}


def data_source(text):
    """argparse type for --data: "mnist20", "sklearn" or the path of a file that exists."""
    if text in BUILT_IN or Path(text).is_file():
        return text
    raise argparse.ArgumentTypeError(f"no file at {text!r}; expected the path of a .mat file (such as "
                                     f"{HANDWRITTEN_PATH}), or one of {', '.join(BUILT_IN)}")


def default_data():
    """data/handwritten.mat in the current directory or the repository if it is there, else "mnist20"."""
    for path in (Path(HANDWRITTEN_PATH), REPO_ROOT / HANDWRITTEN_PATH):
        if path.is_file():
            return str(path)
    return "mnist20"


def load_data(data=None):
    """Return ``(X, y, name)`` for a --data value: a .mat path, "mnist20", "sklearn", or None.

    None is the default: data/handwritten.mat if it is there, else the bundled MNIST digits
    (see ``default_data``; ``not_found`` words the note for the latter case).
    """
    source = default_data() if data is None else data
    if source == "mnist20":
        X, y = load_mnist20()
        return X, y, f"{BUILT_IN[source]} ({len(X)} images of 20x20 pixels)"
    if source == "sklearn":
        X, y = load_digits()
        return X, y, f"{BUILT_IN[source]} ({len(X)} images of 8x8 pixels)"
    X, y = load_handwritten(source)
    return X, y, f"{source} ({len(X)} images of 20x20 pixels)"


def not_found(data):
    """For the first line printed: say so when the default found no handwritten.mat."""
    return f", as {HANDWRITTEN_PATH} was not found" if data is None and default_data() == "mnist20" else ""


def build_model(input_dim, batchnorm=True, dropout=0.0, seed=0):
    """The seed's network: Dense(100)-BN-relu-Dense(50)-BN-relu-Dense(10)-BN-softmax.

    ``batchnorm=False`` leaves out the three BatchNorm layers; ``dropout > 0`` adds
    ``Dropout(dropout)`` after each hidden relu (the seed's earlier, BatchNorm-free model).
    """
    layers = []
    for units, activation in ((100, "relu"), (50, "relu"), (10, "softmax")):
        layers.append(Dense(units))
        if batchnorm:
            layers.append(BatchNorm())
        layers.append(Activation(activation))
        if dropout > 0 and activation != "softmax":
            layers.append(Dropout(dropout))
    return Sequential(layers, SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(),
                      input_dim=input_dim, seed=seed)


def split(X, y):
    """The seed's split: 80% to train, 20% to validate, random_state=42."""
    return train_test_split(X, y, test_size=0.20, random_state=42)


def add_plot_argument(parser, name):
    """--plot for an experiment whose full run draws the figure ``docs/<name>`` that the docs show."""
    parser.add_argument("--plot", metavar="PATH", default=None,
                        help=f"where to write the figure (default: docs/{name} in the repository; with "
                             f"--quick, a new temporary folder, so a smoke test never replaces the docs' figure)")


def figure_path(plot, quick, name):
    """Where a figure goes: ``plot`` if given; else a fresh temporary folder for --quick, else docs/<name>."""
    if plot:
        return str(plot)
    if quick:
        return str(Path(tempfile.mkdtemp(prefix="deeplearner-quick-")) / name)
    return str(REPO_ROOT / "docs" / name)


def add_data_argument(parser):
    """--data, shared with compare_batchnorm.py."""
    parser.add_argument("--data", metavar="PATH", type=data_source, default=None,
                        help=f"a .mat file in the Coursera digits' layout, X (n, 400) and y (n, 1); or "
                             f"mnist20, the 5000 MNIST digits at 20x20 bundled with deeplearner; or sklearn, "
                             f"scikit-learn's 1797 8x8 digits (default: {HANDWRITTEN_PATH} in the current "
                             f"directory or the repository if it is there, else mnist20)")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Train the seed notebook's BatchNorm MLP on handwritten digits and report its "
                    "validation accuracy.",
        epilog=f"Without {HANDWRITTEN_PATH} this runs on the 5000 MNIST digits at 20x20 bundled with "
               f"deeplearner.")
    add_data_argument(parser)
    parser.add_argument("--epochs", type=positive_int, default=200,
                        help="passes over the training set (default: 200; the seed ran 10000)")
    parser.add_argument("--batchsize", type=positive_int, default=1000, help="samples per batch (default: 1000)")
    parser.add_argument("--no-batchnorm", dest="batchnorm", action="store_false",
                        help="leave out the BatchNorm layers, to see what they buy")
    parser.add_argument("--dropout", type=dropout_rate, default=0.0, metavar="RATE",
                        help="add Dropout(RATE) after each hidden relu (default: 0, none)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds weight initialization, Dropout and shuffling (default: 0); "
                             "the train/validation split always uses the seed's random_state=42")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                        help="0 silent, 1 progress bar and ten log lines, 2 a line per epoch (default: 1)")
    parser.add_argument("--plot", metavar="PATH", help="save the learning curves as a PNG")
    parser.add_argument("--digits", metavar="PATH",
                        help="save a PNG of validation digits with their predictions, mistakes first")
    parser.add_argument("--confusion", metavar="PATH", help="save the validation confusion matrix as a PNG")
    return parser.parse_args(argv)


def main(argv=None):
    """Run the example with command-line arguments ``argv``; return the history of ``fit``."""
    args = parse_args(argv)
    X, y, data_name = load_data(args.data)
    X_train, X_valid, y_train, y_valid = split(X, y)
    print(f"data: {data_name}{not_found(args.data)}; {len(X_train)} to train, {len(X_valid)} to validate")

    model = build_model(X.shape[1], batchnorm=args.batchnorm, dropout=args.dropout, seed=args.seed)
    model.summary()
    start = time.perf_counter()
    history = model.fit(X_train, y_train, X_valid, y_valid, epochs=args.epochs, batchsize=args.batchsize,
                        verbose=args.verbose)
    seconds = time.perf_counter() - start
    print(f"trained {args.epochs} epochs in {seconds:.1f} s ({1000 * seconds / args.epochs:.1f} ms per epoch)")

    if args.plot or args.digits or args.confusion:
        from deeplearner import plot   # only now: matplotlib is an optional dependency

        layers = "with BatchNorm" if args.batchnorm else "without BatchNorm"
        if args.plot:
            plot.plot_history(history, path=args.plot, log_loss=True, title=f"{data_name}, {layers}")
            print(f"learning curves saved to {args.plot}")
        y_pred = model.predict(X_valid)
        if args.digits:
            mistakes_first = np.argsort(y_pred == y_valid, kind="stable")   # False (wrong) sorts first
            plot.plot_digits(X_valid[mistakes_first], y_valid[mistakes_first], y_pred[mistakes_first],
                             path=args.digits, title="Validation digits, mistakes first")
            print(f"digits saved to {args.digits}")
        if args.confusion:
            plot.plot_confusion_matrix(y_valid, y_pred, path=args.confusion)
            print(f"confusion matrix saved to {args.confusion}")

    print(f"validation accuracy: {history['val_accuracy'][-1]:.3f}")
    return history


if __name__ == "__main__":
    main()

"""The seed notebook's experiment: a BatchNorm MLP learns to read handwritten digits.

    python examples/train_handwritten.py                        # data/handwritten.mat, or the fallback
    python examples/train_handwritten.py --no-batchnorm --plot curves.png

The network, split and optimizer are the seed's: an 80/20 split with random_state=42,
Dense(100)-BN-relu-Dense(50)-BN-relu-Dense(10)-BN-softmax, SGD(learning_rate=0.1, momentum=0.9)
and batches of 1000. The data is the seed's handwritten.mat (the Coursera digits, which we cannot
ship: see data/README.md); without it, scikit-learn's bundled 8x8 digits stand in.
"""

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from deeplearner import SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, Dropout, Sequential
from deeplearner.datasets import HANDWRITTEN_PATH, load_digits, load_handwritten

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


def default_data_path():
    """data/handwritten.mat in the current directory if it is there, else in the repository."""
    here = Path(HANDWRITTEN_PATH)
    return here if here.is_file() else REPO_ROOT / HANDWRITTEN_PATH


def load_data(path):
    """Return ``(X, y, name)``: handwritten.mat if ``path`` exists, else scikit-learn's digits.

    A missing file costs one line of output; a file that exists but cannot be read is an error.
    """
    path = default_data_path() if path is None else Path(path)
    try:
        X, y = load_handwritten(path)
        return X, y, f"{path} ({len(X)} images of 20x20 pixels)"
    except FileNotFoundError:
        print(f"{path} not found (the Coursera digits, see data/README.md): "
              f"using scikit-learn's 8x8 digits instead.")
        X, y = load_digits()
        return X, y, f"scikit-learn's digits ({len(X)} images of 8x8 pixels)"


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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Train the seed notebook's BatchNorm MLP on handwritten digits and report its "
                    "validation accuracy.",
        epilog="Without the data file this runs on scikit-learn's 8x8 digits (1797 images).")
    parser.add_argument("--data", metavar="PATH", default=None,
                        help=f"the Coursera digits .mat file with X (n, 400) and y (n, 1) "
                             f"(default: {HANDWRITTEN_PATH} in the current directory or the repository). "
                             f"If it is missing, scikit-learn's digits are used instead.")
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
    print(f"data: {data_name}; {len(X_train)} to train, {len(X_valid)} to validate")

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

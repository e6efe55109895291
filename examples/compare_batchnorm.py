"""The seed's claim, shown: with BatchNorm the same network converges in far fewer epochs.

    python examples/compare_batchnorm.py --plot compare.png

Trains the seed's network three times on the same split, from the same seed, for the same number
of epochs: with BatchNorm, without it, and without it but with Dropout after each hidden layer
(the seed's earlier model). Prints a table of how fast each run reaches 90% and 95% validation
accuracy and where it ends, and draws the curves of all runs in one PNG.
"""

import argparse
import time

import numpy as np
from terminaltables import AsciiTable

from deeplearner import Callback

# The network, the data and the split are train_handwritten.py's, so the runs are the seed's.
from train_handwritten import (add_data_argument, build_model, dropout_rate, load_data, not_found, positive_int,
                               split)

THRESHOLDS = (0.90, 0.95)


class EpochTimer(Callback):
    """Reads the clock after every epoch: ``seconds[k]`` is the time from the start to the end of epoch k+1."""

    def on_train_begin(self, model):
        self.start, self.seconds = time.perf_counter(), []

    def on_epoch_end(self, model, epoch, logs):
        self.seconds.append(time.perf_counter() - self.start)


def train_timed(model, train, valid, epochs, batchsize):
    """Train with an `EpochTimer`; return fit's history with one more key, ``seconds``."""
    timer = EpochTimer()
    history = model.fit(*train, *valid, epochs=epochs, batchsize=batchsize, verbose=0, callbacks=[timer])
    return {**history, "seconds": timer.seconds}


def first_epoch_reaching(history, threshold):
    """(epoch, seconds) of the first epoch with val_accuracy >= threshold, or None if never."""
    reached = np.flatnonzero(np.asarray(history["val_accuracy"]) >= threshold)
    if reached.size == 0:
        return None
    return reached[0] + 1, history["seconds"][reached[0]]   # history[0] is epoch 1


def results_table(histories):
    """The comparison as a terminaltables AsciiTable string, one row per run."""
    header = ["run"]
    for threshold in THRESHOLDS:
        header += [f"epochs to {threshold:.0%}", f"s to {threshold:.0%}"]
    header += ["train loss", "val loss", "train acc", "val acc", "ms/epoch"]
    rows = [header]
    for name, history in histories.items():
        row = [name]
        for threshold in THRESHOLDS:
            reached = first_epoch_reaching(history, threshold)
            row += ["never", "never"] if reached is None else [str(reached[0]), f"{reached[1]:.2f}"]
        epochs = len(history["loss"])
        row += [f"{history['loss'][-1]:.4f}", f"{history['val_loss'][-1]:.4f}",
                f"{history['accuracy'][-1]:.3f}", f"{history['val_accuracy'][-1]:.3f}",
                f"{1000 * history['seconds'][-1] / epochs:.1f}"]
        rows.append(row)
    table = AsciiTable(rows, title=f" After {epochs} epochs ")
    table.justify_columns = {i: "right" for i in range(1, len(header))}
    return table.table


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Train the seed's network with BatchNorm, without it, and with Dropout instead "
                    "(same data, seed and epochs) and compare how fast each learns.")
    add_data_argument(parser)
    parser.add_argument("--epochs", type=positive_int, default=200, help="epochs per run (default: 200)")
    parser.add_argument("--batchsize", type=positive_int, default=1000, help="samples per batch (default: 1000)")
    parser.add_argument("--dropout", type=dropout_rate, default=0.2, metavar="RATE",
                        help="the Dropout run's rate after each hidden relu (default: 0.2)")
    parser.add_argument("--seed", type=int, default=0, help="the seed every run starts from (default: 0)")
    parser.add_argument("--plot", metavar="PATH", help="save the loss and accuracy curves of all runs as one PNG")
    return parser.parse_args(argv)


def main(argv=None):
    """Run the comparison with command-line arguments ``argv``; return the histories by run name."""
    args = parse_args(argv)
    X, y, data_name = load_data(args.data)
    X_train, X_valid, y_train, y_valid = split(X, y)
    print(f"data: {data_name}{not_found(args.data)}; {len(X_train)} to train, {len(X_valid)} to validate; "
          f"{args.epochs} epochs of batches of {args.batchsize}, seed {args.seed}")

    runs = {"BatchNorm": dict(batchnorm=True),
            "no BatchNorm": dict(batchnorm=False),
            f"Dropout({args.dropout:g}) instead": dict(batchnorm=False, dropout=args.dropout)}
    histories = {}
    for name, options in runs.items():
        model = build_model(X.shape[1], seed=args.seed, **options)
        histories[name] = train_timed(model, (X_train, y_train), (X_valid, y_valid), args.epochs, args.batchsize)
        print(f"{name}: validation accuracy {histories[name]['val_accuracy'][-1]:.3f} "
              f"after {histories[name]['seconds'][-1]:.1f} s")

    print(results_table(histories))
    if args.plot:
        from deeplearner.plot import plot_history   # only now: matplotlib is an optional dependency

        # Log scales: the runs differ most in the first epochs and once the loss is small.
        plot_history(histories, path=args.plot, log_loss=True, log_epochs=True,   # ignores "seconds"
                     title=f"The seed's network on {data_name}, seed {args.seed}")
        print(f"curves saved to {args.plot}")
    return histories


if __name__ == "__main__":
    main()

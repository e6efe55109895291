"""Experiment 1: with BatchNorm, the scale of the initial weights hardly matters; without it, it decides everything.

    python examples/init_scale.py                       # 32 runs, about a minute; writes docs/init_scale.png
    python examples/init_scale.py --quick               # 2 scales, 2 epochs: a smoke test; figure to a temp folder

The experiment of the book "Deep Learning from Scratch" (Koki Saitou, ch. 6, batch_norm_test.py),
rebuilt with deeplearner: five hidden layers of 100 relu units, 1000 training images, batches of
100, plain SGD with learning rate 0.01, 20 epochs (200 updates), and every Dense layer's weights
drawn from Normal(std) for 16 values of std from 1 down to 1e-4 (``np.logspace(0, -4, 16)``),
once with a BatchNorm before each relu and once without. The book reports, on MNIST: without
BatchNorm the network learns only near std 0.16-0.29 and stays at chance elsewhere; with it, it
learns at every scale and reaches 0.95 or more between 0.0022 and 0.046.

Training accuracy is measured as the book does: after each epoch, on all 1000 training images, in
inference mode. Test accuracy is on the other images of the data set.
"""

import argparse
import warnings

import numpy as np
from sklearn.model_selection import train_test_split
from terminaltables import AsciiTable

from deeplearner import (SGD, Activation, BatchNorm, Callback, CrossEntropyForSoftMax, Dense, Sequential,
                         TrainingDivergedError, TrainingWarning)
from deeplearner.initializers import Normal
from train_handwritten import (add_data_argument, add_plot_argument, figure_path,   # the seed's data and split
                               load_data, not_found, positive_int)

SCALES = np.logspace(0, -4, 16)
AT_CHANCE = ("note: the runs at chance (0.1) are the failure this experiment provokes on purpose: the weight scale, "
             "not the learning rate, decides them, so fit's TrainingWarning about them is silenced here")


class TrainingAccuracy(Callback):
    """After every epoch: the accuracy on the whole training set, in inference mode (as the book measures it)."""

    def __init__(self, X, y):
        self.X, self.y, self.values = X, y, []

    def on_epoch_end(self, model, epoch, logs):
        self.values.append(model.evaluate(self.X, self.y)[1])


def build(std, batchnorm, input_dim, seed, eps=1e-5):
    """Five hidden Dense(100)[-BatchNorm(eps)]-relu blocks and Dense(10)-softmax, every W ~ Normal(std)."""
    layers = []
    for _ in range(5):
        layers.append(Dense(100, init=Normal(std)))
        if batchnorm:
            layers.append(BatchNorm(eps=eps))
        layers.append(Activation("relu"))
    layers += [Dense(10, init=Normal(std)), Activation("softmax")]
    return Sequential(layers, SGD(learning_rate=0.01), CrossEntropyForSoftMax(), input_shape=input_dim, seed=seed)


def run(std, batchnorm, data, epochs, seed, eps=1e-5):
    """Train one network; return (training accuracy per epoch, test accuracy, epoch it diverged or None).

    A run whose loss overflows (large weights without BatchNorm: each layer multiplies the signal
    by about sqrt(100 / 2) std) stops with TrainingDivergedError; its curve ends there.
    """
    X_train, X_test, y_train, y_test = data
    model = build(std, batchnorm, X_train.shape[1], seed, eps)
    accuracy = TrainingAccuracy(X_train, y_train)
    diverged = None
    # The overflow is reported by fit's TrainingDivergedError; NumPy's own warnings would only repeat it.
    # A run that stays at chance is the experiment's point: fit's TrainingWarning would blame the
    # learning rate, which the experiment does not vary (main prints AT_CHANCE once instead).
    with np.errstate(over="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", TrainingWarning)
        try:
            model.fit(X_train, y_train, epochs=epochs, batch_size=100, verbose=0, callbacks=[accuracy])
        except TrainingDivergedError:
            diverged = len(accuracy.values) + 1
    values = accuracy.values + [np.nan] * (epochs - len(accuracy.values))
    return values, (np.nan if diverged else model.evaluate(X_test, y_test)[1]), diverged


def results_table(scales, results):
    rows = [["weight std", "train acc, no BN", "train acc, BN", "test acc, no BN", "test acc, BN"]]
    for std in scales:
        row = [f"{std:.4g}"]
        for column in (0, 1):
            for batchnorm in (False, True):
                values, test, diverged = results[std, batchnorm]
                row.append(f"diverged (epoch {diverged})" if diverged else
                           f"{(values[-1], test)[column]:.3f}")
        rows.append([row[0], row[1], row[2], row[3], row[4]])
    table = AsciiTable(rows, title=" Accuracy after the last epoch ")
    table.justify_columns = {i: "right" for i in range(5)}
    return table.table


def plot_grid(scales, results, epochs, data_name, path):
    from matplotlib.figure import Figure   # only now: matplotlib is an optional dependency

    columns = 4
    rows = -(-len(scales) // columns)
    figure = Figure(figsize=(12, 2.6 * rows + 0.8), layout="constrained")
    grid = figure.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
    epoch_axis = np.arange(1, epochs + 1)
    for panel, std in zip(grid.ravel(), scales):
        for batchnorm, style, color, label in ((True, "-", "C0", "with BatchNorm"), (False, "--", "C1", "without")):
            values, _, diverged = results[std, batchnorm]
            panel.plot(epoch_axis, values, style, color=color, label=label)
            if diverged:
                panel.plot([diverged], [0.05], "x", color=color, markersize=9, label=f"{label}: diverged")
        panel.axhline(0.1, color="gray", linewidth=0.8, linestyle=":")   # chance: 10 classes
        panel.set_title(f"weights ~ Normal(std={std:.3g})", fontsize="medium")
        panel.set_ylim(0, 1.02)
        panel.grid(alpha=0.3)
    for panel in grid.ravel()[len(scales):]:
        panel.set_axis_off()
    for panel in grid[-1]:
        panel.set_xlabel("epoch (10 updates each)")
    for panel in grid[:, 0]:
        panel.set_ylabel("training accuracy")
    grid[0, 0].legend(fontsize="small", loc="center right")
    figure.suptitle(f"Five hidden layers of 100 relu units, SGD 0.01, batches of 100, on 1000 images of {data_name}"
                    f"\n(dotted: chance, 0.1; x: the loss overflowed and fit stopped with TrainingDivergedError)")
    figure.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train a 5x100 relu network from 16 weight scales, with and "
                                                 "without BatchNorm (Deep Learning from Scratch, ch. 6).")
    add_data_argument(parser)
    parser.add_argument("--epochs", type=positive_int, default=20, help="epochs of 10 updates (default: 20)")
    parser.add_argument("--seed", type=int, default=0, help="the seed of every model (default: 0)")
    parser.add_argument("--eps", type=float, default=1e-5,
                        help="BatchNorm's eps (default: 1e-5, deeplearner's and PyTorch's; the book uses 1e-6). "
                             "A layer whose batch variance is far below eps is no longer normalized to std 1")
    add_plot_argument(parser, "init_scale.png")
    parser.add_argument("--quick", action="store_true", help="2 scales and 2 epochs: a smoke test")
    args = parser.parse_args(argv)
    args.plot = figure_path(args.plot, args.quick, "init_scale.png")
    scales = SCALES[::15] if args.quick else SCALES      # quick: std 1 and 1e-4
    epochs = 2 if args.quick else args.epochs

    X, y, data_name = load_data(args.data)
    data = train_test_split(X, y, train_size=1000, random_state=0, stratify=y)
    print(f"data: {data_name}{not_found(args.data)}; 1000 to train, {len(data[1])} to test; "
          f"{epochs} epochs of batches of 100, seed {args.seed}, BatchNorm(eps={args.eps:g})")
    results = {(std, batchnorm): run(std, batchnorm, data, epochs, args.seed, args.eps)
               for std in scales for batchnorm in (False, True)}
    print(results_table(scales, results))
    print(AT_CHANCE)
    learned = {bn: [std for std in scales if results[std, bn][0][-1] >= 0.5] for bn in (False, True)}
    high = [std for std in scales if results[std, True][0][-1] >= 0.95]
    diverged = [f"{std:.3g}" for std in scales if results[std, False][2]]
    if diverged:
        print(f"without BatchNorm, fit raised TrainingDivergedError at std {', '.join(diverged)}")
    for bn, name in ((False, "without BatchNorm"), (True, "with BatchNorm")):
        print(f"{name}: training accuracy >= 0.5 at {len(learned[bn])} of {len(scales)} scales"
              + (f" (std {min(learned[bn]):.3g} to {max(learned[bn]):.3g})" if learned[bn] else ""))
    print("with BatchNorm, >= 0.95 at std " + (f"{min(high):.3g} to {max(high):.3g}" if high else "none"))
    plot_grid(scales, results, epochs, data_name, args.plot)
    print(f"curves saved to {args.plot}")
    return results


if __name__ == "__main__":
    main()

"""A small CNN with per-channel BatchNorm on the 20x20 digits, beside the seed's MLP and the CNN without BatchNorm.

    python examples/cnn_handwritten.py                       # data/handwritten.mat, or the bundled digits
    python examples/cnn_handwritten.py --plot docs/cnn_curves.png
    python examples/cnn_handwritten.py --quick               # a smoke test, seconds

The CNN (channels first: one image is (1, 20, 20))::

    Conv2D(8, 3, padding=1) - BatchNorm - relu - MaxPool2D(2)      (1, 20, 20) -> (8, 10, 10)
    Conv2D(16, 3, padding=1) - BatchNorm - relu - MaxPool2D(2)     (8, 10, 10) -> (16, 5, 5)
    Flatten - Dense(10) - BatchNorm - softmax                      400 -> 10

BatchNorm after a convolution normalizes each channel over the batch and both image axes,
as in the seed's first reference (the MXNet tutorial "cnn-batch-norm-scratch"). The CNNs train
with SGD(learning_rate=0.05, momentum=0.9) in batches of 100; the seed's MLP (Dense(100)-BN-relu-
Dense(50)-BN-relu-Dense(10)-BN-softmax on the 400 pixels) with its own settings, SGD(0.1,
momentum=0.9) in batches of 1000. The split is the seed's: 80/20, random_state=42.
"""

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from deeplearner import (SGD, Activation, BatchNorm, Conv2D, CrossEntropyForSoftMax, Dense, Flatten, MaxPool2D,
                         Sequential)
from deeplearner.datasets import HANDWRITTEN_PATH, load_handwritten


def cnn(batchnorm=True, seed=0):
    """The CNN above; ``batchnorm=False`` leaves out its three BatchNorm layers."""
    def norm():   # a fresh BatchNorm for each place: one layer object cannot sit in two
        return [BatchNorm()] if batchnorm else []
    layers = [Conv2D(8, 3, padding=1), *norm(), Activation("relu"), MaxPool2D(2),
              Conv2D(16, 3, padding=1), *norm(), Activation("relu"), MaxPool2D(2),
              Flatten(), Dense(10), *norm(), Activation("softmax")]
    return Sequential(layers, SGD(learning_rate=0.05, momentum=0.9), CrossEntropyForSoftMax(),
                      input_shape=(1, 20, 20), seed=seed)


def seed_mlp(seed=0):
    layers = []
    for units, activation in ((100, "relu"), (50, "relu"), (10, "softmax")):
        layers += [Dense(units), BatchNorm(), Activation(activation)]
    return Sequential(layers, SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(), input_shape=400,
                      seed=seed)


def epochs_to(history, level):
    """The first epoch (from 1) whose validation accuracy reached ``level``, or None."""
    reached = np.flatnonzero(np.asarray(history["val_accuracy"]) >= level)
    return int(reached[0]) + 1 if reached.size else None


def train(name, model, X_train, y_train, X_valid, y_valid, epochs, batchsize):
    start = time.perf_counter()
    history = model.fit(X_train, y_train, X_valid, y_valid, epochs=epochs, batchsize=batchsize, verbose=0)
    seconds = time.perf_counter() - start
    return {"name": name, "history": history, "ms_per_epoch": 1000 * seconds / epochs, "epochs": epochs,
            "batchsize": batchsize, "params": sum(sum(layer.count_params()) for layer in model.layers)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30, help="epochs for the CNNs (default 30)")
    parser.add_argument("--mlp-epochs", type=int, default=200, help="epochs for the seed's MLP (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="the models' seed (default 0)")
    parser.add_argument("--plot", metavar="PNG", help="write the validation curves to this file")
    parser.add_argument("--quick", action="store_true", help="625 images, 2 epochs: a smoke test")
    args = parser.parse_args(argv)

    source = (HANDWRITTEN_PATH if Path(HANDWRITTEN_PATH).is_file() else
              "the bundled MNIST digits at 20x20 (deeplearner.datasets.load_mnist20)")
    print(f"data: {source}")
    images, y = load_handwritten(images=True)                 # (5000, 1, 20, 20), upright
    if args.quick:
        images, y = images[::8], y[::8]     # 625 images, every digit (the rows are sorted by digit)
        args.epochs, args.mlp_epochs = 2, 2
    rows = images.reshape(len(images), -1)                    # (n, 400), row-major, for the MLP
    split = dict(test_size=0.20, random_state=42)
    I_train, I_valid, y_train, y_valid = train_test_split(images, y, **split)
    R_train, R_valid = train_test_split(rows, **split)        # the same rows: the split depends on n only

    runs = [train("CNN with BatchNorm", cnn(True, args.seed), I_train, y_train, I_valid, y_valid, args.epochs, 100),
            train("CNN without BatchNorm", cnn(False, args.seed), I_train, y_train, I_valid, y_valid, args.epochs,
                  100),
            train("the seed's MLP (BatchNorm)", seed_mlp(args.seed), R_train, y_train, R_valid, y_valid,
                  args.mlp_epochs, 1000)]

    print(f"\n{'model':28s} {'params':>7s} {'batch':>5s} {'epochs':>6s} {'to 90%':>7s} {'to 95%':>7s} "
          f"{'to 97%':>7s} {'val acc. at end':>15s} {'best':>6s} {'ms/epoch':>9s}")
    for run in runs:
        history = run["history"]
        reached = [epochs_to(history, level) for level in (0.90, 0.95, 0.97)]
        shown = ["-" if epoch is None else str(epoch) for epoch in reached]
        print(f"{run['name']:28s} {run['params']:7,d} {run['batchsize']:5d} {run['epochs']:6d} {shown[0]:>7s} "
              f"{shown[1]:>7s} {shown[2]:>7s} {history['val_accuracy'][-1]:15.3f} "
              f"{max(history['val_accuracy']):6.3f} {run['ms_per_epoch']:9.1f}")

    if args.plot:
        plot_curves(runs, args.plot, source)
        print(f"\nwrote {args.plot}")
    return runs


def plot_curves(runs, path, source):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for run, style in zip(runs, ("-", "--", ":")):
        epochs = np.arange(1, run["epochs"] + 1)
        label = f"{run['name']} (batch {run['batchsize']})"
        left.plot(epochs, run["history"]["val_accuracy"], style, label=label)
        right.plot(epochs, run["history"]["loss"], style, label=label)
    left.set(xscale="log", xlabel="epoch (log scale)", ylabel="validation accuracy", ylim=(0.8, 1.0),
             title="Validation accuracy")
    right.set(xscale="log", yscale="log", xlabel="epoch (log scale)", ylabel="training loss (log scale)",
              title="Training loss")
    for axes in (left, right):
        axes.grid(True, which="both", alpha=0.3)
    left.legend(loc="lower right")
    figure.suptitle(f"CNN with and without per-channel BatchNorm, and the seed's MLP, on {source}", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


if __name__ == "__main__":
    main()

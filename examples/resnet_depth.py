"""He et al. (2016), Figures 1 and 6, small: deeper plain CNNs train worse, deeper residual networks better.

    python examples/resnet_depth.py              # 12 networks, 15 epochs each: docs/resnet_depth.png (~10 minutes)
    python examples/resnet_depth.py --quick      # depths 8 and 14, 2 epochs on 300 images: a smoke test

The networks follow the paper's CIFAR-10 design (its section 4.2) at a smaller width, on the
bundled digits as images of (1, 20, 20): a 3x3 convolution with 8 filters, then three stages of
n blocks of two 3x3 convolutions with 8, 16 and 16 filters on maps of 20x20, 10x10 and 5x5 (the
first convolution of stages 2 and 3 has stride 2), then GlobalAvgPool2D and Dense(10). That is
6n + 2 layers with weights: 8, 20 and 32 for n = 1, 3 and 5. Four kinds of each depth:

- plain: each pair of convolutions is conv-BatchNorm-relu-conv-BatchNorm-relu, no shortcut;
- residual: the same pair inside a Residual block, conv-BatchNorm-relu-conv-BatchNorm, relu
  after the sum; where a block changes the shape, the shortcut is a 1x1 convolution with
  stride 2 and a BatchNorm (the paper's option B; its CIFAR networks use option A, zero padding);
- residual without BatchNorm: the same blocks with every BatchNorm removed;
- residual, zero gamma: the last BatchNorm of every block starts with gamma = 0, so every block
  starts as the identity (Goyal et al. 2017, "Accurate, Large Minibatch SGD").

Training: SGD with momentum 0.9 in batches of 50, learning rate 0.1 divided by 10 after epoch 10
(the paper divides it twice, at 32k and 48k steps); the networks without BatchNorm start at 0.01
(--no-bn-learning-rate), since at 0.1 they do not train (see docs/resnet.md). One seed per
network, 2000 training and 500 validation digits, split with every digit on both sides in the
same proportion. The paper trains for 64k steps on 50k images; this is 600 steps on 2000.
"""

import argparse
import math
import time

import numpy as np
from sklearn.model_selection import train_test_split
from terminaltables import AsciiTable

from deeplearner import (SGD, Activation, BatchNorm, Conv2D, CrossEntropyForSoftMax, Dense, GlobalAvgPool2D,
                         Residual, Sequential, StepDecay, TrainingDivergedError)
from deeplearner.datasets import load_mnist20
from train_handwritten import add_plot_argument, figure_path, positive_int

KINDS = ("plain", "residual", "residual, no BatchNorm", "residual, zero gamma")
WIDTHS = (8, 16, 16)          # filters of the three stages
BATCH = 50


def network(kind, depth, learning_rate, seed=0):
    """The plain or residual network of ``depth`` = 6n + 2 layers with weights, as in the module docstring."""
    n = (depth - 2) // 6
    batchnorm = kind != "residual, no BatchNorm"

    def norm(last=False):
        start = "zeros" if last and kind == "residual, zero gamma" else "ones"
        return [BatchNorm(gamma_initializer=start)] if batchnorm else []

    layers = [Conv2D(WIDTHS[0], 3, padding=1), *norm(), Activation("relu")]        # (1, 20, 20) -> (8, 20, 20)
    channels = WIDTHS[0]
    for stage, width in enumerate(WIDTHS):
        for block in range(n):
            stride = 2 if stage > 0 and block == 0 else 1                          # 20x20 -> 10x10 -> 5x5
            F = [Conv2D(width, 3, stride=stride, padding=1), *norm(), Activation("relu"),
                 Conv2D(width, 3, padding=1), *norm(last=True)]
            if kind == "plain":
                layers += [*F, Activation("relu")]
            else:
                same = stride == 1 and width == channels
                shortcut = None if same else [Conv2D(width, 1, stride=stride), *norm()]
                layers += [Residual(F, shortcut), Activation("relu")]
            channels = width
    layers += [GlobalAvgPool2D(), Dense(10), Activation("softmax")]                # (16, 5, 5) -> 16 -> 10
    return Sequential(layers, SGD(learning_rate=learning_rate, momentum=0.9), CrossEntropyForSoftMax(),
                      input_shape=(1, 20, 20), seed=seed, dtype=np.float32)


def layers_with_weights(model):
    """The paper's depth: convolutions and Dense layers, those inside blocks' F counted, shortcuts not."""
    def count(layers):
        return sum(count(layer.layers) if isinstance(layer, Residual) else isinstance(layer, (Conv2D, Dense))
                   for layer in layers)
    return count(model.layers)


def block_scales(kind, depth, X):
    """The root mean square of each Residual block's output at initialization, in inference mode, for inputs X."""
    model, scales = network(kind, depth, 0.1), []
    for layer in model.layers:
        X = layer.forward(X, training=False)
        if isinstance(layer, Residual):
            scales.append(float(np.sqrt(np.mean(np.square(X)))))
    return scales


def train(kind, depth, data, epochs, learning_rate):
    """Fit one network; return a dict with its history, time, parameters and whether it diverged."""
    X_train, X_valid, y_train, y_valid = data
    model = network(kind, depth, learning_rate)
    if layers_with_weights(model) != depth:
        raise AssertionError(f"{kind} network of depth {depth} has {layers_with_weights(model)} layers with weights")
    start, diverged = time.perf_counter(), None
    try:
        model.fit(X_train, y_train, X_valid, y_valid, epochs=epochs, batch_size=BATCH, verbose=0,
                  callbacks=[StepDecay(drop=0.1, every=10)])
    except TrainingDivergedError:
        diverged = len(model.history_["loss"]) + 1         # the epoch in which the loss became NaN
    seconds = time.perf_counter() - start
    history = model.history_
    return {"kind": kind, "depth": depth, "params": sum(layer.count_params()[0] for layer in model.layers),
            "loss": list(history["loss"]), "val_error": [1 - a for a in history["val_accuracy"]],
            "diverged": diverged, "seconds": seconds, "epochs": len(history["loss"])}


def table(runs):
    rows = [["Network", "Layers", "Params", "Train loss (last epoch)", "Valid error (last)", "(best)", "Seconds"]]
    for run in runs:
        if run["epochs"] == 0:
            rows.append([run["kind"], run["depth"], f"{run['params']:,}", f"diverged in epoch {run['diverged']}",
                         "-", "-", f"{run['seconds']:.0f}"])
            continue
        last = f"{run['loss'][-1]:.3f}" + (f" (diverged in epoch {run['diverged']})" if run["diverged"] else "")
        rows.append([run["kind"], run["depth"], f"{run['params']:,}", last, f"{100 * run['val_error'][-1]:.1f}%",
                     f"{100 * min(run['val_error']):.1f}%", f"{run['seconds']:.0f}"])
    return AsciiTable(rows).table


def plot(runs, path, epochs):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [kind for kind in KINDS if any(run["kind"] == kind for run in runs)]
    depths = sorted({run["depth"] for run in runs})
    colors = dict(zip(depths, ("tab:orange", "tab:red", "darkred", "black")))
    figure, axes = plt.subplots(2, len(kinds), figsize=(3.6 * len(kinds), 6.4), sharex=True, sharey="row",
                                squeeze=False)
    for column, kind in enumerate(kinds):
        for run in (run for run in runs if run["kind"] == kind):
            epoch = np.arange(1, run["epochs"] + 1)
            label = f"{run['depth']} layers" + (" (diverged)" if run["diverged"] else "")
            axes[0, column].plot(epoch, run["loss"], color=colors[run["depth"]], label=label)
            axes[1, column].plot(epoch, 100 * np.array(run["val_error"]), color=colors[run["depth"]], lw=2,
                                 label=label)
        axes[0, column].set_title(kind)
        axes[0, column].set_yscale("log")
        axes[0, column].legend(fontsize=8)
        axes[1, column].set_xlabel("epoch")
        axes[1, column].set_ylim(0, 30)
        for row in (0, 1):
            axes[row, column].grid(alpha=0.3)
            axes[row, column].set_xlim(1, epochs)
    axes[0, 0].set_ylabel("training loss (log scale)")
    axes[1, 0].set_ylabel("validation error (%)")
    figure.suptitle("Plain and residual CNNs of 8, 20 and 32 layers on 2000 digits (He et al. 2016, "
                    "Figures 1 and 6, small)" if len(depths) == 3 else "Plain and residual CNNs (quick run)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=positive_int, default=15, help="epochs per network (default: 15)")
    parser.add_argument("--no-bn-learning-rate", type=float, default=0.01,
                        help="the starting learning rate of the networks without BatchNorm (default: 0.01)")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), metavar="KIND",
                        help=f"which kinds of network to train (default: all of {', '.join(KINDS)})")
    parser.add_argument("--quick", action="store_true", help="depths 8 and 14, 2 epochs on 300 images")
    add_plot_argument(parser, "resnet_depth.png")
    args = parser.parse_args(argv)
    args.plot = figure_path(args.plot, args.quick, "resnet_depth.png")
    depths, epochs, (n_train, n_valid) = ((8, 14), 2, (300, 100)) if args.quick else ((8, 20, 32), args.epochs,
                                                                                      (2000, 500))
    X, y = load_mnist20(images=True)                                     # (5000, 1, 20, 20), 500 of each digit
    data = train_test_split(X, y, train_size=n_train, test_size=n_valid, stratify=y, random_state=0)
    print(f"data: {n_train} training and {n_valid} validation digits of (1, 20, 20), each digit in the same "
          f"proportion on both sides; {epochs} epochs in batches of {BATCH}")
    if "residual, no BatchNorm" in args.kinds:
        probe = data[0][:100]
        print(f"without BatchNorm, at initialization: the root mean square of the input is "
              f"{np.sqrt(np.mean(np.square(probe))):.2f}; of each block's output, in order:")
        for depth in depths:
            scales = block_scales("residual, no BatchNorm", depth, probe)
            print(f"  {depth} layers: {' '.join(f'{scale:.1f}' for scale in scales)}")
    runs, start = [], time.perf_counter()
    for kind in args.kinds:
        for depth in depths:
            rate = args.no_bn_learning_rate if kind == "residual, no BatchNorm" else 0.1
            runs.append(train(kind, depth, data, epochs, rate))
            run = runs[-1]
            print(f"  {kind}, {depth} layers: {run['seconds']:.0f} s"
                  + (f", diverged in epoch {run['diverged']}" if run["diverged"] else ""), flush=True)
    print(table(runs))
    minutes = (time.perf_counter() - start) / 60
    print(f"{len(runs)} networks in {minutes:.1f} minutes ({math.fsum(r['epochs'] for r in runs):.0f} epochs)")
    plot(runs, args.plot, epochs)
    print(f"figure saved to {args.plot}")
    return runs


if __name__ == "__main__":
    main()

"""Experiment 4: gradients shrink layer after layer in a deep sigmoid network; BatchNorm keeps them level.

    python examples/gradients_depth.py                  # 2 runs of 5 epochs, under a minute; docs/gradients_depth.png
    python examples/gradients_depth.py --quick          # 1 epoch on 1000 images: a smoke test; figure to a temp folder

Ten hidden Dense(50)-sigmoid layers (--activation tanh for tanh) and a Dense(10)-softmax, with
Dense's default glorot_uniform weights, trained with SGD (learning rate 0.1, momentum 0.9) in
batches of 100 on the seed's split, once as it is and once with a BatchNorm before every hidden
activation. A LayerMonitor records ||dL/dW|| of every Dense layer at every step; the figure shows
it by depth at step 1, at the end of the first epoch and at the end of the last.

Why it shrinks: back-propagation multiplies the gradient by W^T and by the activation's slope at
every layer, and sigmoid's slope is at most 1/4, so each layer can scale it down by 4 or more.
BatchNorm keeps every layer's input to the activation near mean 0 and std 1, where the slope is
near its peak, and divides the gradient by the same std it divided the signal by.
"""

import argparse
import warnings

from terminaltables import AsciiTable

from deeplearner import (SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, LayerMonitor, Sequential,
                         TrainingWarning)
from train_handwritten import (add_data_argument, add_plot_argument, figure_path,   # the seed's data and split
                               load_data, not_found, positive_int, split)

BATCH = 100
AT_CHANCE = ("note: without BatchNorm the network is expected to stay near chance in these few epochs, the "
             "failure this experiment provokes on purpose: its gradient vanishes with depth, whatever the learning "
             "rate, so fit's TrainingWarning about it is silenced here")


def build(batchnorm, activation, depth, width, input_dim, seed):
    layers = []
    for _ in range(depth):
        layers.append(Dense(width))
        if batchnorm:
            layers.append(BatchNorm())
        layers.append(Activation(activation))
    layers += [Dense(10), Activation("softmax")]
    return Sequential(layers, SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(), input_shape=input_dim,
                      seed=seed)


def run(batchnorm, data, args, epochs):
    """Train one network with a monitor on its Dense layers; return (monitor, history)."""
    X_train, X_valid, y_train, y_valid = data
    model = build(batchnorm, args.activation, args.depth, args.width, X_train.shape[1], args.seed)
    dense = [i for i, layer in enumerate(model.layers) if isinstance(layer, Dense)]
    monitor = LayerMonitor(X_valid[:200], every=1, layers=dense)
    # Staying at chance without BatchNorm is the experiment's point: fit's TrainingWarning would
    # blame the learning rate, which the experiment does not vary (main prints AT_CHANCE once instead).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrainingWarning)
        history = model.fit(X_train, y_train, X_valid, y_valid, epochs=epochs, batch_size=BATCH, verbose=0,
                            callbacks=[monitor])
    return monitor, history


def results_table(runs, records):
    header = ["Dense layer"]
    for name, (monitor, _) in runs.items():
        short = "BN" if name == "with BatchNorm" else "no BN"
        header += [f"{short}, step {monitor.steps[r]}" for r in records]
    rows = [header]
    first = next(iter(runs.values()))[0]
    for depth, _ in enumerate(first.names, start=1):
        row = [f"{depth} ({'output' if depth == len(first.names) else 'hidden'})"]
        for monitor, _ in runs.values():
            norms = monitor.grad_norms[monitor.names[depth - 1]]["W"]
            row += [f"{norms[r]:.2e}" for r in records]
        rows.append(row)
    row = ["last / first layer"]
    for monitor, _ in runs.values():
        first_layer, last_layer = (monitor.grad_norms[monitor.names[i]]["W"] for i in (0, -1))
        row += [f"{last_layer[r] / first_layer[r]:.3g}" for r in records]
    rows.append(row)
    row = ["validation accuracy at the end"] + [""] * (len(header) - 1)
    for k, (_, history) in enumerate(runs.values()):
        row[(k + 1) * len(records)] = f"{history['val_accuracy'][-1]:.3f}"
    rows.append(row)
    table = AsciiTable(rows, title=" ||dL/dW|| by depth ")
    table.justify_columns = {i: "right" for i in range(1, len(header))}
    return table.table


def main(argv=None):
    parser = argparse.ArgumentParser(description="Gradient norms by depth in a deep narrow network, with and "
                                                 "without BatchNorm.")
    add_data_argument(parser)
    parser.add_argument("--activation", choices=("sigmoid", "tanh"), default="sigmoid",
                        help="the hidden activation (default: sigmoid)")
    parser.add_argument("--depth", type=positive_int, default=10, help="hidden layers (default: 10)")
    parser.add_argument("--width", type=positive_int, default=50, help="units per hidden layer (default: 50)")
    parser.add_argument("--epochs", type=positive_int, default=5, help="epochs per run (default: 5)")
    parser.add_argument("--seed", type=int, default=0, help="the seed of both models (default: 0)")
    add_plot_argument(parser, "gradients_depth.png")
    parser.add_argument("--quick", action="store_true", help="1 epoch on 1000 images: a smoke test")
    args = parser.parse_args(argv)
    args.plot = figure_path(args.plot, args.quick, "gradients_depth.png")
    epochs = 1 if args.quick else args.epochs

    X, y, data_name = load_data(args.data)
    data = split(X, y)
    if args.quick:
        data = [part[:1000] for part in data]   # 10 steps: enough to run every line
    steps_per_epoch = -(-len(data[0]) // BATCH)
    print(f"data: {data_name}{not_found(args.data)}; {len(data[0])} to train, {len(data[1])} to validate; "
          f"{args.depth} x {args.width} {args.activation} units, {epochs} epoch{'s' * (epochs > 1)} of "
          f"{steps_per_epoch} batches of {BATCH}, SGD(0.1, momentum 0.9), seed {args.seed}")
    runs = {name: run(batchnorm, data, args, epochs)
            for name, batchnorm in (("without BatchNorm", False), ("with BatchNorm", True))}
    records = sorted({0, steps_per_epoch - 1, epochs * steps_per_epoch - 1})   # step 1, end of epoch 1, the end
    print(results_table(runs, records))
    print(AT_CHANCE)

    from deeplearner.plot import plot_grad_norms   # only now: matplotlib is an optional dependency

    monitors = {name: runs[name][0] for name in ("with BatchNorm", "without BatchNorm")}   # blue, orange
    plot_grad_norms(monitors, param="W", records=records, path=args.plot,
                    title=f"||dL/dW|| of each Dense layer, {args.depth} hidden layers of {args.width} "
                          f"{args.activation} units\non {data_name}; step {steps_per_epoch} ends epoch 1")
    print(f"figure saved to {args.plot}")
    return runs


if __name__ == "__main__":
    main()

"""Experiment 3: Ioffe & Szegedy (2015), Figure 1, rebuilt: a sigmoid's input drifts without BatchNorm.

    python examples/ioffe_figure1.py                    # 2 x 50,000 steps, 2-5 minutes; docs/ioffe_figure1.png
    python examples/ioffe_figure1.py --quick            # 2 x 20 steps: a smoke test; figure to a temp folder

Section 4.1 of "Batch Normalization: Accelerating Deep Network Training by Reducing Internal
Covariate Shift": three fully connected hidden layers of 100 sigmoid units, weights initialized
to small random Gaussian values, a 10-way softmax with cross-entropy, mini-batches of 60, and
BatchNorm added to each hidden layer (before its sigmoid). Figure 1 shows (a) the test accuracy
over training and (b, c) the 15th, 50th and 85th percentiles of the input to one typical sigmoid
of the last hidden layer, without and with BatchNorm: with it the accuracy is higher and the
distribution stays stable; without it the distribution moves.

Choices the paper leaves open, made here: weights ~ Normal(std=0.1) for every Dense layer
(--std), plain SGD with learning rate 0.1 (--learning-rate), the paper's 50,000 steps rounded up
to whole epochs (--steps; 50,049 here), and unit 0 of the last hidden layer
(--unit). The percentiles are over a fixed probe, the 1000 test images, run forward in training
mode by a LayerMonitor every 100 steps. The data: the seed's split of the bundled digits, 4000
images to train and 1000 to test (MNIST has 60,000 and 10,000).
"""

import argparse
import math

from terminaltables import AsciiTable

from deeplearner import SGD, Activation, BatchNorm, Callback, CrossEntropyForSoftMax, Dense, LayerMonitor, Sequential
from deeplearner.initializers import Normal
from train_handwritten import (add_data_argument, add_plot_argument, figure_path,   # the seed's data and split
                               load_data, not_found, positive_int, split)

BATCH = 60


class TestAccuracy(Callback):
    """Every ``every`` steps: the accuracy on the test images, in inference mode."""

    def __init__(self, X, y, every):
        self.X, self.y, self.every, self.step = X, y, every, 0
        self.steps, self.accuracy = [], []

    def on_batch_end(self, model, batch, logs):
        self.step += 1
        if self.step % self.every == 0:
            self.steps.append(self.step)
            self.accuracy.append(model.evaluate(self.X, self.y)[1])


def build(batchnorm, std, learning_rate, input_dim, seed):
    """Three hidden Dense(100)[-BatchNorm]-sigmoid layers, then Dense(10)-softmax; every W ~ Normal(std)."""
    layers = []
    for _ in range(3):
        layers.append(Dense(100, init=Normal(std)))
        if batchnorm:
            layers.append(BatchNorm())
        layers.append(Activation("sigmoid"))
    layers += [Dense(10, init=Normal(std)), Activation("softmax")]
    return Sequential(layers, SGD(learning_rate=learning_rate), CrossEntropyForSoftMax(), input_dim=input_dim,
                      seed=seed)


def run(batchnorm, data, args, epochs, evaluate_every, record_every):
    """Train one network; return (TestAccuracy, LayerMonitor, the monitored layer's position)."""
    X_train, X_test, y_train, y_test = data
    model = build(batchnorm, args.std, args.learning_rate, X_train.shape[1], args.seed)
    last_sigmoid = max(i for i, layer in enumerate(model.layers) if layer.name == "sigmoid")
    watched = last_sigmoid - 1                        # its output is the last sigmoid's input
    accuracy = TestAccuracy(X_test, y_test, evaluate_every)
    monitor = LayerMonitor(X_test, every=record_every, layers=[watched])
    model.fit(X_train, y_train, epochs=epochs, batchsize=BATCH, verbose=0, callbacks=[accuracy, monitor])
    return accuracy, monitor, watched


def results_table(runs, unit, checkpoints):
    rows = [["", "without BatchNorm", "with BatchNorm"]]
    for step in checkpoints:
        row = [f"test accuracy at step {step}"]
        for accuracy, _, _ in runs.values():
            row.append(f"{accuracy.accuracy[accuracy.steps.index(step)]:.3f}")
        rows.append(row)
    steps = next(iter(runs.values()))[1].steps.tolist()                # the same in both runs
    shown = sorted({steps[0], steps[-1], *(step for step in (1000, 2000, 5000, 20000) if step in steps)})
    for step in shown:
        row = [f"sigmoid input p15 / p50 / p85, step {step}"]
        for _, monitor, watched in runs.values():
            outputs, record = monitor.outputs[monitor.name_of(watched)], steps.index(step)
            row.append(" / ".join(f"{outputs[key][record, unit]:+.2f}"
                                  for key in ("p15_per_unit", "p50_per_unit", "p85_per_unit")))
        rows.append(row)
    row = ["sigmoid input: range of p50 over training"]
    for _, monitor, watched in runs.values():
        median = monitor.outputs[monitor.name_of(watched)]["p50_per_unit"][:, unit]
        row.append(f"{median.min():+.2f} to {median.max():+.2f}")
    rows.append(row)
    table = AsciiTable(rows, title=f" Unit {unit} of the last hidden layer ")
    table.justify_columns = {1: "right", 2: "right"}
    return table.table


def plot(runs, unit, args, steps, data_name, path):
    from matplotlib.figure import Figure   # only now: matplotlib is an optional dependency

    from deeplearner.plot import plot_percentiles

    figure = Figure(figsize=(14, 4.2), layout="constrained")
    accuracy_panel, *percentile_panels = figure.subplots(1, 3)
    for (name, (accuracy, _, _)), color in zip(runs.items(), ("C1", "C0")):
        accuracy_panel.plot(accuracy.steps, accuracy.accuracy, color=color, label=name)
    accuracy_panel.set(xlabel="training step (log scale)", ylabel="test accuracy", ylim=(0, 1), xscale="log",
                       title="(a) test accuracy")
    accuracy_panel.grid(alpha=0.3)
    accuracy_panel.legend(fontsize="small", loc="lower right")
    monitors = {f"({letter}) {name}": monitor for letter, (name, (_, monitor, _)) in zip("bc", runs.items())}
    watched = [entry[2] for entry in runs.values()]
    for panel, (name, monitor), position in zip(percentile_panels, monitors.items(), watched):
        plot_percentiles({name: monitor}, layer=position, unit=unit, axes=[panel])
        panel.set_ylabel(f"input to sigmoid unit {unit} of the last hidden layer")
    percentile_panels[1].get_legend().remove()       # one legend for both panels
    low = min(panel.get_ylim()[0] for panel in percentile_panels)
    high = max(panel.get_ylim()[1] for panel in percentile_panels)
    for panel in percentile_panels:
        panel.set_ylim(low, high)                     # the same scale, so the drift can be compared
    figure.suptitle(f"Ioffe & Szegedy (2015), Figure 1, rebuilt on {data_name}\n3 x 100 sigmoid units, "
                    f"W ~ Normal({args.std:g}), SGD {args.learning_rate:g}, batches of {BATCH}, {steps} steps; "
                    f"(b, c): percentiles over the {args.probe_size} test images, in training mode")
    figure.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Rebuild Figure 1 of Ioffe & Szegedy (2015): test accuracy and "
                                                 "a sigmoid's input distribution, with and without BatchNorm.")
    add_data_argument(parser)
    parser.add_argument("--steps", type=positive_int, default=50000,
                        help="training steps per network, rounded up to whole epochs (default: 50000, the paper's)")
    parser.add_argument("--std", type=float, default=0.1, help="std of the initial weights (default: 0.1)")
    parser.add_argument("--learning-rate", type=float, default=0.1, help="plain SGD's rate (default: 0.1)")
    parser.add_argument("--unit", type=int, default=0, help="which sigmoid of the last hidden layer (default: 0)")
    parser.add_argument("--seed", type=int, default=0, help="the seed of both models (default: 0)")
    add_plot_argument(parser, "ioffe_figure1.png")
    parser.add_argument("--quick", action="store_true", help="1 epoch of 1200 images per network: a smoke test")
    args = parser.parse_args(argv)
    args.plot = figure_path(args.plot, args.quick, "ioffe_figure1.png")

    X, y, data_name = load_data(args.data)
    data = split(X, y)
    if args.quick:
        data = [part[:1200] for part in data]   # 20 steps: enough to run every line
    args.probe_size = len(data[1])
    steps_per_epoch = math.ceil(len(data[0]) / BATCH)
    epochs = 1 if args.quick else math.ceil(args.steps / steps_per_epoch)
    steps = epochs * steps_per_epoch
    evaluate_every, record_every = (5, 5) if args.quick else (100, 100)
    print(f"data: {data_name}{not_found(args.data)}; {len(data[0])} to train, {len(data[1])} to test; "
          f"{steps} steps ({epochs} epoch{'s' * (epochs > 1)} of {steps_per_epoch} batches of {BATCH}), "
          f"W ~ Normal({args.std:g}), SGD({args.learning_rate:g}), seed {args.seed}")
    runs = {name: run(batchnorm, data, args, epochs, evaluate_every, record_every)
            for name, batchnorm in (("without BatchNorm", False), ("with BatchNorm", True))}
    checkpoints = [step for step in (500, 1000, 2000, 5000, 10000, 20000, 50000) if step <= steps]
    checkpoints = [step for step in checkpoints if step % evaluate_every == 0] or [evaluate_every]
    last = runs["without BatchNorm"][0].steps[-1]
    print(results_table(runs, args.unit, checkpoints + ([last] if last not in checkpoints else [])))
    plot(runs, args.unit, args, steps, data_name, args.plot)
    print(f"figure saved to {args.plot}")
    return runs


if __name__ == "__main__":
    main()

"""Experiment 2: BatchNorm lets the seed's network train at learning rates that break it without.

    python examples/learning_rate.py                    # 18 runs, a minute or two; writes docs/learning_rate.png
    python examples/learning_rate.py --quick            # 2 rates, 3 short epochs: a smoke test; figure to a temp folder

The seed's network (Dense(100)-BN-relu-Dense(50)-BN-relu-Dense(10)-BN-softmax, and the same
without the BatchNorm layers), the seed's split, SGD with momentum 0.9 and batches of 1000, at 9
learning rates from 0.001 to 10 (``np.logspace(-3, 1, 9)``). Each run reports its validation
accuracy after the last epoch, the first epoch that reached 90%, whether fit stopped with
``TrainingDivergedError`` (the loss became NaN or infinite; fit rolls the model back and says so),
and, from a `LayerMonitor` on the validation images, the fraction of each hidden relu layer's
units that are dead at the end (0 on every validation image: they pass no gradient, ever again).
"""

import argparse
import warnings

import numpy as np
from terminaltables import AsciiTable

from deeplearner import LayerMonitor, TrainingDivergedError, TrainingWarning
# The seed's network, data and split, as in train_handwritten.py.
from train_handwritten import (add_data_argument, add_plot_argument, figure_path,
                               build_model, load_data, not_found, positive_int, split)

RATES = np.logspace(-3, 1, 9)
TARGET = 0.90


def run(rate, batchnorm, data, epochs, seed):
    """Train one network; return a dict: val_accuracy per epoch, diverged (epoch or None),
    epochs_to_target, and dead: the fraction of dead units of each hidden relu layer at the end."""
    X_train, X_valid, y_train, y_valid = data
    model = build_model(X_train.shape[1], batchnorm=batchnorm, seed=seed)
    model.optimizer.learning_rate = rate                      # build_model's SGD has momentum 0.9
    relus = [i for i, layer in enumerate(model.layers) if layer.name == "relu"]
    steps_per_epoch = -(-len(X_train) // 1000)
    monitor = LayerMonitor(X_valid, every=steps_per_epoch, layers=relus)   # once per epoch, the relus only
    diverged = None
    # A divergence is reported by fit's TrainingDivergedError; NumPy's overflow warnings would only repeat it,
    # and the table reports what fit's TrainingWarning would say about the rates that go nowhere.
    with np.errstate(over="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", TrainingWarning)
        try:
            model.fit(X_train, y_train, X_valid, y_valid, epochs=epochs, batchsize=1000, verbose=0,
                      callbacks=[monitor])
        except TrainingDivergedError:
            diverged = len(model.history_["loss"]) + 1       # the finished epochs are kept in history_
    accuracy = model.history_["val_accuracy"]
    reached = [epoch for epoch, value in enumerate(accuracy, start=1) if value >= TARGET]
    dead = [values["dead"][-1] for values in monitor.outputs.values()]
    return {"val_accuracy": accuracy, "diverged": diverged, "epochs_to_target": reached[0] if reached else None,
            "dead": dead}


def describe(result):
    if result["diverged"]:
        return f"diverged (epoch {result['diverged']})"
    return f"{result['val_accuracy'][-1]:.3f}"


def results_table(rates, results, epochs):
    rows = [["learning rate"]]
    for name in ("no BN", "BN"):
        rows[0] += [f"val acc, {name}", f"epochs to {TARGET:.0%}, {name}", f"dead relus, {name}"]
    for rate in rates:
        row = [f"{rate:.3g}"]
        for batchnorm in (False, True):
            result = results[rate, batchnorm]
            row += [describe(result), str(result["epochs_to_target"] or "never"),
                    " / ".join(f"{dead:.0%}" for dead in result["dead"])]
        rows.append(row)
    table = AsciiTable(rows, title=f" After {epochs} epochs ")
    table.justify_columns = {i: "right" for i in range(7)}
    return table.table


def plot(rates, results, epochs, data_name, path):
    from matplotlib.figure import Figure   # only now: matplotlib is an optional dependency

    figure = Figure(figsize=(11, 4.2), layout="constrained")
    accuracy_panel, speed_panel = figure.subplots(1, 2, sharex=True)
    for batchnorm, color, marker, name in ((True, "C0", "o", "with BatchNorm"), (False, "C1", "s", "without")):
        runs = [results[rate, batchnorm] for rate in rates]
        final = [np.nan if run["diverged"] else run["val_accuracy"][-1] for run in runs]
        accuracy_panel.plot(rates, final, "-", marker=marker, color=color, label=name)
        broke = [rate for rate, run in zip(rates, runs) if run["diverged"]]
        if broke:
            accuracy_panel.plot(broke, [0.02] * len(broke), "x", color=color, markersize=10, mew=2,
                                label=f"{name}: diverged (TrainingDivergedError)")
        speed = [run["epochs_to_target"] or np.nan for run in runs]
        speed_panel.plot(rates, speed, "-", marker=marker, color=color, label=name)
    accuracy_panel.axhline(0.1, color="gray", linewidth=0.8, linestyle=":", label="chance (10 classes)")
    if not any(run["diverged"] for run in results.values()):
        accuracy_panel.text(0.02, 0.25, "no run diverged (no TrainingDivergedError);\nsee the table for "
                            "the dead relus", transform=accuracy_panel.transAxes, fontsize="small", color="gray")
    accuracy_panel.set(xscale="log", ylim=(0, 1.02), xlabel="learning rate (SGD, momentum 0.9)",
                       ylabel=f"validation accuracy after {epochs} epochs", title="Where it ends")
    speed_panel.set(xscale="log", yscale="log", ylim=(0.8, 1.25 * epochs), xlabel="learning rate (SGD, momentum 0.9)",
                    ylabel=f"first epoch with validation accuracy >= {TARGET:.0%}",
                    title=f"How fast it gets there (missing: never within {epochs} epochs)")
    for panel in (accuracy_panel, speed_panel):
        panel.grid(alpha=0.3, which="both")
        panel.legend(fontsize="small")
    figure.suptitle(f"The seed's network on {data_name}, batches of 1000")
    figure.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train the seed's network with and without BatchNorm at "
                                                 "learning rates from 0.001 to 10.")
    add_data_argument(parser)
    parser.add_argument("--epochs", type=positive_int, default=100, help="epochs per run (default: 100)")
    parser.add_argument("--seed", type=int, default=0, help="the seed of every model (default: 0)")
    add_plot_argument(parser, "learning_rate.png")
    parser.add_argument("--quick", action="store_true", help="2 rates, 3 epochs on 2000 images: a smoke test")
    args = parser.parse_args(argv)
    args.plot = figure_path(args.plot, args.quick, "learning_rate.png")
    rates = RATES[::8] if args.quick else RATES          # quick: 0.001 and 10
    epochs = 3 if args.quick else args.epochs

    X, y, data_name = load_data(args.data)
    data = split(X, y)
    if args.quick:
        data = [part[:2000] for part in data]   # 2 steps per epoch: enough to run every line
    print(f"data: {data_name}{not_found(args.data)}; {len(data[0])} to train, {len(data[1])} to validate; "
          f"{epochs} epochs of batches of 1000, SGD with momentum 0.9, seed {args.seed}")
    results = {(rate, batchnorm): run(rate, batchnorm, data, epochs, args.seed)
               for rate in rates for batchnorm in (False, True)}
    print(results_table(rates, results, epochs))
    for batchnorm, name in ((False, "without BatchNorm"), (True, "with BatchNorm")):
        good = [rate for rate in rates if not results[rate, batchnorm]["diverged"]
                and results[rate, batchnorm]["val_accuracy"][-1] >= TARGET]
        print(f"{name}: validation accuracy >= {TARGET:.0%} at " +
              (f"{len(good)} of {len(rates)} rates, {min(good):.3g} to {max(good):.3g}" if good else "no rate"))
    plot(rates, results, epochs, data_name, args.plot)
    print(f"figure saved to {args.plot}")
    return results


if __name__ == "__main__":
    main()

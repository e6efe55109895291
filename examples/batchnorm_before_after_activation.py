"""Where BatchNorm breaks, 5: BatchNorm before the nonlinearity (the paper's place) or after it.

    python examples/batchnorm_before_after_activation.py            # 18 fits, 40 s to 4 minutes on 2 cores
    python examples/batchnorm_before_after_activation.py --quick    # 4 fits on 400 images: a smoke test
    python examples/batchnorm_before_after_activation.py --jobs 1   # one fit at a time (the same numbers)

Ioffe & Szegedy put BatchNorm between a layer's affine map and its nonlinearity, x = Wu + b ->
BN(x) -> relu, arguing that Wu + b is "more likely to have a symmetric, non-sparse distribution";
the seed notebook does the same. Many people put it after the relu instead. Here the same two
networks are trained both ways, with model seeds 0, 1 and 2, on 4000 of the bundled digits (a
stratified split; the other 1000 validate), beside the same network without BatchNorm:

- the seed's network: Dense(100)-BN-relu-Dense(50)-BN-relu (before) or Dense(100)-relu-BN-
  Dense(50)-relu-BN (after), then Dense(10)-BN-softmax in both; batches of 100, SGD(0.05,
  momentum 0.9), 30 epochs;
- the CNN of examples/cnn_handwritten.py: Conv2D(8, 3)-BN-relu-MaxPool2D(2)-Conv2D(16, 3)-BN-relu-
  MaxPool2D(2) (before) or Conv2D-relu-BN-MaxPool2D twice (after), then Flatten-Dense(10)-BN-
  softmax in both; batches of 100, SGD(0.05, momentum 0.9) as there, 15 epochs.

Only the hidden blocks change: the output's BatchNorm stays before the softmax, which is not a
nonlinearity one would put BatchNorm after. The table gives the first epoch whose validation
accuracy reached 95% (and 97% for the CNN) and the validation accuracy at the end.

The fits run in parallel through joblib, ``--jobs`` at a time (all cores by default), each on one
NumPy thread, so ``--jobs 1`` gives the same numbers; ``with joblib.parallel_config(backend="dask"):``
sends the same sweep to a Dask cluster.
"""

import argparse
import time

import joblib
import numpy as np
from sklearn.model_selection import train_test_split
from terminaltables import AsciiTable
from threadpoolctl import threadpool_limits

from deeplearner import (SGD, Activation, BatchNorm, Conv2D, CrossEntropyForSoftMax, Dense, Flatten, MaxPool2D,
                         Sequential)
from deeplearner.datasets import load_mnist20
from groupnorm_batch_size import DATA_NAME, jobs_count, timing
from layernorm_vs_batchnorm import epochs_to
from train_handwritten import add_plot_argument, figure_path, positive_int

PLACES = ("before relu", "after relu", "no BatchNorm")
# For each network: input shape, batch size, learning rate, epochs (the default), accuracy levels reported.
NETWORKS = {"the seed's MLP": {"input_shape": 400, "batch_size": 100, "learning_rate": 0.05, "epochs": 30,
                               "levels": (0.95,)},
            "the CNN": {"input_shape": (1, 20, 20), "batch_size": 100, "learning_rate": 0.05, "epochs": 15,
                        "levels": (0.95, 0.97)}}


def hidden_block(transform, place):
    """transform (Dense or Conv2D), then BatchNorm and relu in the order ``place`` says."""
    if place == "before relu":
        return [transform, BatchNorm(), Activation("relu")]
    if place == "after relu":
        return [transform, Activation("relu"), BatchNorm()]
    return [transform, Activation("relu")]


def build(network, place, seed):
    settings = NETWORKS[network]
    output = [Dense(10), *([] if place == "no BatchNorm" else [BatchNorm()]), Activation("softmax")]
    if network == "the seed's MLP":
        layers = [*hidden_block(Dense(100), place), *hidden_block(Dense(50), place), *output]
    else:
        layers = [*hidden_block(Conv2D(8, 3, padding=1), place), MaxPool2D(2),
                  *hidden_block(Conv2D(16, 3, padding=1), place), MaxPool2D(2), Flatten(), *output]
    return Sequential(layers, SGD(learning_rate=settings["learning_rate"], momentum=0.9), CrossEntropyForSoftMax(),
                      input_shape=settings["input_shape"], seed=seed)


def fit_one(network, place, seed, data, epochs):
    """Train one network; return its validation accuracy per epoch and the CPU seconds it took."""
    X_train, X_valid, y_train, y_valid = data
    if network == "the CNN":
        X_train, X_valid = X_train.reshape(-1, 1, 20, 20), X_valid.reshape(-1, 1, 20, 20)   # upright images
    start = time.process_time()                      # CPU time: the fit's own work, whatever else runs
    with threadpool_limits(1):                       # one thread for NumPy: the same numbers in any process
        model = build(network, place, seed)
        history = model.fit(X_train, y_train, X_valid, y_valid, epochs=epochs,
                            batch_size=NETWORKS[network]["batch_size"], verbose=0, threads=1)
    return {"val_accuracy": list(history["val_accuracy"]), "loss": list(history["loss"]),
            "cpu_seconds": time.process_time() - start}


def sweep(networks, seeds, data, epochs, jobs):
    """Every (network, place, seed) fit, ``jobs`` at a time: {(network, place): [result per seed]}."""
    configurations = [(network, place, seed) for network in networks for place in PLACES for seed in seeds]
    configurations.sort(key=lambda item: item[0] != "the CNN")     # the long fits first
    outputs = joblib.Parallel(n_jobs=jobs)(joblib.delayed(fit_one)(*configuration, data, epochs[configuration[0]])
                                           for configuration in configurations)
    results = {}
    for (network, place, _), output in sorted(zip(configurations, outputs), key=lambda item: item[0][2]):
        results.setdefault((network, place), []).append(output)
    return results


def results_table(networks, results, epochs):
    rows = [["network", "BatchNorm", "epochs to 95%", "epochs to 97%", "val acc at the end", "best (epoch)"]]
    for network in networks:
        levels = NETWORKS[network]["levels"]
        for place in PLACES:
            curves = [run["val_accuracy"] for run in results[network, place]]
            reached = {level: " / ".join(str(epochs_to(curve, level) or "never") for curve in curves)
                       for level in levels}
            rows.append([network, place, reached[0.95], reached.get(0.97, "-"),
                         " / ".join(f"{curve[-1]:.3f}" for curve in curves),
                         " / ".join(f"{max(curve):.3f} ({int(np.argmax(curve)) + 1})" for curve in curves)])
    epochs_said = ", ".join(f"{network}: {epochs[network]}" for network in networks)
    table = AsciiTable(rows, title=f" Validation accuracy, one value per seed (epochs: {epochs_said}) ")
    table.justify_columns = {i: "right" for i in range(2, 6)}
    return table.table


def plot(networks, results, seeds, n_train, path):
    from matplotlib.figure import Figure   # only now: matplotlib is an optional dependency

    figure = Figure(figsize=(5.5 * len(networks) + 0.5, 4.6), layout="constrained")
    panels = np.atleast_1d(figure.subplots(1, len(networks)))
    styles = {"before relu": ("C0", "-"), "after relu": ("C3", "-"), "no BatchNorm": ("gray", "--")}
    for panel, network in zip(panels, networks):
        for place in PLACES:
            color, line = styles[place]
            curves = np.array([run["val_accuracy"] for run in results[network, place]])   # (seeds, epochs)
            epoch_axis = np.arange(1, curves.shape[1] + 1)
            panel.plot(epoch_axis, curves.mean(axis=0), line, color=color, label=f"BatchNorm {place}"
                       if place != "no BatchNorm" else place)
            if len(curves) > 1:
                panel.fill_between(epoch_axis, curves.min(axis=0), curves.max(axis=0), color=color, alpha=0.2,
                                   linewidth=0)
        for level in NETWORKS[network]["levels"]:
            panel.axhline(level, color="black", linewidth=0.7, linestyle=":")
        settings = NETWORKS[network]
        lowest = min(min(run["val_accuracy"]) for place in PLACES for run in results[network, place])
        n_epochs = len(results[network, PLACES[0]][0]["val_accuracy"])
        panel.set(xscale="log", xlabel="epoch (log scale)", ylabel="validation accuracy",
                  ylim=(max(0.0, min(0.85, lowest - 0.01)), 0.99),
                  title=f"{network}: batches of {settings['batch_size']}, SGD({settings['learning_rate']:g}, "
                        f"momentum 0.9)")
        ticks = [epoch for epoch in (1, 2, 3, 5, 10, 15, 20, 30, 50) if epoch <= n_epochs]
        panel.set_xticks(ticks, [str(epoch) for epoch in ticks])      # plain numbers, not powers of 10
        panel.minorticks_off()
        panel.grid(alpha=0.3, which="both")
        panel.legend(loc="lower right", fontsize="small")
    figure.suptitle(f"BatchNorm before or after the relu, on {n_train} bundled digits (dotted: 95%, 97%); lines: "
                    f"mean of {len(seeds)} seed{'s' * (len(seeds) > 1)}"
                    + (", bands: lowest to highest" if len(seeds) > 1 else ""), fontsize="medium")
    figure.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description="BatchNorm before or after the relu, in the seed's MLP and in "
                                                 "the CNN.")
    parser.add_argument("--mlp-epochs", type=positive_int, default=NETWORKS["the seed's MLP"]["epochs"],
                        help="epochs for the seed's MLP (default: %(default)s)")
    parser.add_argument("--cnn-epochs", type=positive_int, default=NETWORKS["the CNN"]["epochs"],
                        help="epochs for the CNN (default: %(default)s)")
    parser.add_argument("--seeds", type=positive_int, default=3, help="model seeds 0, 1, ... (default: 3)")
    parser.add_argument("--jobs", type=jobs_count, default=-1,
                        help="fits run at once, through joblib (default: -1, every core)")
    add_plot_argument(parser, "batchnorm_before_after_activation.png")
    parser.add_argument("--quick", action="store_true", help="one seed, 2 epochs of 400 images: a smoke test")
    args = parser.parse_args(argv)
    args.plot = figure_path(args.plot, args.quick, "batchnorm_before_after_activation.png")
    networks = tuple(NETWORKS)
    if args.quick:
        seeds, epochs, n_train, n_valid = (0,), {network: 2 for network in networks}, 400, 200
    else:
        seeds, n_train, n_valid = tuple(range(args.seeds)), 4000, 1000
        epochs = {"the seed's MLP": args.mlp_epochs, "the CNN": args.cnn_epochs}
    images, y = load_mnist20(images=True)                   # (5000, 1, 20, 20), sorted by digit
    X = images.reshape(len(images), -1)                     # (5000, 400): the same upright pixels, row by row
    data = train_test_split(X, y, train_size=n_train, test_size=n_valid, stratify=y, random_state=0)
    n_fits = len(networks) * len(PLACES) * len(seeds)
    print(f"data: {DATA_NAME}; {n_train} to train, {n_valid} to validate (stratified); seeds "
          f"{', '.join(map(str, seeds))}; {n_fits} fits, --jobs {args.jobs}")
    start = time.perf_counter()
    results = sweep(networks, seeds, data, epochs, args.jobs)
    wall = time.perf_counter() - start
    print(results_table(networks, results, epochs))
    print(timing(n_fits, wall, sum(run["cpu_seconds"] for runs in results.values() for run in runs), args.jobs))
    plot(networks, results, seeds, n_train, args.plot)
    print(f"figure saved to {args.plot}")
    return results


if __name__ == "__main__":
    main()

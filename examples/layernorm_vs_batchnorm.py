"""Where BatchNorm breaks, 3: LayerNorm against BatchNorm on the seed's network, at batches of 4 and of 128.

    python examples/layernorm_vs_batchnorm.py            # 18 fits, 30 s to 3 minutes on 2 cores
    python examples/layernorm_vs_batchnorm.py --quick    # 3 fits on 400 images: a smoke test
    python examples/layernorm_vs_batchnorm.py --jobs 1   # one fit at a time (the same numbers)

The seed's network, Dense(100)-norm-relu-Dense(50)-norm-relu-Dense(10)-norm-softmax, with norm
BatchNorm (the seed's), LayerNorm (each sample normalized over its own 100, 50 or 10 values) or
nothing, trained on 4000 of the bundled digits (a stratified split; the other 1000 validate) for
20 epochs at a batch of 4 and at a batch of 128, with model seeds 0, 1 and 2. SGD with momentum
0.9 at learning_rate = 0.1 x batch_size / 256 (0.05 at 128, 0.0016 at 4): the same rate per image,
so an epoch at either batch covers about the same ground.

Ba, Kiros & Hinton (2016) introduce LayerNorm and report it robust to the batch size: on
permutation-invariant MNIST they train at batches of 128 and of 4, where BatchNorm's statistics
come from 4 samples. Every norm here is where the seed puts BatchNorm, after each Dense layer,
the output one included (BatchNorm's output layer over 4 samples is part of what breaks).
BatchNorm is also evaluated after ``recompute_batchnorm_statistics`` (the running averages
replaced by averages over the training images under the final weights), to tell how much of its
loss at a batch of 4 comes from the running averages and how much from training itself.

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

from deeplearner import (SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, LayerNorm, Sequential,
                         recompute_batchnorm_statistics)
from deeplearner.datasets import load_mnist20
from groupnorm_batch_size import DATA_NAME, jobs_count, timing
from train_handwritten import add_plot_argument, figure_path, positive_int

BATCH_SIZES = (4, 128)
NORMS = {"BatchNorm": BatchNorm, "LayerNorm": LayerNorm, "none": None}
LEVELS = (0.90, 0.95)


def seed_network(norm, learning_rate, seed):
    """Dense(100)-norm-relu-Dense(50)-norm-relu-Dense(10)-norm-softmax, norm from NORMS (or left out)."""
    make, layers = NORMS[norm], []
    for units, activation in ((100, "relu"), (50, "relu"), (10, "softmax")):
        layers += [Dense(units), *([] if make is None else [make()]), Activation(activation)]
    return Sequential(layers, SGD(learning_rate=learning_rate, momentum=0.9), CrossEntropyForSoftMax(),
                      input_shape=400, seed=seed)


def fit_one(norm, batch_size, seed, data, epochs):
    """Train one network; return its validation accuracy per epoch (and after recomputing, for BatchNorm)."""
    X_train, X_valid, y_train, y_valid = data
    start = time.process_time()                      # CPU time: the fit's own work, whatever else runs
    with threadpool_limits(1):                       # one thread for NumPy: the same numbers in any process
        model = seed_network(norm, 0.1 * batch_size / 256, seed)
        history = model.fit(X_train, y_train, X_valid, y_valid, epochs=epochs, batch_size=batch_size, verbose=0,
                            threads=1)
        result = {"val_accuracy": list(history["val_accuracy"]), "loss": list(history["loss"])}
        if norm == "BatchNorm":
            recompute_batchnorm_statistics(model, X_train, batch_size=batch_size, seed=seed)
            result["recomputed"] = model.evaluate(X_valid, y_valid, threads=1)[1]
    result["cpu_seconds"] = time.process_time() - start
    return result


def sweep(norms, batch_sizes, seeds, data, epochs, jobs):
    """Every (norm, batch size, seed) fit, ``jobs`` at a time: {(norm, batch size): [result per seed]}."""
    configurations = [(norm, batch_size, seed) for batch_size in batch_sizes for norm in norms for seed in seeds]
    outputs = joblib.Parallel(n_jobs=jobs)(joblib.delayed(fit_one)(*configuration, data, epochs)
                                           for configuration in configurations)
    results = {}
    for (norm, batch_size, _), output in zip(configurations, outputs):
        results.setdefault((norm, batch_size), []).append(output)
    return results


def epochs_to(curve, level):
    """The first epoch (from 1) whose validation accuracy reached ``level``, or None."""
    reached = np.flatnonzero(np.asarray(curve) >= level)
    return int(reached[0]) + 1 if reached.size else None


def results_table(norms, batch_sizes, results, epochs):
    rows = [["norm", "batch", "val acc, epoch 1", f"val acc, epoch {epochs}", "best (epoch)"]
            + [f"epochs to {level:.0%}" for level in LEVELS] + ["after recomputing"]]
    for batch_size in batch_sizes:
        for norm in norms:
            runs = results[norm, batch_size]
            curves = [run["val_accuracy"] for run in runs]
            best = [f"{max(curve):.3f} ({int(np.argmax(curve)) + 1})" for curve in curves]
            reached = [[epochs_to(curve, level) for curve in curves] for level in LEVELS]
            rows.append([norm, str(batch_size), " / ".join(f"{curve[0]:.3f}" for curve in curves),
                         " / ".join(f"{curve[-1]:.3f}" for curve in curves), " / ".join(best)]
                        + [" / ".join(str(epoch or "never") for epoch in column) for column in reached]
                        + [" / ".join(f"{run['recomputed']:.3f}" for run in runs) if "recomputed" in runs[0]
                           else "-"])
    table = AsciiTable(rows, title=" Validation accuracy, one value per seed ")
    table.justify_columns = {i: "right" for i in range(1, 8)}
    return table.table


def plot(norms, batch_sizes, results, seeds, args, n_train, path):
    from matplotlib.figure import Figure   # only now: matplotlib is an optional dependency

    figure = Figure(figsize=(11, 4.4), layout="constrained")
    panels = np.atleast_1d(figure.subplots(1, len(batch_sizes), sharey=True))
    colors = {"BatchNorm": "C0", "LayerNorm": "C2", "none": "gray"}
    lowest = min(min(run["val_accuracy"]) for runs in results.values() for run in runs)   # bands included
    for panel, batch_size in zip(panels, batch_sizes):
        for norm in norms:
            curves = np.array([run["val_accuracy"] for run in results[norm, batch_size]])   # (seeds, epochs)
            epoch_axis = np.arange(1, curves.shape[1] + 1)
            panel.plot(epoch_axis, curves.mean(axis=0), color=colors[norm], label=norm,
                       linestyle="--" if norm == "none" else "-")
            if len(curves) > 1:
                panel.fill_between(epoch_axis, curves.min(axis=0), curves.max(axis=0), color=colors[norm],
                                   alpha=0.2, linewidth=0)
        panel.axhline(0.95, color="black", linewidth=0.7, linestyle=":")
        steps = -(-n_train // batch_size)
        panel.set(title=f"batch of {batch_size} ({steps} steps per epoch, SGD {0.1 * batch_size / 256:.3g})",
                  xlabel="epoch", ylim=(max(0.0, min(0.80, lowest - 0.01)), 0.97))
        panel.xaxis.get_major_locator().set_params(integer=True)     # epochs are whole numbers
        panel.grid(alpha=0.3)
    panels[0].set_ylabel("validation accuracy (dotted: 95%)")
    panels[0].legend(loc="lower right", fontsize="small")
    figure.suptitle(f"The seed's network with BatchNorm, LayerNorm or neither, on {n_train} bundled digits; "
                    f"lines: mean of {len(seeds)} seed{'s' * (len(seeds) > 1)}"
                    + (", bands: lowest to highest" if len(seeds) > 1 else ""), fontsize="medium")
    figure.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description="LayerNorm against BatchNorm on the seed's network, at batch "
                                                 "sizes 4 and 128.")
    parser.add_argument("--epochs", type=positive_int, default=20, help="epochs per fit (default: 20)")
    parser.add_argument("--seeds", type=positive_int, default=3, help="model seeds 0, 1, ... (default: 3)")
    parser.add_argument("--jobs", type=jobs_count, default=-1,
                        help="fits run at once, through joblib (default: -1, every core)")
    add_plot_argument(parser, "layernorm_vs_batchnorm.png")
    parser.add_argument("--quick", action="store_true", help="batch 4 only, one seed, 2 epochs of 400 images")
    args = parser.parse_args(argv)
    args.plot = figure_path(args.plot, args.quick, "layernorm_vs_batchnorm.png")
    if args.quick:
        batch_sizes, seeds, args.epochs, n_train, n_valid = (4,), (0,), 2, 400, 200
    else:
        batch_sizes, seeds, n_train, n_valid = BATCH_SIZES, tuple(range(args.seeds)), 4000, 1000
    X, y = load_mnist20()                                            # (5000, 400), sorted by digit
    data = train_test_split(X, y, train_size=n_train, test_size=n_valid, stratify=y, random_state=0)
    n_fits = len(NORMS) * len(batch_sizes) * len(seeds)
    print(f"data: {DATA_NAME}; {n_train} to train, {n_valid} to validate (stratified); the seed's network, "
          f"{args.epochs} epochs, SGD(learning_rate=0.1 x batch size / 256, momentum 0.9), seeds "
          f"{', '.join(map(str, seeds))}; {n_fits} fits, --jobs {args.jobs}")
    start = time.perf_counter()
    results = sweep(tuple(NORMS), batch_sizes, seeds, data, args.epochs, args.jobs)
    wall = time.perf_counter() - start
    print(results_table(tuple(NORMS), batch_sizes, results, args.epochs))
    print(timing(n_fits, wall, sum(run["cpu_seconds"] for runs in results.values() for run in runs), args.jobs))
    plot(tuple(NORMS), batch_sizes, results, seeds, args, n_train, args.plot)
    print(f"figure saved to {args.plot}")
    return results


if __name__ == "__main__":
    main()

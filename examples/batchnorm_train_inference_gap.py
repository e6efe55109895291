"""Where BatchNorm breaks, 2: the gap between BatchNorm in training and at inference (Wu & Johnson 2021).

    python examples/batchnorm_train_inference_gap.py            # 36 fits, 20 s to 3 minutes on 2 cores
    python examples/batchnorm_train_inference_gap.py --quick    # 2 fits on 600 images: a smoke test
    python examples/batchnorm_train_inference_gap.py --jobs 1   # one fit at a time (the same numbers)

In training, a BatchNorm layer normalizes each feature with the mean and variance of the batch in
hand. At inference it uses running averages kept over training: after step t,
running = momentum * running + (1 - momentum) * (statistic of batch t). Wu & Johnson ("Rethinking
'Batch' in BatchNorm", 2021) point out that these are two different things, and that the
running averages can lag: they remember about the last 1 / (1 - momentum) batches, each measured
with the weights of its own step, while the final network is the last step's.

The seed's network, Dense(100)-BN-relu-Dense(50)-BN-relu-Dense(10)-BN-softmax, is trained on 4000
of the bundled digits (a stratified split; the other 1000 validate) for 10 epochs at each batch
size 4, 16, 64 and 256 and each BatchNorm momentum 0.9 (the default), 0.99 and 0.999, with SGD
(momentum 0.9) at learning_rate = 0.1 x batch_size / 256: the same rate per image at every batch
size, so the same number of epochs covers about the same ground. Model seeds 0, 1 and 2. Each
trained network is then evaluated on the validation images three ways:

- **batch statistics**: in batches of the training size, every BatchNorm in training mode
  (normalizing with that validation batch's own statistics), as the network was trained;
- **running averages**: ``model.evaluate``, what a trained model normally predicts with;
- **recomputed**: after ``deeplearner.recompute_batchnorm_statistics(model, X_train,
  batch_size=...)``, which averages the batch statistics of the training images under the final
  weights (Wu & Johnson's PreciseBN).

The table also gives the lag itself: for each BatchNorm feature, how far the running mean is
from the recomputed one, in units of the recomputed standard deviation, averaged over the
features of the three layers.

The fits are independent, so they run in parallel through joblib, ``--jobs`` at a time (all cores
by default); each uses one thread for NumPy, so ``--jobs 1`` gives the same numbers to the last
bit. Inside ``with joblib.parallel_config(backend="dask"):`` (a ``dask.distributed.Client``
connected) the same sweep runs on a Dask cluster; ``backend="ray"`` after
``ray.util.joblib.register_ray()``.
"""

import argparse
import time

import joblib
import numpy as np
from sklearn.model_selection import train_test_split
from terminaltables import AsciiTable
from threadpoolctl import threadpool_limits

from deeplearner import (SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, Sequential,
                         recompute_batchnorm_statistics)
from deeplearner.datasets import load_mnist20
from groupnorm_batch_size import DATA_NAME, jobs_count, timing
from train_handwritten import add_plot_argument, figure_path, positive_int

BATCH_SIZES = (4, 16, 64, 256)
MOMENTA = (0.9, 0.99, 0.999)
MODES = ("batch statistics", "running averages", "recomputed")


def seed_network(bn_momentum, learning_rate, seed):
    """Dense(100)-BN-relu-Dense(50)-BN-relu-Dense(10)-BN-softmax, every BatchNorm(momentum=bn_momentum)."""
    layers = []
    for units, activation in ((100, "relu"), (50, "relu"), (10, "softmax")):
        layers += [Dense(units), BatchNorm(momentum=bn_momentum), Activation(activation)]
    return Sequential(layers, SGD(learning_rate=learning_rate, momentum=0.9), CrossEntropyForSoftMax(),
                      input_shape=400, seed=seed)


def accuracy_with_batch_statistics(model, X, y, batch_size):
    """Validation accuracy with every BatchNorm normalizing by each validation batch's own statistics.

    X is cut into batches of ``batch_size`` rows in its order (the split shuffled it); a last
    batch of one row joins the one before, as in fit. Every other layer runs in inference mode.
    The running statistics, which a training-mode forward moves, are put back afterwards.
    """
    norms = [layer for layer in model.layers if isinstance(layer, BatchNorm)]
    saved = [(layer.running_mean.copy(), layer.running_var.copy()) for layer in norms]
    starts = list(range(0, len(X), batch_size))
    if len(starts) > 1 and len(X) - starts[-1] == 1:
        starts.pop()
    correct = 0
    for start, stop in zip(starts, starts[1:] + [len(X)]):
        output = X[start:stop]                                   # (n_j, 400)
        for layer in model.body:                                 # every layer but the softmax
            output = layer.forward(output, training=isinstance(layer, BatchNorm))
        correct += np.count_nonzero(model.classes_[output.argmax(axis=1)] == y[start:stop])
    for layer, (mean, var) in zip(norms, saved):
        layer.running_mean[...], layer.running_var[...] = mean, var
    return correct / len(X)


def fit_one(batch_size, bn_momentum, seed, data, epochs):
    """Train one network; return its accuracy for each of MODES, the lag, and the CPU seconds it took."""
    X_train, X_valid, y_train, y_valid = data
    start = time.process_time()                      # CPU time: the fit's own work, whatever else runs
    with threadpool_limits(1):                       # one thread for NumPy: the same numbers in any process
        model = seed_network(bn_momentum, 0.1 * batch_size / 256, seed)
        model.fit(X_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0, threads=1)
        result = {"batch statistics": accuracy_with_batch_statistics(model, X_valid, y_valid, batch_size),
                  "running averages": model.evaluate(X_valid, y_valid, threads=1)[1]}
        norms = [layer for layer in model.layers if isinstance(layer, BatchNorm)]
        running = np.concatenate([layer.running_mean for layer in norms])
        recompute_batchnorm_statistics(model, X_train, batch_size=batch_size, seed=seed)
        result["recomputed"] = model.evaluate(X_valid, y_valid, threads=1)[1]
        recomputed_mean = np.concatenate([layer.running_mean for layer in norms])
        recomputed_std = np.sqrt(np.concatenate([layer.running_var for layer in norms]) + norms[0].eps)
    result["lag"] = float(np.mean(np.abs(running - recomputed_mean) / recomputed_std))
    result["cpu_seconds"] = time.process_time() - start
    return result


def sweep(batch_sizes, momenta, seeds, data, epochs, jobs):
    """Every (batch size, momentum, seed) fit, ``jobs`` at a time: {(batch size, momentum): [result per seed]}."""
    configurations = [(batch_size, momentum, seed) for batch_size in batch_sizes for momentum in momenta
                      for seed in seeds]
    outputs = joblib.Parallel(n_jobs=jobs)(joblib.delayed(fit_one)(*configuration, data, epochs)
                                           for configuration in configurations)
    results = {}
    for (batch_size, momentum, _), output in zip(configurations, outputs):
        results.setdefault((batch_size, momentum), []).append(output)
    return results


def mean_of(runs, key):
    return float(np.mean([run[key] for run in runs]))


def results_table(batch_sizes, momenta, results, seeds, epochs, n_train):
    rows = [["batch", "BN momentum", "steps", "val acc, batch statistics", "val acc, running averages",
             "val acc, recomputed", "running - recomputed", "lag of the running mean"]]
    for batch_size in batch_sizes:
        for momentum in momenta:
            runs = results[batch_size, momentum]
            accuracy = {mode: mean_of(runs, mode) for mode in MODES}
            steps = epochs * -(-n_train // batch_size)             # epochs x ceil(n / batch)
            rows.append([str(batch_size), f"{momentum:g}", f"{steps:,}"]
                        + [f"{accuracy[mode]:.3f}" for mode in MODES]
                        + [f"{accuracy['running averages'] - accuracy['recomputed']:+.3f}",
                           f"{mean_of(runs, 'lag'):.2f} std"])
    table = AsciiTable(rows, title=f" Validation accuracy after {epochs} epochs, mean of {len(seeds)} "
                                   f"seed{'s' * (len(seeds) > 1)} ")
    table.justify_columns = {i: "right" for i in range(8)}
    return table.table


def plot(batch_sizes, momenta, results, seeds, args, n_train, path):
    from matplotlib.figure import Figure   # only now: matplotlib is an optional dependency

    figure = Figure(figsize=(4.2 * len(momenta) + 1.5, 4.6), layout="constrained")
    panels = np.atleast_1d(figure.subplots(1, len(momenta), sharey=True))
    styles = {"batch statistics": ("C1", "s", "--"), "running averages": ("C0", "o", "-"),
              "recomputed": ("C2", "^", ":")}
    low = 1.0
    for panel, momentum in zip(panels, momenta):
        for mode in MODES:
            color, marker, line = styles[mode]
            values = [[run[mode] for run in results[batch_size, momentum]] for batch_size in batch_sizes]
            means = [np.mean(value) for value in values]
            low = min(low, min(min(value) for value in values))
            panel.plot(batch_sizes, means, line, marker=marker, color=color, label=mode, linewidth=1.8)
            if len(seeds) > 1:   # every seed's value, faint, so the spread shows
                for batch_size, value in zip(batch_sizes, values):
                    panel.plot([batch_size] * len(value), value, marker, color=color, alpha=0.3, markersize=4)
        panel.set_xscale("log", base=2)
        panel.set_xticks(batch_sizes, [f"{batch_size}\n{args.epochs * -(-n_train // batch_size):,} steps"
                                       for batch_size in batch_sizes])
        panel.minorticks_off()
        panel.set(title=f"BatchNorm(momentum={momentum:g}): the running\naverages remember ~{1 / (1 - momentum):g} "
                        f"batches", xlabel="training batch size")
        panel.grid(alpha=0.3)
    panels[0].set_ylabel("validation accuracy")
    panels[0].set_ylim(max(0.0, low - 0.03), 1.0)
    panels[-1].legend(title="BatchNorm at evaluation uses", fontsize="small", loc="lower right")
    figure.suptitle(f"The seed's network on {n_train} bundled digits, {args.epochs} epochs at each batch size "
                    f"(SGD 0.1 x batch / 256, momentum 0.9); lines: mean of {len(seeds)} seed"
                    f"{'s' * (len(seeds) > 1)}, dots: each seed\nbatch statistics: those of each validation "
                    f"batch, of the training batch size; recomputed: recompute_batchnorm_statistics on the "
                    f"training images", fontsize="medium")
    figure.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Validation accuracy of a BatchNorm network with batch statistics, "
                                                 "running averages and recomputed statistics.")
    parser.add_argument("--epochs", type=positive_int, default=10, help="epochs per fit (default: 10)")
    parser.add_argument("--seeds", type=positive_int, default=3, help="model seeds 0, 1, ... (default: 3)")
    parser.add_argument("--jobs", type=jobs_count, default=-1,
                        help="fits run at once, through joblib (default: -1, every core)")
    add_plot_argument(parser, "batchnorm_train_inference_gap.png")
    parser.add_argument("--quick", action="store_true",
                        help="batch 16, momenta 0.9 and 0.999, one seed, 2 epochs of 400 images: a smoke test")
    args = parser.parse_args(argv)
    args.plot = figure_path(args.plot, args.quick, "batchnorm_train_inference_gap.png")
    if args.quick:
        batch_sizes, momenta, seeds, args.epochs, n_train, n_valid = (16,), (0.9, 0.999), (0,), 2, 400, 200
    else:
        batch_sizes, momenta, seeds, n_train, n_valid = BATCH_SIZES, MOMENTA, tuple(range(args.seeds)), 4000, 1000
    X, y = load_mnist20()                                            # (5000, 400), sorted by digit
    data = train_test_split(X, y, train_size=n_train, test_size=n_valid, stratify=y, random_state=0)
    n_fits = len(batch_sizes) * len(momenta) * len(seeds)
    print(f"data: {DATA_NAME}; {n_train} to train, {n_valid} to validate (stratified); the seed's network, "
          f"{args.epochs} epochs, SGD(learning_rate=0.1 x batch size / 256, momentum 0.9); {n_fits} fits, "
          f"--jobs {args.jobs}")
    start = time.perf_counter()
    results = sweep(batch_sizes, momenta, seeds, data, args.epochs, args.jobs)
    wall = time.perf_counter() - start
    print(results_table(batch_sizes, momenta, results, seeds, args.epochs, n_train))
    print(timing(n_fits, wall, sum(run["cpu_seconds"] for runs in results.values() for run in runs), args.jobs))
    plot(batch_sizes, momenta, results, seeds, args, n_train, args.plot)
    print(f"figure saved to {args.plot}")
    return results


if __name__ == "__main__":
    main()

"""Where BatchNorm breaks, 1: Wu & He (2018), Figure 1, at small scale: validation error against the batch size.

    python examples/groupnorm_batch_size.py          # 36 fits, 3 to 12 min on 2 cores; docs/groupnorm_batch_size.png
    python examples/groupnorm_batch_size.py --quick  # 4 fits on 400 images: a smoke test; figure to a temp folder
    python examples/groupnorm_batch_size.py --jobs 1 # one fit at a time (the same numbers, only slower)

The CNN of examples/cnn_handwritten.py, with one normalization layer after each of its two
convolutions::

    Conv2D(8, 3, padding=1) - norm - relu - MaxPool2D(2)      (1, 20, 20) -> (8, 10, 10)
    Conv2D(16, 3, padding=1) - norm - relu - MaxPool2D(2)     (8, 10, 10) -> (16, 5, 5)
    Flatten - Dense(10) - softmax                             400 -> 10

where norm is BatchNorm, GroupNorm(2) or GroupNorm(4) (2 or 4 groups of channels: 4 or 2
channels per group in the first layer, 8 or 4 in the second), LayerNorm (one group: each image's
C H W values), InstanceNorm (one group per channel) or nothing. The output block has no
BatchNorm here (cnn_handwritten.py has one): GroupNorm and InstanceNorm take images only, and a
BatchNorm over 10 logits of 2 images would swamp what the comparison is about. Wu & He's ResNet-50
has no normalization after its last layer either.

Every network trains on the same 4000 images (a stratified split of the bundled digits: 400 of
each digit; the other 1000 validate) for the same 10 epochs at each batch size 2, 4, 8, 16, 32
and 64, so a smaller batch takes more steps. The learning rate is scaled linearly with the batch,
as Wu & He do: SGD with momentum 0.9 and learning_rate = 0.0005 x
batch_size, the rate per image of cnn_handwritten.py (0.05 for batches of 100), so 0.001 at a
batch of 2 and 0.032 at 64. BatchNorm keeps its default momentum 0.9, and its validation error
is measured twice: with the running averages it kept in training (what Wu & He report), and
with statistics recomputed afterwards from the training images in batches of the training size
(``deeplearner.recompute_batchnorm_statistics``), which separates the noise of training on
small batches from a stale running average (examples/batchnorm_train_inference_gap.py looks at
the second).

Wu & He, on ImageNet with ResNet-50: at 2 images per GPU GroupNorm's error is 10.6% lower than
BatchNorm's, and GroupNorm's stays about flat across batch sizes.

The fits are independent, so they run in parallel through joblib, ``--jobs`` at a time (all cores
by default). Each fit uses one thread for NumPy (fixed ``threads=1``), so ``--jobs 1`` and
``--jobs 2`` give the same numbers to the last bit. joblib can send the same sweep to a cluster:
run ``main()`` inside ``with joblib.parallel_config(backend="dask"):`` (with a
``dask.distributed.Client`` connected) or ``backend="ray"`` (after ``ray.util.joblib.register_ray()``).
"""

import argparse
import time

import joblib
from sklearn.model_selection import train_test_split
from terminaltables import AsciiTable
from threadpoolctl import threadpool_limits

from deeplearner import (SGD, Activation, BatchNorm, Conv2D, CrossEntropyForSoftMax, Dense, Flatten, GroupNorm,
                         InstanceNorm, LayerNorm, MaxPool2D, Sequential, recompute_batchnorm_statistics)
from deeplearner.datasets import load_mnist20
from train_handwritten import add_plot_argument, figure_path, positive_int

BATCH_SIZES = (2, 4, 8, 16, 32, 64)
RATE_PER_IMAGE = 0.0005           # learning_rate = RATE_PER_IMAGE * batch_size: 0.05 at a batch of 100
# The normalizations, by the name the table shows: a function of the channel count -> a new layer, or None.
NORMS = {
    "BatchNorm": lambda channels: BatchNorm(),
    "GroupNorm(2)": lambda channels: GroupNorm(2),
    "GroupNorm(4)": lambda channels: GroupNorm(4),
    "LayerNorm": lambda channels: LayerNorm(),
    "InstanceNorm": lambda channels: InstanceNorm(),
    "none": None,
}
RECOMPUTED = "BatchNorm, statistics recomputed"   # the BatchNorm fits, evaluated a second way
DATA_NAME = "the bundled MNIST digits (5000 images of 20x20 pixels)"


def cnn(norm, learning_rate, seed):
    """The CNN above, with ``NORMS[norm]`` after each convolution."""
    make = NORMS[norm]

    def normalized(channels):   # a fresh layer for each place: one layer object cannot sit in two
        return [] if make is None else [make(channels)]
    layers = [Conv2D(8, 3, padding=1), *normalized(8), Activation("relu"), MaxPool2D(2),
              Conv2D(16, 3, padding=1), *normalized(16), Activation("relu"), MaxPool2D(2),
              Flatten(), Dense(10), Activation("softmax")]
    return Sequential(layers, SGD(learning_rate=learning_rate, momentum=0.9), CrossEntropyForSoftMax(),
                      input_shape=(1, 20, 20), seed=seed)


def fit_one(norm, batch_size, data, epochs, seed):
    """Train one network; return {"error": validation error, "cpu_seconds": ...} (and "recomputed" for BatchNorm).

    One thread for NumPy, in fit and around it, so the result is the same in any process.
    """
    X_train, X_valid, y_train, y_valid = data
    start = time.process_time()                      # CPU time: the fit's own work, whatever else runs
    with threadpool_limits(1):
        model = cnn(norm, RATE_PER_IMAGE * batch_size, seed)
        model.fit(X_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0, threads=1)
        result = {"error": 1 - model.evaluate(X_valid, y_valid, threads=1)[1]}
        if norm == "BatchNorm":
            recompute_batchnorm_statistics(model, X_train, batch_size=batch_size, seed=seed)
            result["recomputed"] = 1 - model.evaluate(X_valid, y_valid, threads=1)[1]
    result["cpu_seconds"] = time.process_time() - start
    return result


def sweep(norms, batch_sizes, data, epochs, seed, jobs):
    """Every (norm, batch size) fit, ``jobs`` at a time; return {(row name, batch size): validation error}."""
    configurations = [(norm, batch_size) for norm in norms for batch_size in batch_sizes]
    # The longest fits (the smallest batches) first, so the last job to start is a short one.
    configurations.sort(key=lambda item: item[1])
    outputs = joblib.Parallel(n_jobs=jobs)(joblib.delayed(fit_one)(norm, batch_size, data, epochs, seed)
                                           for norm, batch_size in configurations)
    errors = {}
    for (norm, batch_size), output in zip(configurations, outputs):
        errors[norm, batch_size] = output["error"]
        if "recomputed" in output:
            errors[RECOMPUTED, batch_size] = output["recomputed"]
    return errors, sum(output["cpu_seconds"] for output in outputs)


def row_names(norms):
    names = list(norms)
    if "BatchNorm" in names:
        names.insert(names.index("BatchNorm") + 1, RECOMPUTED)
    return names


def results_table(norms, batch_sizes, errors, epochs):
    rows = [["normalization"] + [f"batch {batch_size}" for batch_size in batch_sizes] + ["spread"]]
    for name in row_names(norms):
        values = [errors[name, batch_size] for batch_size in batch_sizes]
        rows.append([name] + [f"{100 * value:.1f}%" for value in values]
                    + [f"{100 * (max(values) - min(values)):.1f}"])
    table = AsciiTable(rows, title=f" Validation error after {epochs} epoch{'s' * (epochs > 1)} (spread: max - min, "
                                   f"in points) ")
    table.justify_columns = {i: "right" for i in range(1, len(batch_sizes) + 2)}
    return table.table


def standard_error(error, n):
    """The binomial standard error of an error rate measured on n images, in points: 100 sqrt(e (1 - e) / n)."""
    return 100 * (error * (1 - error) / n) ** 0.5


def plot(norms, batch_sizes, errors, args, n_train, n_valid, path):
    from matplotlib.figure import Figure   # only now: matplotlib is an optional dependency

    figure = Figure(figsize=(10, 5.2), layout="constrained")
    panel = figure.subplots()
    styles = {"BatchNorm": ("C0", "o", "-"), RECOMPUTED: ("C0", "o", ":"), "GroupNorm(2)": ("C3", "s", "-"),
              "GroupNorm(4)": ("C1", "s", "-"), "LayerNorm": ("C2", "^", "-"), "InstanceNorm": ("C4", "v", "-"),
              "none": ("gray", "x", "--")}
    for name in row_names(norms):
        color, marker, line = styles[name]
        panel.plot(batch_sizes, [100 * errors[name, batch_size] for batch_size in batch_sizes], line,
                   marker=marker, color=color, label=name, linewidth=2.2 if name.startswith("GroupNorm") else 1.5)
    panel.set_xscale("log", base=2)
    panel.set_xticks(batch_sizes, [str(batch_size) for batch_size in batch_sizes])
    panel.minorticks_off()
    panel.invert_xaxis()                    # as in Wu & He's Figure 1: the batch shrinks to the right
    # From 0, so that differences of a few images look as small as they are.
    panel.set_ylim(0, 1.15 * 100 * max(errors.values()))
    typical = sorted(errors.values())[len(errors) // 2]
    panel.text(0.02, 0.04, f"one seed, {n_valid} validation images: one image is {100 / n_valid:.1g} point; at "
                           f"{100 * typical:.1f}% error the standard error is {standard_error(typical, n_valid):.1f}"
                           f" points", transform=panel.transAxes, fontsize="small", color="dimgray")
    panel.set(xlabel="batch size (images per step; the learning rate is 0.0005 x batch size)",
              ylabel="validation error (%)")
    panel.grid(alpha=0.3)
    panel.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))   # beside: no line hidden
    figure.suptitle(f"Validation error against the batch size, CNN on {n_train} images of the bundled digits\n"
                    f"({args.epochs} epoch{'s' * (args.epochs > 1)} at every batch size, SGD with momentum 0.9, "
                    f"seed {args.seed}; "
                    f"Wu & He 2018, Figure 1, at small scale)", fontsize="medium")
    figure.savefig(path, dpi=100)


def jobs_count(text):
    """argparse type for --jobs: a positive integer, or -1 for every core (joblib's convention)."""
    value = int(text)
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"expected a positive integer or -1 (every core), received {value}")
    return value


def timing(n_fits, wall, cpu_seconds, jobs):
    """The last line of a sweep: how long it took, and how much CPU time its fits used (one thread each)."""
    return (f"{n_fits} fits in {wall:.0f} s, {jobs if jobs > 0 else joblib.cpu_count()} at a time "
            f"({cpu_seconds:.0f} s of CPU time in the fits)")


def load_split(n_train, n_valid):
    """The bundled digits as images, split with stratify=y: every digit on both sides, in proportion."""
    images, y = load_mnist20(images=True)                       # (5000, 1, 20, 20), sorted by digit
    return train_test_split(images, y, train_size=n_train, test_size=n_valid, stratify=y, random_state=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Validation error of a small CNN with BatchNorm, GroupNorm, "
                                                 "LayerNorm, InstanceNorm or none, against the batch size.")
    parser.add_argument("--epochs", type=positive_int, default=10, help="epochs at every batch size (default: 10)")
    parser.add_argument("--train-size", type=positive_int, default=4000,
                        help="training images (default: 4000; the other 1000 of the 5000 validate)")
    parser.add_argument("--seed", type=int, default=0, help="the seed of every model (default: 0)")
    parser.add_argument("--jobs", type=jobs_count, default=-1,
                        help="fits run at once, through joblib (default: -1, every core)")
    add_plot_argument(parser, "groupnorm_batch_size.png")
    parser.add_argument("--quick", action="store_true",
                        help="BatchNorm and GroupNorm(4) at batches 4 and 32, 1 epoch of 400 images: a smoke test")
    args = parser.parse_args(argv)
    args.plot = figure_path(args.plot, args.quick, "groupnorm_batch_size.png")
    if args.quick:
        norms, batch_sizes, args.epochs, n_train, n_valid = ("BatchNorm", "GroupNorm(4)"), (4, 32), 1, 400, 200
    else:
        norms, batch_sizes, n_train, n_valid = tuple(NORMS), BATCH_SIZES, args.train_size, 5000 - args.train_size
    data = load_split(n_train, n_valid)
    print(f"data: {DATA_NAME}; {n_train} to train, {n_valid} to validate (stratified); {args.epochs} "
          f"epoch{'s' * (args.epochs > 1)} "
          f"at batch sizes {', '.join(map(str, batch_sizes))}, SGD(learning_rate=0.0005 x batch size, momentum "
          f"0.9), seed {args.seed}; {len(norms) * len(batch_sizes)} fits, --jobs {args.jobs}")
    start = time.perf_counter()
    errors, fit_seconds = sweep(norms, batch_sizes, data, args.epochs, args.seed, args.jobs)
    wall = time.perf_counter() - start
    print(results_table(norms, batch_sizes, errors, args.epochs))
    smallest, largest = batch_sizes[0], batch_sizes[-1]
    for name in row_names(norms):
        print(f"{name}: {100 * errors[name, largest]:.1f}% at batch {largest}, "
              f"{100 * errors[name, smallest]:.1f}% at batch {smallest}")
    print(timing(len(norms) * len(batch_sizes), wall, fit_seconds, args.jobs))
    typical = sorted(errors.values())[len(errors) // 2]
    print(f"{n_valid} validation images: one image is {100 / n_valid:.1g} point of error; at the median error "
          f"({100 * typical:.1f}%) the standard error of one measurement is {standard_error(typical, n_valid):.1f} "
          f"points")
    plot(norms, batch_sizes, errors, args, n_train, n_valid, args.plot)
    print(f"figure saved to {args.plot}")
    return errors


if __name__ == "__main__":
    main()

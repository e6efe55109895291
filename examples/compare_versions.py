"""Two versions of deeplearner side by side in one process: ms per epoch of the same fits, alternating.

    python examples/compare_versions.py --before f99beac        # that commit against this working tree
    python examples/compare_versions.py --before HEAD~5 --rounds 15
    python examples/compare_versions.py --quick                 # a smoke test, seconds

A change that should not change speed (a redesign, a refactoring) is checked by timing the
version before it and the one after it in the same process, in turns, so that both meet the same
load on a shared machine: the package as it was at ``--before`` (read with ``git archive``) is
imported as ``deeplearner_before``, this working tree's as ``deeplearner_after``. Each round fits
every workload once with each version, in alternating order, after an untimed warm-up epoch;
the table gives the medians over the rounds and their ratio. Ratios within a few percent of 1 are
the noise of these machines: compare several runs, and look at ``uptime`` first.

Workloads (synthetic images of 20x20 pixels, 10 classes, float32 unless said, ``threads`` fixed):
the seed's network 400-100-50-10 with BatchNorm at batches of 100 and 1000 (and float64), and
the CNN of benchmark_cnn.py at batches of 100 and 32 on one thread, and at 100 on two (the batch
split between threads).
"""

import argparse
import importlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_versions(before, folder):
    """{"before": module, "after": module}: the package at git revision ``before``, and this tree's."""
    target = os.path.join(folder, "deeplearner_before")
    try:
        archive = subprocess.run(["git", "-C", ROOT, "archive", before, "deeplearner"], capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        os.rename(os.path.join(folder, "deeplearner"), target)
        label = before
    except (OSError, subprocess.CalledProcessError):
        print(f"note: git cannot read {before!r} here; comparing this tree with itself", file=sys.stderr)
        shutil.copytree(os.path.join(ROOT, "deeplearner"), target)
        label = "this tree"
    shutil.copytree(os.path.join(ROOT, "deeplearner"), os.path.join(folder, "deeplearner_after"))
    sys.path.insert(0, folder)
    return label, {"before": importlib.import_module("deeplearner_before"),
                   "after": importlib.import_module("deeplearner_after")}


def mlp(dl, dtype):
    layers = [dl.Dense(100), dl.BatchNorm(), dl.Activation("relu"), dl.Dense(50), dl.BatchNorm(),
              dl.Activation("relu"), dl.Dense(10), dl.Activation("softmax")]
    return dl.Sequential(layers, dl.SGD(learning_rate=0.1, momentum=0.9), dl.CrossEntropyForSoftMax(),
                         input_shape=400, seed=0, dtype=dtype)


def cnn(dl):
    layers = [dl.Conv2D(8, 3, padding=1), dl.BatchNorm(), dl.Activation("relu"), dl.MaxPool2D(2),
              dl.Conv2D(16, 3, padding=1), dl.BatchNorm(), dl.Activation("relu"), dl.MaxPool2D(2),
              dl.Flatten(), dl.Dense(10), dl.BatchNorm(), dl.Activation("softmax")]
    return dl.Sequential(layers, dl.SGD(learning_rate=0.1, momentum=0.9), dl.CrossEntropyForSoftMax(),
                         input_shape=(1, 20, 20), seed=0, dtype=np.float32)


def workloads(n_rows):
    rng = np.random.default_rng(0)
    X = rng.random((n_rows, 400)).astype(np.float32)
    y = rng.integers(0, 10, n_rows)
    images = X.reshape(-1, 1, 20, 20)
    return {   # name: (make the model, X, y, batch size, threads, epochs per timing)
        "MLP float64, batch 100, 1 thread": (lambda dl: mlp(dl, np.float64), X.astype(np.float64), y, 100, 1, 3),
        "MLP float32, batch 100, 1 thread": (lambda dl: mlp(dl, np.float32), X, y, 100, 1, 3),
        "MLP float32, batch 1000, 1 thread": (lambda dl: mlp(dl, np.float32), X, y, 1000, 1, 3),
        "CNN float32, batch 100, 1 thread": (cnn, images, y, 100, 1, 1),
        "CNN float32, batch 100, 2 threads (split)": (cnn, images, y, 100, 2, 1),
        "CNN float32, batch 32, 1 thread": (cnn, images, y, 32, 1, 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="HEAD", help="the git revision to compare with (default: HEAD)")
    parser.add_argument("--rounds", type=int, default=9, help="rounds of every workload (default: 9)")
    parser.add_argument("--quick", action="store_true", help="one round on 400 images: a smoke test")
    args = parser.parse_args(argv)
    rounds, n_rows = (1, 400) if args.quick else (args.rounds, 4000)
    with tempfile.TemporaryDirectory() as folder:
        label, versions = load_versions(args.before, folder)
        work = workloads(n_rows)
        times = {(name, version): [] for name in work for version in versions}
        for r in range(rounds):
            for name, (make, X, y, batch_size, threads, epochs) in work.items():
                order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
                for version in order:
                    model = make(versions[version])
                    fit = dict(batch_size=batch_size, verbose=0, threads=threads)
                    model.fit(X[:n_rows // 4], y[:n_rows // 4], epochs=1, **fit)          # warm-up, untimed
                    start = time.perf_counter()
                    model.fit(X, y, X[:n_rows // 4], y[:n_rows // 4], epochs=epochs, **fit)
                    times[(name, version)].append((time.perf_counter() - start) / epochs * 1000)
    print(f"before: {label}; after: this working tree; {rounds} round(s) on {n_rows} images, medians, ms per epoch")
    print(f"{'workload':45s} {'before':>9s} {'after':>9s} {'after/before':>13s}")
    for name in work:
        before, after = (statistics.median(times[(name, version)]) for version in ("before", "after"))
        print(f"{name:45s} {before:9.1f} {after:9.1f} {after / before:13.3f}")


if __name__ == "__main__":
    main()

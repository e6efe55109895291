"""Inference speed before and after folding BatchNorm into the layer before it (deeplearner.fold_batchnorm).

    python examples/benchmark_folding.py                # 5000 digits, 9 timed runs of each
    python examples/benchmark_folding.py --quick        # a smoke test, seconds

The two models of examples/cnn_handwritten.py, trained for one epoch so that BatchNorm's running
statistics are not their starting values:

- the CNN, Conv2D-BN-relu-MaxPool twice, then Flatten-Dense-BN-softmax, on (n, 1, 20, 20) images;
- the seed's MLP, Dense-BN-relu twice, then Dense-BN-softmax, on (n, 400) rows.

Every BatchNorm of both follows a Dense or a Conv2D, so all three of each fold away. Each model
and its folded copy predict_proba the same digits in turns (original, folded, original, ...), so
a change in the machine's load touches both; the table shows the medians and the largest
difference between their probabilities. The load average (what ``uptime`` prints) is shown
before and after: on a shared machine a timing means only as much as the machine is quiet.
``--threads`` fixes the number of threads predict_proba uses (1 by default; 0 lets deeplearner
choose), so both sides run alike.
"""

import argparse
import os
import statistics
import time

from cnn_handwritten import cnn, seed_mlp

from deeplearner import fold_batchnorm
from deeplearner.datasets import load_handwritten


def milliseconds(call):
    start = time.perf_counter()
    call()
    return 1000 * (time.perf_counter() - start)


def compare(name, model, X, runs, threads):
    """Time ``model`` and its folded copy in turns; return one row of the table as a dict."""
    folded = fold_batchnorm(model)
    threads = None if threads == 0 else threads
    original_ms, folded_ms = [], []
    model.predict_proba(X, threads=threads), folded.predict_proba(X, threads=threads)      # warm up both
    for _ in range(runs):     # in turns, one run each, so that both see the same load
        original_ms.append(milliseconds(lambda: model.predict_proba(X, threads=threads)))
        folded_ms.append(milliseconds(lambda: folded.predict_proba(X, threads=threads)))
    difference = abs(model.predict_proba(X) - folded.predict_proba(X)).max()
    return {"name": name, "layers": f"{len(model.layers)} -> {len(folded.layers)}",
            "original": statistics.median(original_ms), "folded": statistics.median(folded_ms),
            "difference": float(difference)}


def load_average():
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, help="timed runs of each model (default 9; 3 with --quick)")
    parser.add_argument("--threads", type=int, default=1, help="threads for predict_proba; 0: automatic (default 1)")
    parser.add_argument("--quick", action="store_true", help="500 digits: a smoke test")
    args = parser.parse_args(argv)

    images, y = load_handwritten(images=True, shuffle=True)          # (5000, 1, 20, 20)
    if args.quick:
        images, y = images[:500], y[:500]
    args.runs = args.runs or (3 if args.quick else 9)
    rows = images.reshape(len(images), -1)                             # (n, 400)
    print(f"load average (1, 5, 15 min) before: {load_average()}")
    rows_of_table = []
    for name, model, X in (("CNN", cnn(), images), ("seed MLP", seed_mlp(), rows)):
        model.fit(X, y, epochs=1, batchsize=100, verbose=0)
        rows_of_table.append(compare(name, model, X, args.runs, args.threads))

    print(f"\npredict_proba on {len(images)} digits, threads={args.threads or 'automatic'}, "
          f"median of {args.runs} runs each:")
    print(f"{'model':10s} {'layers':>8s} {'original ms':>12s} {'folded ms':>10s} {'speed-up':>9s} "
          f"{'max |P - P_folded|':>19s}")
    for row in rows_of_table:
        print(f"{row['name']:10s} {row['layers']:>8s} {row['original']:12.2f} {row['folded']:10.2f} "
              f"{row['original'] / row['folded']:8.2f}x {row['difference']:19.1e}")
    print(f"\nload average (1, 5, 15 min) after: {load_average()}")
    return rows_of_table


if __name__ == "__main__":
    main()

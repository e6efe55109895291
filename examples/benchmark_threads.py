"""Does fit's automatic choice of BLAS threads keep up with the best fixed count, idle and busy?

    python examples/benchmark_threads.py               # the seed's and the CNN workload, minutes
    python examples/benchmark_threads.py --quick       # a smoke test, seconds
    python examples/benchmark.py --threads             # the same, inside the main benchmark

For each workload, fit runs with threads=1, with threads=<the machine's default> and with the
automatic choice (threads=None), on a quiet machine and with one competing busy process (a
``python -c "while True: pass"`` that this script starts and stops). Every timed block is a
fresh model's whole ``fit`` (50 epochs of the seed's network, 6 of the CNN: a few seconds each),
so the automatic runs pay for their probing from the start; in a longer fit that cost shrinks
to nothing. The settings alternate in a rotating order, and the figures are medians over
rounds, in ms per epoch.

The targets: automatic within 1.2x of the best fixed count with the busy process, and
within 1.1x of it on the quiet machine. "Quiet" means no competitor of ours: on a shared machine
other people's processes still run, and the script reports the share of CPU they took.
"""

import argparse
import contextlib
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmark import SETTLE_SECONDS, OtherLoad, deeplearner_model, make_data, write_json  # noqa: E402
from deeplearner.parallel import thread_choosers  # noqa: E402

TARGETS = {"idle": 1.1, "busy": 1.2}     # automatic / best fixed count, at most


# ---------------------------------------------------------------- workloads
# A workload is a function(quick) -> (make_model, data, fit_arguments, epochs_per_block): every
# timed block builds a model with make_model() and calls model.fit(*data, **fit_arguments).
def seed_workload(quick):
    """The seed's network in float64, 4000 x 400 rows in batches of 1000, validation on 1000."""
    n_rows, n_valid = (400, 100) if quick else (4000, 1000)
    X, y = make_data(n_rows + n_valid, np.float64)
    data = (X[:n_rows], y[:n_rows], X[n_rows:], y[n_rows:])
    return (lambda: deeplearner_model(np.float64)), data, {"batchsize": 1000}, 2 if quick else 50


def cnn_workload(quick):
    """benchmark_cnn.py's network on 4000 images (1, 20, 20) in float32, batches of 100."""
    from benchmark_cnn import deeplearner_cnn, image_data
    n_rows, n_valid = (200, 100) if quick else (4000, 1000)
    X, y = image_data(n_rows + n_valid)
    data = (X[:n_rows], y[:n_rows], X[n_rows:], y[n_rows:])
    return deeplearner_cnn, data, {"batchsize": 100}, 1 if quick else 6


WORKLOADS = {"seed network, float64, batch 1000": seed_workload, "CNN, float32, batch 100": cnn_workload}


# ---------------------------------------------------------------- measuring
def default_threads():
    from threadpoolctl import threadpool_info
    return max((lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"), default=1)


class BusyProcess:
    """One competing process that keeps a core busy, for the block inside ``with``."""

    def __enter__(self):
        self.process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.2)                                  # let it start spinning
        return self

    def __exit__(self, *exc_info):
        self.process.kill()
        self.process.wait()


def time_fit(make_model, data, fit_arguments, epochs, threads, settle):
    """Seconds per epoch of a fresh model's whole fit, and the count the automatic choice ended on."""
    model = make_model()
    time.sleep(settle)                                   # the last block's BLAS workers stop spinning
    start = time.perf_counter()
    model.fit(*data, epochs=epochs, verbose=0, threads=threads, **fit_arguments)
    seconds = (time.perf_counter() - start) / epochs
    # What the automatic choice ended on: read from the model's memory, outside the timed block.
    chosen = [chooser.choice for chooser in thread_choosers(model).values()]
    return seconds, chosen[0] if chosen else threads


def study(workload, rounds, quick=False, settle=SETTLE_SECONDS, conditions=("idle", "busy")):
    """ms per epoch for threads=1, the default and automatic, per condition; see the module docstring."""
    make_model, data, fit_arguments, epochs = workload(quick)
    most = default_threads()
    settings = {f"threads={count}": count for count in sorted({1, most})}
    settings["automatic"] = None
    times = {(condition, name): [] for condition in conditions for name in settings}
    chosen = {condition: [] for condition in conditions}
    load = {}
    names = list(settings)
    for round_ in range(rounds):
        for condition in conditions:
            other = OtherLoad()
            with BusyProcess() if condition == "busy" else contextlib.nullcontext():
                for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                    seconds, count = time_fit(make_model, data, fit_arguments, epochs, settings[name], settle)
                    times[condition, name].append(seconds)
                    if settings[name] is None:
                        chosen[condition].append(count)
            load.setdefault(condition, []).append(other.share())
    result = {"epochs_per_block": epochs, "rounds": rounds, "default_threads": most, "conditions": {}}
    for condition in conditions:
        medians = {name: 1000 * float(np.median(times[condition, name])) for name in settings}
        best = min((name for name in settings if settings[name] is not None), key=medians.get)
        shares = [share for share in load[condition] if share is not None]
        result["conditions"][condition] = {
            "median_ms": medians, "best_fixed": best, "automatic_over_best": medians["automatic"] / medians[best],
            "target": TARGETS[condition], "met": medians["automatic"] / medians[best] <= TARGETS[condition],
            "automatic_ended_on": chosen[condition],
            "fits_ms": {name: [1000 * t for t in times[condition, name]] for name in settings},
            "cpu_share_of_other_processes": float(np.median(shares)) if shares else None}
    return result


def print_study(title, result):
    conditions = result["conditions"]
    print(f"\n{title}: ms per epoch, median of {result['rounds']} fits of {result['epochs_per_block']} epochs")
    print(f"  {'':14s}" + "".join(f"{condition:>12s}" for condition in conditions))
    for name in next(iter(conditions.values()))["median_ms"]:
        print(f"  {name:14s}" + "".join(f"{c['median_ms'][name]:12.1f}" for c in conditions.values()))
    for condition, c in conditions.items():
        share = c["cpu_share_of_other_processes"]
        others = f"; other processes took {100 * share:.0f}% of the CPUs" if share is not None else ""
        print(f"  {condition}: automatic / best fixed ({c['best_fixed']}) = {c['automatic_over_best']:.2f}x "
              f"(target at most {c['target']}x: {'met' if c['met'] else 'NOT MET'}); automatic ended on "
              f"{c['automatic_ended_on']} threads{others}")


def run(quick=False, rounds=None, settle=SETTLE_SECONDS, workloads=None):
    """Run the study on every workload; print the tables; return the results as a dict."""
    rounds = rounds or (1 if quick else 7)
    results = {}
    for title, workload in (workloads or WORKLOADS).items():
        results[title] = study(workload, rounds, quick, settle)
        print_study(title, results[title])
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one round: a smoke test")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per measurement (default 7)")
    parser.add_argument("--json", metavar="PATH", help="also write the results to PATH as JSON")
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPUs; BLAS default {default_threads()} threads")
    results = run(args.quick, args.rounds, 0 if args.quick else SETTLE_SECONDS)
    if args.json:
        write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()

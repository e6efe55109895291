"""How fast is deeplearner's fit? The seed's network against PyTorch's eager CPU loop, in one run.

    python examples/benchmark.py                       # everything, a few minutes
    python examples/benchmark.py --quick               # a smoke test, seconds
    python examples/benchmark.py --json results.json   # also write every number as JSON
    python examples/benchmark.py --threads             # also fit's BLAS threads, idle and busy

The workload, the seed's network: Dense(100)-BN-relu-Dense(50)-BN-relu-Dense(10)-BN-softmax on 400 features,
SGD(learning_rate=0.1, momentum=0.9), 4000 training rows in batches of 1000, and one validation
pass over 1000 rows per epoch. deeplearner runs its full ``fit`` (verbose=0, validation on) in
float32 and float64; when PyTorch is installed, the same network and loop run in eager mode on
the CPU alongside (same initial weights, shuffled every epoch like fit, training loss and accuracy
accumulated like fit). The data is synthetic and digits-like: ten noisy 400-pixel patterns.
The last column of the tables is the validation accuracy at the end: both libraries learn.

Measuring fairly on a small machine:

- NumPy's OpenBLAS and PyTorch's worker threads keep spinning for about 0.1 s after their last
  call and slow the other library 2-3x. So every timed block starts with a short sleep and one
  untimed epoch of the library about to be timed.
- The contestants alternate, in a rotating order, and each figure is the median over rounds.
- Both shuffle every epoch. Times are per epoch; ratios are taken between medians of this run.

Besides the workload: the GEMM-only time (the matrix products fit performs, nothing else), batch
32, sweeps over rows (1k-100k) and hidden width (100-4000) that show the cost growing linearly,
the peak memory of a process that trains (measured in a child process) against one
that holds NumPy and the data alone, and predict/evaluate on a million rows in bounded memory.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np   # only NumPy at import time: the memory baseline is "NumPy plus the data"

N_FEATURES, N_CLASSES, HIDDEN = 400, 10, (100, 50)
SETTLE_SECONDS = 0.25   # longer than the ~0.1 s other libraries' threads spin after their last call


# ---------------------------------------------------------------- data and models
def make_data(n_rows, dtype=np.float32, seed=0):
    """Synthetic digits: each class a fixed pattern of 400 pixels in [0, 1]; each row a noisy copy.

    The noise (standard deviation 1.5) makes them about as hard as the seed's digits: the workload
    reaches about 94% validation accuracy. Built in chunks straight into the final array, so
    making the data peaks at the data's size.
    """
    rng = np.random.default_rng(seed)
    patterns = rng.random((N_CLASSES, N_FEATURES)).astype(dtype)
    y = rng.integers(0, N_CLASSES, n_rows)
    X = np.empty((n_rows, N_FEATURES), dtype=dtype)
    for start in range(0, n_rows, 1000):
        rows = slice(start, start + 1000)
        rng.standard_normal(out=X[rows], dtype=dtype)   # noise, drawn in place
        X[rows] *= 1.5
        X[rows] += patterns[y[rows]]
    return X, y


def deeplearner_model(dtype, hidden=HIDDEN, seed=0):
    from deeplearner import SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, Sequential
    layers = []
    for units in hidden:
        layers += [Dense(units), BatchNorm(), Activation("relu")]
    layers += [Dense(N_CLASSES), BatchNorm(), Activation("softmax")]
    return Sequential(layers, SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(),
                      input_dim=N_FEATURES, seed=seed, dtype=dtype)


def torch_model(torch, model):
    """The same network in PyTorch, starting from deeplearner ``model``'s weights."""
    dtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[model.dtype]
    modules = []
    for layer in model.layers:
        if type(layer).__name__ == "Dense":
            linear = torch.nn.Linear(*layer.params["W"].shape, dtype=dtype)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(layer.params["W"].T.copy()))   # (n_out, n_in)
                linear.bias.copy_(torch.from_numpy(layer.params["b"]))
            modules.append(linear)
        elif type(layer).__name__ == "BatchNorm":   # Keras momentum 0.9 is PyTorch's 0.1
            modules.append(torch.nn.BatchNorm1d(layer.inputshape, eps=layer.eps, momentum=1 - layer.momentum,
                                                dtype=dtype))
        elif layer.name == "relu":
            modules.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*modules)              # logits: CrossEntropyLoss applies the softmax
    return net, torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)


# ---------------------------------------------------------------- contestants
# Each contestant is a function run(epochs) that trains for that many epochs and returns the
# last validation accuracy (None without validation): both libraries must be learning.
def deeplearner_contestant(dtype, X, y, X_valid, y_valid, batchsize, hidden=HIDDEN):
    model = deeplearner_model(dtype, hidden)
    X, X_valid = X.astype(dtype), None if X_valid is None else X_valid.astype(dtype)

    def run(epochs):
        history = model.fit(X, y, X_valid, y_valid, epochs=epochs, batchsize=batchsize, verbose=0)
        return history["val_accuracy"][-1] if X_valid is not None else None
    return run


def torch_contestant(torch, dtype, X, y, X_valid, y_valid, batchsize, hidden=HIDDEN):
    net, optimizer = torch_model(torch, deeplearner_model(dtype, hidden))
    X_valid = None if X_valid is None else X_valid.astype(dtype)
    return torch_trainer(torch, net, optimizer, X.astype(dtype), y, X_valid, y_valid, batchsize)


def torch_trainer(torch, net, optimizer, X, y, X_valid, y_valid, batchsize):
    """run(epochs) for a PyTorch ``net``: fit's loop in eager mode, shuffled every epoch, as fit records it.

    benchmark_cnn.py runs its CNN through this too.
    """
    loss_fn = torch.nn.CrossEntropyLoss()
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    if X_valid is not None:
        X_valid, y_valid = torch.from_numpy(X_valid), torch.from_numpy(y_valid)
    generator = torch.Generator().manual_seed(0)

    def run(epochs):
        accuracy = None
        for _ in range(epochs):
            net.train()
            order = torch.randperm(len(X), generator=generator)
            total_loss, correct = 0.0, 0
            for start in range(0, len(X), batchsize):
                rows = order[start:start + batchsize]
                X_batch, y_batch = X[rows], y[rows]
                optimizer.zero_grad()
                output = net(X_batch)
                loss = loss_fn(output, y_batch)
                loss.backward()
                optimizer.step()
                total_loss += loss.item() * len(rows)                      # as fit's history
                correct += int((output.argmax(dim=1) == y_batch).sum())
            if X_valid is not None:
                net.eval()
                with torch.no_grad():
                    output = net(X_valid)
                    loss_fn(output, y_valid).item()
                    accuracy = int((output.argmax(dim=1) == y_valid).sum()) / len(y_valid)
        return accuracy
    return run


def gemm_contestant(dtype, n_rows, n_valid, batchsize, hidden=HIDDEN, textbook=False):
    """Only the matrix products fit performs: forward, dW and dX (none for the first layer).

    ``textbook=True`` adds the first layer's dX, which back-propagation as usually written
    computes and fit skips: that is the "GEMMs alone" of the targets (about 5 ms in float32).
    """
    rng = np.random.default_rng(0)
    widths = (N_FEATURES, *hidden, N_CLASSES)
    Ws = [rng.standard_normal((n_in, n_out)).astype(dtype) for n_in, n_out in zip(widths, widths[1:])]
    A = [rng.standard_normal((batchsize, width)).astype(dtype) for width in widths]  # layer inputs
    X_valid = rng.standard_normal((n_valid, N_FEATURES)).astype(dtype)

    def run(epochs):
        for _ in range(epochs):
            for _ in range(0, n_rows, batchsize):
                for i, W in enumerate(Ws):
                    A[i] @ W                     # forward
                    A[i].T @ A[i + 1]            # dW (the next layer's input stands in for dY)
                    if i > 0 or textbook:
                        A[i + 1] @ W.T           # dX
            Y = X_valid
            for W in Ws:
                Y = Y @ W                        # validation forward
        return None
    return run


def measure(contestants, rounds, epochs, settle=SETTLE_SECONDS):
    """Median seconds per epoch of each contestant, alternating in a rotating order.

    Also returns the share of the machine's CPU time that other processes took meanwhile:
    anything above a few percent makes the figures unreliable.
    """
    load = OtherLoad()
    times = {name: [] for name in contestants}
    accuracy = {}
    names = list(contestants)
    for round_ in range(rounds):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            run = contestants[name]
            time.sleep(settle)                   # the previous library's threads stop spinning
            run(1)                               # untimed: this one's threads and caches warm up
            start = time.perf_counter()
            accuracy[name] = run(epochs)
            times[name].append((time.perf_counter() - start) / epochs)
    return {name: {"median_ms": 1000 * float(np.median(t)), "min_ms": 1000 * min(t), "max_ms": 1000 * max(t),
                   "rounds": rounds, "epochs_per_round": epochs, "last_val_accuracy": accuracy[name]}
            for name, t in times.items()}, load.share()


class OtherLoad:
    """CPU time used by other processes since creation, as a share of all CPUs (Linux; else None)."""

    def __init__(self):
        self.start = self._read()

    @staticmethod
    def _read():
        try:
            with open("/proc/stat") as stat:
                ticks = [int(field) for field in stat.readline().split()[1:]]
        except OSError:
            return None
        busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")   # all but idle, iowait
        mine = os.times()
        return busy, mine.user + mine.system, time.perf_counter()

    def share(self):
        end = self._read()
        if self.start is None or end is None:
            return None
        (busy0, mine0, wall0), (busy1, mine1, wall1) = self.start, end
        return max(0.0, ((busy1 - busy0) - (mine1 - mine0)) / ((wall1 - wall0) * os.cpu_count()))


# ---------------------------------------------------------------- memory, in child processes
def child_memory(mode, n_rows, n_valid):
    """Runs in a child process; returns its peak resident memory and what it did, in MB."""
    X, y = make_data(n_rows + n_valid)
    result = {"data_mb": (X.nbytes + y.nbytes) / 2**20}
    if mode == "train":
        model = deeplearner_model(np.float32)
        model.fit(X[:n_rows], y[:n_rows], X[n_rows:], y[n_rows:], epochs=3, batchsize=1000, verbose=0)
    elif mode == "predict":
        model = deeplearner_model(np.float32)
        model.fit(X[:4000], y[:4000], epochs=5, batchsize=1000, verbose=0)
        result["before_mb"] = peak_mb()
        probabilities = model.predict_proba(X)
        result["predict_output_mb"] = probabilities.nbytes / 2**20
        del probabilities
        result["accuracy"] = model.evaluate(X, y)[1]
        result["one_layer_of_activations_mb"] = len(X) * HIDDEN[0] * 4 / 2**20   # what one giant pass would hold
    result["peak_mb"] = peak_mb()
    return result


def peak_mb():
    """This process's peak resident memory. Linux's VmHWM restarts at exec; ru_maxrss does not
    (a child would report its parent's peak), so it is only the fallback elsewhere."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024          # kB -> MB
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024             # ru_maxrss: bytes on macOS, else kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale / 1024


def run_child(mode, n_rows, n_valid):
    command = [sys.executable, os.path.abspath(__file__), "--child", mode, str(n_rows), str(n_valid)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


# ---------------------------------------------------------------- the report
def ratio(results, a, b):
    if a in results and b in results:
        return results[a]["median_ms"] / results[b]["median_ms"]
    return None


def warn_if_busy(share):
    if share is not None and share > 0.05:
        print(f"  warning: other processes took {100 * share:.0f}% of the CPUs meanwhile; "
              f"these figures are unreliable, run again on a quiet machine")


def print_times(title, results, rows):
    print(f"\n{title}")
    print(f"  {'':34s} {'median':>9s} {'min':>9s} {'max':>9s}   rounds x epochs   val. accuracy")
    for name in rows:
        r = results[name]
        accuracy = "" if r["last_val_accuracy"] is None else f"{r['last_val_accuracy']:.3f}"
        print(f"  {name:34s} {r['median_ms']:7.2f}ms {r['min_ms']:7.2f}ms {r['max_ms']:7.2f}ms"
              f"   {r['rounds']} x {r['epochs_per_round']:<8d}   {accuracy}")


def check_targets(results):
    """The performance targets that this run measured, each with its value, limit and verdict."""
    wanted = [("batch_1000", "float32: deeplearner / pytorch", 1.0, "float32, batch 1000, vs PyTorch"),
              ("batch_1000", "float32: deeplearner / textbook GEMMs", 2.0, "float32, batch 1000, vs textbook GEMMs"),
              ("batch_1000", "float32: deeplearner / GEMM only", 2.0, "float32, batch 1000, vs fit's own GEMMs"),
              ("batch_1000", "float64: deeplearner / pytorch", 1.0, "float64, batch 1000, vs PyTorch"),
              ("batch_32", "float32: deeplearner / pytorch", 0.6, "float32, batch 32, vs PyTorch"),
              ("memory", "training_over_baseline", 1.3, "peak memory, training vs NumPy + data")]
    targets = []
    for section, key, limit, what in wanted:
        values = results.get(section, {})
        value = values.get("ratios", values).get(key)
        if value is not None:
            targets.append({"what": what, "value": value, "limit": limit, "met": value <= limit})
    return targets


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes and one round: a smoke test")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per measurement (default 9, quick 1)")
    parser.add_argument("--no-torch", action="store_true", help="do not import PyTorch even if installed")
    parser.add_argument("--no-sweeps", action="store_true", help="skip the rows and width sweeps")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurements")
    parser.add_argument("--no-cnn", action="store_true", help="skip the CNN workload (benchmark_cnn.py)")
    parser.add_argument("--threads", action="store_true",
                        help="also the BLAS-threads study, idle and busy (benchmark_threads.py)")
    parser.add_argument("--json", metavar="PATH", help="also write the results to PATH as JSON")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)   # MODE N_ROWS N_VALID
    return parser.parse_args(argv)


def load_torch(args):
    if args.no_torch:
        return None, "not measured (--no-torch)"
    try:
        import torch
    except ImportError:
        return None, "not installed: deeplearner alone (pip install torch to compare)"
    return torch, f"PyTorch {torch.__version__}, eager CPU, {torch.get_num_threads()} threads"


def main(argv=None):
    """Run the benchmark with command-line arguments ``argv``; return the results as a dict."""
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child_memory(args.child[0], int(args.child[1]), int(args.child[2]))))
        return None
    import deeplearner

    quick = args.quick
    rounds = args.rounds or (1 if quick else 9)
    settle = 0 if quick else SETTLE_SECONDS      # a smoke test measures nothing worth waiting for
    torch, torch_note = load_torch(args)
    n_rows, n_valid = 4000, 1000
    X, y = make_data(n_rows + n_valid)
    X, y, X_valid, y_valid = X[:n_rows], y[:n_rows], X[n_rows:], y[n_rows:]
    results = {"machine": {"python": platform.python_version(), "numpy": np.__version__,
                           "deeplearner": deeplearner.__version__, "cpus": os.cpu_count(),
                           "torch": torch_note}, "quick": quick}
    print(f"deeplearner {deeplearner.__version__}, NumPy {np.__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs\nPyTorch: {torch_note}")

    # -- the workload, batch 1000 and batch 32
    for batchsize, epochs in ((1000, 2 if quick else 10), (32, 1 if quick else 3)):
        contestants = {}
        for dtype in (np.float32, np.float64):
            bits = np.dtype(dtype).itemsize * 8
            contestants[f"deeplearner fit float{bits}"] = deeplearner_contestant(
                dtype, X, y, X_valid, y_valid, batchsize)
            if torch is not None:
                contestants[f"pytorch float{bits}"] = torch_contestant(torch, dtype, X, y, X_valid, y_valid,
                                                                       batchsize)
            if batchsize == 1000:
                contestants[f"GEMM only float{bits}"] = gemm_contestant(dtype, n_rows, n_valid, batchsize)
                contestants[f"textbook GEMMs float{bits}"] = gemm_contestant(dtype, n_rows, n_valid, batchsize,
                                                                             textbook=True)
        measured, others = measure(contestants, rounds, epochs, settle)
        title = f"ms per epoch, batch {batchsize} (4000 rows, validation on 1000)"
        print_times(title, measured, list(contestants))
        section = {"times": measured, "ratios": {}, "cpu_share_of_other_processes": others}
        for bits in (32, 64):
            for other in ("pytorch", "GEMM only", "textbook GEMMs"):
                value = ratio(measured, f"deeplearner fit float{bits}", f"{other} float{bits}")
                if value is not None:
                    section["ratios"][f"float{bits}: deeplearner / {other}"] = value
                    print(f"  float{bits}: deeplearner / {other:14s} = {value:.2f}x")
        warn_if_busy(others)
        results[f"batch_{batchsize}"] = section

    # -- sweeps: float32, batch 1000, no validation, so the cost is training alone
    if not args.no_sweeps:
        sweeps = {"rows": [1000, 4000] if quick else [1000, 3000, 10_000, 30_000, 100_000],
                  "width": [100, 300] if quick else [100, 300, 1000, 2000, 4000]}
        X_big, y_big = make_data(max(sweeps["rows"]), seed=1)
        for sweep, values in sweeps.items():
            print(f"\nsweep over {sweep} (float32, batch 1000, no validation): ms per epoch")
            rows = []
            for value in values:
                n, hidden = (value, HIDDEN) if sweep == "rows" else (n_rows, (value, HIDDEN[1]))
                contestants = {"deeplearner": deeplearner_contestant(np.float32, X_big[:n], y_big[:n], None,
                                                                     None, 1000, hidden)}
                if torch is not None:
                    contestants["pytorch"] = torch_contestant(torch, np.float32, X_big[:n], y_big[:n], None,
                                                              None, 1000, hidden)
                epochs = 1 if quick else max(3, 20_000 // n)   # fit checks its data once per call
                measured, others = measure(contestants, 1 if quick else 3, epochs, settle)
                warn_if_busy(others)
                row = {sweep: value, **{name: r["median_ms"] for name, r in measured.items()}}
                # Linear cost: rows cost the same per row; width adds the same per extra unit
                # (the other layers are a fixed cost), so report the slope from the previous point.
                if sweep == "rows":
                    row["ms_per_1000_rows"] = row["deeplearner"] / (n / 1000)
                    cost = f"{row['ms_per_1000_rows']:6.3f} ms per 1000 rows"
                elif rows:
                    row["ms_per_100_more_units"] = ((row["deeplearner"] - rows[-1]["deeplearner"])
                                                    / ((value - rows[-1][sweep]) / 100))
                    cost = f"{row['ms_per_100_more_units']:6.3f} ms per 100 more units"
                else:
                    cost = ""
                rows.append(row)
                versus = f"   pytorch {row['pytorch']:8.2f} ms ({row['deeplearner'] / row['pytorch']:.2f}x)" \
                    if "pytorch" in row else ""
                print(f"  {sweep} {value:>7d}: deeplearner {row['deeplearner']:8.2f} ms {cost:>28s}{versus}")
            results[f"sweep_{sweep}"] = rows

    # -- memory, each in a fresh process
    if not args.no_memory:
        numpy_only = run_child("numpy", n_rows, n_valid)
        training = run_child("train", n_rows, n_valid)
        million = 20_000 if quick else 1_000_000
        predicting = run_child("predict", million, 0)
        results["memory"] = {"numpy_and_data": numpy_only, "training": training,
                             "training_over_baseline": training["peak_mb"] / numpy_only["peak_mb"],
                             "predict_evaluate": predicting}
        print(f"\npeak resident memory (MB): NumPy + the data {numpy_only['peak_mb']:.1f}; training the "
              f"workload {training['peak_mb']:.1f} ({results['memory']['training_over_baseline']:.2f}x)")
        extra = predicting["peak_mb"] - predicting["before_mb"]
        print(f"predict_proba + evaluate on {million:,} rows ({predicting['data_mb']:.0f} MB of data): peak "
              f"grew by {extra:.0f} MB, of which {predicting['predict_output_mb']:.0f} MB is predict_proba's "
              f"output (one layer's activations for every row at once would be "
              f"{predicting['one_layer_of_activations_mb']:.0f} MB)")

    if not args.no_cnn:                # the CNN of the docs' Images page against PyTorch, with a layer breakdown
        import benchmark_cnn
        results.update(benchmark_cnn.run(quick, args.rounds, torch, settle))

    if args.threads:                   # fixed counts against fit's automatic choice, idle and busy
        import benchmark_threads
        results["threads"] = benchmark_threads.run(quick, args.rounds, settle)

    results["targets"] = check_targets(results)
    for workload, study in results.get("threads", {}).items():      # the thread targets, from the thread study
        for condition, c in study["conditions"].items():
            results["targets"].append({"what": f"automatic threads, {condition}, {workload}",
                                       "value": c["automatic_over_best"], "limit": c["target"], "met": c["met"]})
    if results["targets"]:
        print("\nperformance targets (ratios of medians measured in this run)")
        for target in results["targets"]:
            print(f"  {target['what']:44s} {target['value']:5.2f}x  (at most {target['limit']}x)  "
                  f"{'met' if target['met'] else 'NOT MET'}")

    if args.json:
        write_json(args.json, results)
    return results


def write_json(path, results):
    """Write ``results`` to ``path`` as indented JSON, and say so."""
    with open(path, "w") as file:
        json.dump(results, file, indent=2)
    print(f"\nresults written to {path}")


if __name__ == "__main__":
    main()

"""Take a trained model elsewhere: the seed's network, exported to ONNX and run by ONNX Runtime.

    pip install "deeplearner[onnx]" onnxruntime
    python examples/export_onnx.py                   # train, export, compare, time: about a minute
    python examples/export_onnx.py --quick           # a smoke test: a few epochs, fewer timing rounds
    python examples/export_onnx.py --all-models      # also a network of every activation, and a CNN
    python examples/export_onnx.py --threads 1       # time both on one thread each

For float32 and float64 in turn, this trains the seed's network (Dense(100)-BN-relu-Dense(50)-BN-
relu-Dense(10)-BN-softmax, SGD(learning_rate=0.1, momentum=0.9), batches of 1000, the seed's 80/20
split) on data/handwritten.mat if you have it, else on the 5000 MNIST digits at 20x20 that
deeplearner bundles. Then it writes the model with ``to_onnx``, loads the file in ONNX Runtime, and
prints how far ONNX Runtime's probabilities are from ``predict_proba``'s, and the time each takes per
1000 predictions (medians; the two alternate, each timed block after a pause and an untimed call,
as in benchmark.py, so neither pays for the other's spinning threads).

``--all-models`` adds the agreement of the two other models of tests/test_onnx.py, trained here on
the same digits: one with every activation and Dropout, and a CNN on the 20x20 images. ONNX Runtime
has no float64 Conv, so the float64 CNN is exported with ``dtype=np.float32``, as ``to_onnx``'s
error for it says.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from benchmark import SETTLE_SECONDS, OtherLoad, warn_if_busy
from deeplearner import (SGD, Activation, AvgPool2D, BatchNorm, Conv2D, CrossEntropyForSoftMax, Dense, Dropout,
                         Flatten, MaxPool2D, Sequential, to_onnx)
from deeplearner.datasets import to_images
from deeplearner.layers.activations import LeakyReLU
from train_handwritten import add_data_argument, load_data, not_found, positive_int, split

AGREEMENT_BATCHES = (1, 7, 1000)
TIMING_BATCHES = (1, 32, 1000)
PREDICTIONS = 1000   # each timed block makes at least this many predictions


def seed_network():
    return [Dense(100), BatchNorm(), Activation("relu"),
            Dense(50), BatchNorm(), Activation("relu"),
            Dense(10), BatchNorm(), Activation("softmax")]


def every_activation():
    return [Dense(64), Activation("relu"), Dropout(0.2),
            Dense(64), Activation(LeakyReLU(alpha=0.3)), Dropout(0.5),
            Dense(64), Activation("sigmoid"),
            Dense(64), Activation("tanh"), BatchNorm(),
            Dense(10), Activation("softmax")]


def cnn():
    return [Conv2D(8, 3, padding="same"), BatchNorm(), Activation("relu"), MaxPool2D(2),   # (8, 10, 10)
            Conv2D(16, 3, stride=2, padding=1), Activation("relu"), AvgPool2D(2),          # (16, 2, 2)
            Flatten(), Dense(10), Activation("softmax")]


def train(layers, data, dtype, epochs, batchsize=1000, seed=0):
    X_train, _, y_train, _ = data
    model = Sequential(layers, SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(),
                       input_shape=X_train.shape[1:], seed=seed, dtype=dtype)
    model.fit(X_train, y_train, epochs=epochs, batchsize=batchsize, verbose=0)
    return model


def export_and_load(model, path, dtype=None, threads=None):
    """Write ``model`` to ``path`` and return ONNX Runtime's session on the file (``threads``: None for its default)."""
    import onnxruntime as ort
    to_onnx(model, path, dtype=dtype)
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_predict(session, dtype):
    """ONNX Runtime's ``predict_proba``: X must have the file's dtype (it casts nothing)."""
    return lambda X: session.run(None, {"X": X.astype(dtype, copy=False)})[0]


def agreement(model, predict, X):
    """[(batch, max |P_onnx - P_deeplearner|, share of equal argmax)] on the first rows of X (1000 or more)."""
    rows = []
    for batch in AGREEMENT_BATCHES:
        P, expected = predict(X[:batch]), model.predict_proba(X[:batch])
        rows.append((batch, float(np.abs(P - expected).max()),
                     float(np.mean(P.argmax(axis=1) == expected.argmax(axis=1)))))
    return rows


def time_per_1000(contestants, X, batch, rounds):
    """Median ms per 1000 predictions of each contestant on batches of ``batch`` rows, alternating."""
    calls = max(3, -(-PREDICTIONS // batch))                             # ceil, and at least 3
    starts = [(k * batch) % (len(X) - batch + 1) for k in range(calls)]
    batches = [X[start:start + batch] for start in starts]
    times = {name: [] for name in contestants}
    names = list(contestants)
    for round_ in range(rounds):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            predict = contestants[name]
            time.sleep(SETTLE_SECONDS)         # the other one's threads stop spinning
            predict(batches[0])                # untimed: threads and caches warm up
            start = time.perf_counter()
            for rows in batches:
                predict(rows)
            times[name].append((time.perf_counter() - start) / (calls * batch) * PREDICTIONS * 1000)
    return {name: float(np.median(t)) for name, t in times.items()}


def print_agreement(title, rows):
    print(f"\n{title}")
    print("| batch | max abs difference | same argmax |")
    print("|---:|---:|---:|")
    for batch, difference, same in rows:
        print(f"| {batch} | {difference:.2e} | {same:.3f} |")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Export the seed's network to ONNX, run it in ONNX Runtime, "
                                                 "and compare predictions and speed with predict_proba.")
    add_data_argument(parser)
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help="training epochs for the seed's network (default: 200, 5 with --quick)")
    parser.add_argument("--rounds", type=positive_int, default=None,
                        help="timing rounds, whose median is shown (default: 9, 2 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a smoke test: few epochs and timing rounds")
    parser.add_argument("--all-models", action="store_true",
                        help="also export a network of every activation and a CNN, and show their agreement")
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="run ONNX Runtime and NumPy's BLAS on N threads each while timing "
                             "(default: each library's own default, all cores)")
    parser.add_argument("--out", metavar="DIR", type=Path, default=None,
                        help="where to write the .onnx files (default: a temporary directory)")
    args = parser.parse_args(argv)
    args.epochs = args.epochs or (5 if args.quick else 200)
    args.rounds = args.rounds or (2 if args.quick else 9)
    return args


def main(argv=None):
    """Returns ``(agreements, timings)``: {model: rows of ``agreement``}, {dtype: {batch: {name: ms}}}."""
    args = parse_args(argv)
    try:
        import onnxruntime  # noqa: F401  (only to fail early, with the fix)
    except ImportError:
        raise SystemExit('This example runs the exported file in ONNX Runtime: pip install onnxruntime '
                         '(and pip install "deeplearner[onnx]" for the export).') from None
    X, y, name = load_data(args.data)
    print(f"Data: {name}{not_found(args.data)}.")
    data = split(X, y)
    X_valid = data[1]
    X_rows = np.concatenate([X_valid, data[0]])   # validation rows first: 1000 and more for any data set
    with tempfile.TemporaryDirectory() as temporary:
        out = args.out or Path(temporary)
        out.mkdir(parents=True, exist_ok=True)
        agreements, timings = {}, {}
        load = OtherLoad()   # how much of the CPUs other processes take while this runs
        for dtype in (np.float32, np.float64):
            model = train(seed_network(), data, dtype, args.epochs)
            path = out / f"seed_network_{dtype.__name__}.onnx"
            predict = onnx_predict(export_and_load(model, path, threads=args.threads), dtype)
            accuracy = model.evaluate(X_valid, data[3])[1]
            print(f"\nThe seed's network in {dtype.__name__}, {args.epochs} epochs: validation accuracy "
                  f"{accuracy:.3f}; written to {path} ({path.stat().st_size / 1024:.0f} kB).")
            agreements[f"seed network, {dtype.__name__}"] = rows = agreement(model, predict, X_rows)
            print_agreement(f"ONNX Runtime against predict_proba, {dtype.__name__}:", rows)
            contestants = {"ONNX Runtime": predict, "predict_proba": model.predict_proba}
            with threadpool_limits(args.threads):   # NumPy's BLAS threads; None leaves them as they are
                timings[dtype] = {batch: time_per_1000(contestants, X_rows.astype(dtype), batch, args.rounds)
                                  for batch in TIMING_BATCHES}

        threads = f"{args.threads} thread{'s' if args.threads > 1 else ''} each" if args.threads else "default threads"
        rounds = f"median of {args.rounds} rounds" if args.rounds > 1 else "1 round"
        print(f"\nms per 1000 predictions, {rounds}, {threads} (lower is faster):")
        print("| dtype | batch | ONNX Runtime | predict_proba | predict_proba / ONNX Runtime |")
        print("|---|---:|---:|---:|---:|")
        for dtype, by_batch in timings.items():
            for batch, ms in by_batch.items():
                ort_ms, numpy_ms = ms["ONNX Runtime"], ms["predict_proba"]
                print(f"| {dtype.__name__} | {batch} | {ort_ms:.2f} | {numpy_ms:.2f} | {numpy_ms / ort_ms:.1f}x |")
        warn_if_busy(load.share())

        if args.all_models:
            agreements.update(all_models(data, out, args))
    return agreements, timings


def all_models(data, out, args):
    """The agreement of the other two models of tests/test_onnx.py, trained on the same digits.

    Returns {title: rows of ``agreement``}.
    """
    X_train, X_valid, y_train, y_valid = data
    images = tuple(to_images(X)[:, np.newaxis] for X in (X_train, X_valid))   # (n, 1, side, side), upright
    agreements = {}
    cases = [("every activation and Dropout", every_activation, data, np.float32, None),
             ("every activation and Dropout", every_activation, data, np.float64, None),
             ("the CNN", cnn, (images[0], images[1], y_train, y_valid), np.float32, None),
             ("the CNN", cnn, (images[0], images[1], y_train, y_valid), np.float64, np.float32)]
    for title, layers, model_data, dtype, file_dtype in cases:
        model = train(layers(), model_data, dtype, max(1, args.epochs // 20), batchsize=100)
        path = out / f"{layers.__name__}_{dtype.__name__}.onnx"
        predict = onnx_predict(export_and_load(model, path, dtype=file_dtype), file_dtype or dtype)
        exported_as = ", exported as float32" if file_dtype else ""
        accuracy = model.evaluate(model_data[1], model_data[3])[1]
        X_rows = np.concatenate([model_data[1], model_data[0]])
        rows = agreements[f"{title}, {dtype.__name__}{exported_as}"] = agreement(model, predict, X_rows)
        print_agreement(f"{title} in {dtype.__name__}{exported_as} (validation accuracy {accuracy:.3f}):", rows)
    return agreements


if __name__ == "__main__":
    main()

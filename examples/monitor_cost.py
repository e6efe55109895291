"""What a LayerMonitor costs: milliseconds per epoch of the seed's workload, without and with one.

    python examples/monitor_cost.py              # about a minute
    python examples/monitor_cost.py --quick      # a smoke test

The seed's network (Dense(100)-BN-relu-Dense(50)-BN-relu-Dense(10)-BN-softmax) on the seed's
split of the bundled 20x20 digits: 4000 rows of 400 features to train in batches of 1000 (4
steps per epoch), 1000 to validate after every epoch. The monitor watches every layer on a
probe of 500 validation rows. The three set-ups alternate round after round, so a machine that
gets busier slows all three alike; each figure is the median over the rounds.
"""

import argparse
import time

import numpy as np
from terminaltables import AsciiTable

from deeplearner import LayerMonitor
from train_handwritten import build_model, load_data, positive_int, split   # the seed's network, data and split

SETUPS = {"no monitor": None, "LayerMonitor(every=10)": 10, "LayerMonitor(every=1)": 1}


def ms_per_epoch(every, data, epochs):
    X_train, X_valid, y_train, y_valid = data
    model = build_model(X_train.shape[1], seed=0)
    callbacks = [] if every is None else [LayerMonitor(X_valid[:500], every=every)]
    model.fit(X_train, y_train, X_valid, y_valid, epochs=1, batchsize=1000, verbose=0,
              callbacks=callbacks)                                  # untimed: warm caches and threads
    start = time.perf_counter()
    model.fit(X_train, y_train, X_valid, y_valid, epochs=epochs, batchsize=1000, verbose=0, callbacks=callbacks)
    return 1000 * (time.perf_counter() - start) / epochs


def main(argv=None):
    parser = argparse.ArgumentParser(description="Time fit on the seed's workload without and with a LayerMonitor.")
    parser.add_argument("--rounds", type=positive_int, default=7, help="rounds per set-up (default: 7)")
    parser.add_argument("--epochs", type=positive_int, default=10, help="timed epochs per round (default: 10)")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 epochs: a smoke test")
    args = parser.parse_args(argv)
    rounds, epochs = (2, 2) if args.quick else (args.rounds, args.epochs)
    X, y, data_name = load_data(None)
    data = split(X, y)
    print(f"data: {data_name}; {len(data[0])} to train, {len(data[1])} to validate; "
          f"{rounds} rounds of {epochs} epochs per set-up")
    times = {name: [] for name in SETUPS}
    for _ in range(rounds):
        for name, every in SETUPS.items():
            times[name].append(ms_per_epoch(every, data, epochs))
    base = np.median(times["no monitor"])
    rows = [["set-up", "ms per epoch (median)", "min", "max", "vs no monitor"]]
    for name, values in times.items():
        median = np.median(values)
        rows.append([name, f"{median:.1f}", f"{min(values):.1f}", f"{max(values):.1f}",
                     f"{100 * (median / base - 1):+.0f}%"])
    table = AsciiTable(rows)
    table.justify_columns = {i: "right" for i in range(1, 5)}
    print(table.table)
    return {name: float(np.median(values)) for name, values in times.items()}


if __name__ == "__main__":
    main()

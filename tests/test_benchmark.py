"""examples/benchmark.py and benchmark_threads.py: what they report is real and complete.

No timing is asserted here: speed depends on the machine and its load, and speed goals belong in
the benchmark's report, not in tests. What is checked is that every figure is a positive finite
time, that both dtypes learn, that the targets and ratios are computed from the figures shown,
and that a run without PyTorch reports deeplearner alone.

The whole quick run is marked ``slow`` (about 5 s on a quiet machine, 10-20 s on a busy one): CI
runs it, as plain ``pytest`` runs every test; ``pytest -m "not slow"`` leaves it out of a quick
loop while you work. The other tests here run the pieces on tiny inputs in a second or two.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def benchmark(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import benchmark
    return benchmark


@pytest.fixture
def benchmark_threads(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import benchmark_threads
    return benchmark_threads


def positive_finite(ms):
    return isinstance(ms, float) and math.isfinite(ms) and ms > 0


@pytest.mark.slow
def test_a_quick_run_without_pytorch_reports_real_figures_and_writes_them_as_json(benchmark, tmp_path, capsys,
                                                                                  monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)          # import torch now raises ImportError
    path = tmp_path / "results.json"
    results = benchmark.main(["--quick", "--json", str(path)])
    out = capsys.readouterr().out

    assert "PyTorch: not installed: deeplearner alone" in out and results["machine"]["torch"].startswith("not")
    assert json.loads(path.read_text()) == json.loads(json.dumps(results))
    for section in ("batch_1000", "batch_32"):
        times = results[section]["times"]
        assert {"deeplearner fit float32", "deeplearner fit float64"} <= set(times)
        assert not any(name.startswith("pytorch") for name in times)
        for name, t in times.items():
            assert all(positive_finite(t[key]) for key in ("median_ms", "min_ms", "max_ms")), name
            assert t["min_ms"] <= t["median_ms"] <= t["max_ms"]
        for bits in (32, 64):                                  # both dtypes learn the synthetic digits
            assert times[f"deeplearner fit float{bits}"]["last_val_accuracy"] > 0.5
    ratios = results["batch_1000"]["ratios"]
    assert set(ratios) == {f"float{bits}: deeplearner / {gemms}" for bits in (32, 64)
                           for gemms in ("GEMM only", "textbook GEMMs")}
    times = results["batch_1000"]["times"]
    assert ratios["float64: deeplearner / GEMM only"] == pytest.approx(
        times["deeplearner fit float64"]["median_ms"] / times["GEMM only float64"]["median_ms"])
    assert [row["rows"] for row in results["sweep_rows"]] == [1000, 4000]
    assert all(positive_finite(row["deeplearner"]) for row in results["sweep_rows"] + results["sweep_width"])
    memory = results["memory"]
    assert memory["training"]["peak_mb"] > memory["training"]["data_mb"] > 0
    assert memory["training_over_baseline"] == pytest.approx(memory["training"]["peak_mb"]
                                                             / memory["numpy_and_data"]["peak_mb"])
    assert 0.5 < memory["predict_evaluate"]["accuracy"] <= 1.0
    for batchsize in (100, 32):                                # the CNN workload and its layer breakdown
        cnn = results[f"cnn_batch_{batchsize}"]
        assert set(cnn["times"]) == {"deeplearner fit float32", "deeplearner float32, 1 thread"} and "ratio" not in cnn
        assert positive_finite(cnn["times"]["deeplearner fit float32"]["median_ms"])
        layers = cnn["breakdown_ms"]["layers"]
        assert [row["layer"].split()[1] for row in layers][:4] == ["Conv2D", "BatchNorm", "relu", "MaxPool2D"]
        assert all(row["forward"] >= 0 and row["backward"] >= 0 for row in layers)
        assert sum(row["forward"] + row["backward"] for row in layers) + cnn["breakdown_ms"]["rest"] == \
            pytest.approx(cnn["breakdown_ms"]["epoch_with_timers"])
    for target in results["targets"]:
        assert target["met"] == (target["value"] <= target["limit"])
    assert [t["what"] for t in results["targets"]] == ["float32, batch 1000, vs textbook GEMMs",
                                                       "float32, batch 1000, vs fit's own GEMMs",
                                                       "peak memory, training vs NumPy + data"]


def test_the_synthetic_digits_have_the_requested_shape_dtype_and_all_ten_classes(benchmark):
    X, y = benchmark.make_data(2500, dtype=np.float32)
    assert X.shape == (2500, 400) and X.dtype == np.float32 and y.shape == (2500,)
    assert set(np.unique(y)) == set(range(10))
    np.testing.assert_array_equal(benchmark.make_data(2500)[0], X)      # reproducible


def test_gemm_only_and_deeplearner_contestants_run_the_requested_epochs(benchmark):
    X, y = benchmark.make_data(300)
    run = benchmark.deeplearner_contestant(np.float32, X[:200], y[:200], X[200:], y[200:], batchsize=50)
    run(2)
    results, others = benchmark.measure({"gemm": benchmark.gemm_contestant(np.float32, 200, 100, 50),
                                         "fit": run}, rounds=2, epochs=1, settle=0)
    assert set(results) == {"gemm", "fit"} and results["fit"]["rounds"] == 2
    assert others is None or 0 <= others <= 1


def tiny_workload(quick):
    """benchmark_threads's workload contract on something that trains in milliseconds."""
    from deeplearner import SGD, Activation, CrossEntropyForSoftMax, Dense, Sequential
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(120, 6)), np.arange(120) % 3

    def make_model():
        return Sequential([Dense(8), Activation("relu"), Dense(3), Activation("softmax")], SGD(learning_rate=0.1),
                          CrossEntropyForSoftMax(), input_dim=6, seed=0)
    return make_model, (X[:100], y[:100], X[100:], y[100:]), {"batchsize": 20}, 2


def test_the_thread_study_compares_the_automatic_choice_with_every_fixed_count(benchmark_threads):
    result = benchmark_threads.study(tiny_workload, rounds=3, settle=0, conditions=("idle",))
    most = benchmark_threads.default_threads()
    idle = result["conditions"]["idle"]
    assert set(idle["median_ms"]) == {f"threads={count}" for count in {1, most}} | {"automatic"}
    assert all(positive_finite(ms) for ms in idle["median_ms"].values())
    fixed = {name: ms for name, ms in idle["median_ms"].items() if name != "automatic"}
    assert idle["best_fixed"] == min(fixed, key=fixed.get)
    assert idle["automatic_over_best"] == pytest.approx(idle["median_ms"]["automatic"] / min(fixed.values()))
    assert idle["met"] == (idle["automatic_over_best"] <= 1.1)
    assert len(idle["automatic_ended_on"]) == 3 and set(idle["automatic_ended_on"]) <= {1, most}


def test_the_competing_process_runs_inside_the_block_and_is_gone_after(benchmark_threads):
    with benchmark_threads.BusyProcess() as busy:
        assert busy.process.poll() is None                 # running
    assert busy.process.poll() is not None                 # killed and waited for

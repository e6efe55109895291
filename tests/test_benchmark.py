"""examples/benchmark.py's quick path runs in-process and reports what it measured.

No timing is asserted here: speed depends on the machine and its load, and speed goals belong in
the benchmark's report, not in tests. PyTorch is never imported (--no-torch), and a run where it
cannot be imported must still report deeplearner alone.
"""

import json
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


def test_quick_run_reports_deeplearner_alone_and_writes_json(benchmark, tmp_path, capsys):
    path = tmp_path / "results.json"
    results = benchmark.main(["--quick", "--no-torch", "--json", str(path)])
    out = capsys.readouterr().out

    assert "PyTorch: not measured (--no-torch)" in out
    assert json.loads(path.read_text()) == json.loads(json.dumps(results))
    for section in ("batch_1000", "batch_32"):
        times = results[section]["times"]
        assert {"deeplearner fit float32", "deeplearner fit float64"} <= set(times)
        assert not any(name.startswith("pytorch") for name in times)
        assert all(t["median_ms"] > 0 for t in times.values())
    assert set(results["batch_1000"]["ratios"]) == {f"float{bits}: deeplearner / {gemms}" for bits in (32, 64)
                                                    for gemms in ("GEMM only", "textbook GEMMs")}
    assert [row["rows"] for row in results["sweep_rows"]] == [1000, 4000]
    assert [row["width"] for row in results["sweep_width"]] == [100, 300]
    memory = results["memory"]
    assert memory["training"]["peak_mb"] > memory["training"]["data_mb"] > 0
    assert 0.5 < memory["predict_evaluate"]["accuracy"] <= 1.0       # the synthetic digits are learnable
    assert [t["what"] for t in results["targets"]] == ["float32, batch 1000, vs textbook GEMMs",
                                                       "float32, batch 1000, vs fit's own GEMMs",
                                                       "peak memory, training vs NumPy + data"]


def test_without_pytorch_installed_it_says_so(benchmark, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)          # import torch now raises ImportError
    results = benchmark.main(["--quick", "--no-sweeps", "--no-memory"])
    assert "PyTorch: not installed: deeplearner alone" in capsys.readouterr().out
    assert results["machine"]["torch"].startswith("not installed")
    assert "deeplearner fit float32" in results["batch_32"]["times"]


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

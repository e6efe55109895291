"""examples/export_onnx.py, run in-process through main(argv) on scikit-learn's digits, quickly."""

import re
from pathlib import Path

import numpy as np
import onnx
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def example(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import export_onnx
    monkeypatch.setattr(export_onnx, "SETTLE_SECONDS", 0.0)   # the pause between timed blocks
    return export_onnx


def test_the_example_exports_reloads_agrees_and_times(example, tmp_path, capsys):
    agreements, timings = example.main(["--data", "sklearn", "--epochs", "2", "--rounds", "1", "--threads", "1",
                                        "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert out.startswith("Data: scikit-learn's digits (1797 images of 8x8 pixels).")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed_network_float32.onnx", "seed_network_float64.onnx"]
    for path in tmp_path.iterdir():
        onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    for name, tolerance in (("seed network, float32", 1e-5), ("seed network, float64", 1e-10)):
        assert [batch for batch, _, _ in agreements[name]] == [1, 7, 1000]
        assert all(difference <= tolerance and same == 1.0 for _, difference, same in agreements[name])
    # The printed tables hold the same numbers.
    printed = re.findall(r"^\| (\d+) \| (\S+) \| (\S+) \|$", out, flags=re.M)
    expected = [(str(b), f"{d:.2e}", f"{s:.3f}") for rows in agreements.values() for b, d, s in rows]
    assert printed == expected
    timing_rows = re.findall(r"^\| (float32|float64) \| (\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)x \|$", out,
                             flags=re.M)
    assert [(dtype, batch) for dtype, batch, *_ in timing_rows] == [
        (dtype, batch) for dtype in ("float32", "float64") for batch in ("1", "32", "1000")]
    assert "ms per 1000 predictions, 1 round, 1 thread each (lower is faster):" in out
    for dtype in (np.float32, np.float64):
        assert all(ms["ONNX Runtime"] > 0 and ms["predict_proba"] > 0 for ms in timings[dtype].values())


def test_all_models_adds_the_cnn_exported_as_float32(example, capsys):
    agreements, _ = example.main(["--data", "sklearn", "--quick", "--epochs", "2", "--rounds", "1", "--all-models"])
    assert list(agreements) == ["seed network, float32", "seed network, float64",
                                "every activation and Dropout, float32", "every activation and Dropout, float64",
                                "the CNN, float32", "the CNN, float64, exported as float32"]
    for name, rows in agreements.items():
        tolerance = 1e-10 if name.endswith("float64") else 1e-5
        assert all(difference <= tolerance for _, difference, _ in rows), name
    assert "the CNN in float64, exported as float32 (validation accuracy" in capsys.readouterr().out


def test_without_onnxruntime_the_example_says_what_to_install(example, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(SystemExit, match=r"pip install onnxruntime"):
        example.main(["--quick"])

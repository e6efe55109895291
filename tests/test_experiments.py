"""The four BatchNorm experiments (examples/), each through its --quick path: table, PNG, data named."""

from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BUNDLED = "data: the bundled MNIST digits (5000 images of 20x20 pixels)"


@pytest.fixture
def experiments(monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import gradients_depth
    import init_scale
    import ioffe_figure1
    import learning_rate
    return init_scale, learning_rate, ioffe_figure1, gradients_depth


def run_quick(module, tmp_path, capsys, *extra):
    path = tmp_path / f"{module.__name__}.png"
    result = module.main(["--quick", "--data", "mnist20", "--plot", str(path), *extra])
    out = capsys.readouterr().out
    assert out.startswith(BUNDLED)                        # says which data it used
    assert "+----" in out                                 # a table
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    return result, out


def test_init_scale(experiments, tmp_path, capsys):
    results, out = run_quick(experiments[0], tmp_path, capsys)
    assert sorted({std for std, _ in results}) == [0.0001, 1.0]
    curves, _, diverged = results[1.0, False]
    assert diverged == 1 and np.isnan(curves).all()       # std 1 without BatchNorm overflows at once
    assert "diverged (epoch 1)" in out
    assert results[1.0, True][2] is None                  # with BatchNorm the same weights train
    assert all(0 <= value <= 1 for value in results[0.0001, True][0])


def test_learning_rate(experiments, tmp_path, capsys):
    results, out = run_quick(experiments[1], tmp_path, capsys)
    assert sorted({rate for rate, _ in results}) == pytest.approx([0.001, 10.0])
    assert "dead relus, no BN" in out
    # At rate 10 without BatchNorm the relus die within 6 steps; with it they do not.
    assert min(results[10.0, False]["dead"]) > 0.9
    assert max(results[10.0, True]["dead"]) < 0.5


def test_ioffe_figure1(experiments, tmp_path, capsys):
    runs, out = run_quick(experiments[2], tmp_path, capsys)
    assert "20 steps (1 epoch of 20 batches of 60)" in out
    (_, plain, plain_layer), (_, normed, normed_layer) = runs["without BatchNorm"], runs["with BatchNorm"]
    assert plain.name_of(plain_layer) == "4 Dense" and normed.name_of(normed_layer) == "7 BatchNorm"
    # BatchNorm's output over the probe, in training mode, has mean 0 per unit (before gamma, beta move far).
    assert abs(normed.outputs["7 BatchNorm"]["p50_per_unit"][0]).mean() < 0.2


def test_gradients_depth(experiments, tmp_path, capsys):
    runs, out = run_quick(experiments[3], tmp_path, capsys)
    for name, (monitor, _) in runs.items():
        norms = [monitor.grad_norms[key]["W"][0] for key in monitor.names]   # step 1, input side first
        ratio = norms[-1] / norms[0]
        if name == "without BatchNorm":
            assert ratio > 1e3                                # ten sigmoid layers: the gradient vanishes
        else:
            assert 0.1 < ratio < 10                           # BatchNorm keeps it level
    assert "last / first layer" in out

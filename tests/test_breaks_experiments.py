"""The five "Where BatchNorm breaks" experiments (examples/), each through its --quick path.

Each test runs a script's smoke test without --plot, so the script itself chooses where the
figure goes, and checks: the data it names, the shape of its table, its numbers, and a PNG
written outside docs/. One checks that a sweep run two fits at a time (--jobs 2, through
joblib's processes) gives the numbers of --jobs 1 to the last bit.
"""

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BUNDLED = "data: the bundled MNIST digits (5000 images of 20x20 pixels)"

pytestmark = pytest.mark.slow


@pytest.fixture
def examples(monkeypatch):
    pytest.importorskip("matplotlib")
    pytest.importorskip("joblib")
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import batchnorm_before_after_activation
    import batchnorm_train_inference_gap
    import groupnorm_batch_size
    import layernorm_vs_batchnorm
    import santurkar_smoothness
    return {"groupnorm_batch_size": groupnorm_batch_size, "gap": batchnorm_train_inference_gap,
            "layernorm": layernorm_vs_batchnorm, "santurkar": santurkar_smoothness,
            "before_after": batchnorm_before_after_activation}


def table(out):
    """The rows of the first table printed (header first), each a list of its cells."""
    lines = [line for line in out.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def run_quick(module, capsys, *extra):
    """Run ``--quick`` with no --plot; return (result, printed text, table rows) after checking the figure."""
    result = module.main(["--quick", *extra])
    out = capsys.readouterr().out
    assert out.startswith(BUNDLED)
    path = Path(re.search(r"figure saved to (.+)", out).group(1).strip())
    try:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        assert (REPO / "docs") not in path.resolve().parents        # a smoke test never writes into docs/
    finally:
        shutil.rmtree(path.parent)                                   # the fresh temporary folder it made
    return result, out, table(out)


def test_groupnorm_batch_size(examples, capsys):
    errors, out, rows = run_quick(examples["groupnorm_batch_size"], capsys, "--jobs", "1")
    assert rows[0] == ["normalization", "batch 4", "batch 32", "spread"]
    assert [row[0] for row in rows[1:]] == ["BatchNorm", "BatchNorm, statistics recomputed", "GroupNorm(4)"]
    assert all(cell.endswith("%") for row in rows[1:] for cell in row[1:3])
    assert len(errors) == 6 and all(0 <= value <= 1 for value in errors.values())
    # One epoch of 400 images at a batch of 4 (100 steps) learns something: well under 90% error (chance).
    assert errors["GroupNorm(4)", 4] < 0.7 and errors["BatchNorm", 4] < 0.7


def test_groupnorm_batch_size_jobs_2_equals_jobs_1(examples, capsys):
    module = examples["groupnorm_batch_size"]
    one, _, rows_one = run_quick(module, capsys, "--jobs", "1")
    two, _, rows_two = run_quick(module, capsys, "--jobs", "2")
    assert one == two                                  # every error, to the last bit
    assert rows_one == rows_two


def test_train_inference_gap(examples, capsys):
    results, out, rows = run_quick(examples["gap"], capsys, "--jobs", "1")
    assert len(rows) == 3 and len(rows[0]) == 8 and all(len(row) == 8 for row in rows)
    assert [row[:3] for row in rows[1:]] == [["16", "0.9", "50"], ["16", "0.999", "50"]]
    slow, fast = results[16, 0.999][0], results[16, 0.9][0]
    # 50 steps at momentum 0.999 leave the running averages near their start (zeros and ones): they lag
    # far more than at 0.9, and recomputing them does better than using them.
    assert slow["lag"] > 5 * fast["lag"]
    assert slow["recomputed"] > slow["running averages"]
    # The recomputed statistics depend on the weights only, which the BatchNorm momentum does not touch.
    assert slow["recomputed"] == fast["recomputed"] and slow["batch statistics"] == fast["batch statistics"]


def test_layernorm_vs_batchnorm(examples, capsys):
    results, out, rows = run_quick(examples["layernorm"], capsys, "--jobs", "1")
    assert [row[:2] for row in rows[1:]] == [["BatchNorm", "4"], ["LayerNorm", "4"], ["none", "4"]]
    assert all(len(row) == 8 for row in rows)
    assert rows[1][7] != "-" and rows[2][7] == "-"             # only BatchNorm has statistics to recompute
    for runs in results.values():
        assert len(runs[0]["val_accuracy"]) == 2               # --quick: 2 epochs


def test_santurkar_smoothness(examples, capsys):
    results, out, rows = run_quick(examples["santurkar"], capsys, "--jobs", "1")
    assert rows[0] == ["", "no BatchNorm", "BatchNorm", "noisy BatchNorm", "noisy, logits too"]
    assert len(rows) == 10 and all(len(row) == 5 for row in rows)   # 1 epoch: no "epoch 1" row twice
    assert rows[-1][3:] == ["-", "-"]                          # no landscape for the noisy networks
    noisy, plain = results["noisy BatchNorm"][0], results["BatchNorm"][0]
    assert "landscape" not in noisy and len(plain["landscape"]["steps"]) == 2   # 4 steps, a record every 2
    module = examples["santurkar"]
    names = [[layer.name for layer in module.build(kind, 0).layers] for kind in module.NOISY]
    assert [name.count("NoisyShift") for name in names] == [2, 3]   # after the hidden BatchNorms, or all
    assert all(value > 0 for value in plain["landscape"]["beta"])
    # The noise moves the next layer's input from step to step; BatchNorm alone hardly does in 4 steps.
    assert module.movement(noisy)[0] > 3 * module.movement(plain)[0]


def test_noisy_shift_layer(examples):
    """The noise layer: fresh draws per training forward, the identity at inference, dX = dY s."""
    NoisyShift = examples["santurkar"].NoisyShift
    layer = NoisyShift(shift=1.0, scale=2.0)
    rng = np.random.default_rng(0)
    layer.build(3, rng, np.float64)
    X = rng.normal(size=(5, 3))
    Y1 = layer.forward(X, training=True)
    s1, m1 = layer.s.copy(), layer.m.copy()
    assert np.allclose(Y1, X * s1 + m1) and np.all((s1 >= 0.5) & (s1 <= 2)) and np.all(np.abs(m1) <= 1)
    dY = rng.normal(size=(5, 3))
    assert np.allclose(layer.backward(dY), dY * s1)
    layer.forward(X, training=True)
    assert not np.allclose(layer.s, s1)                                  # drawn again
    assert layer.forward(X, training=False) is X and layer.backward(dY) is dY
    with pytest.raises(ValueError, match="scale must be >= 1"):
        NoisyShift(scale=0.5)
    with pytest.raises(ValueError, match="shift must be >= 0"):
        NoisyShift(shift=-1)


def test_before_after_activation(examples, capsys):
    results, out, rows = run_quick(examples["before_after"], capsys, "--jobs", "1")
    assert rows[0][:2] == ["network", "BatchNorm"]
    assert [row[:2] for row in rows[1:]] == [[network, place] for network in ("the seed's MLP", "the CNN")
                                            for place in ("before relu", "after relu", "no BatchNorm")]
    module = examples["before_after"]
    before, after = module.build("the CNN", "before relu", 0), module.build("the CNN", "after relu", 0)
    assert [layer.name for layer in before.layers[:3]] == ["Conv2D", "BatchNorm", "relu"]
    assert [layer.name for layer in after.layers[:3]] == ["Conv2D", "relu", "BatchNorm"]
    assert all(len(runs[0]["val_accuracy"]) == 2 for runs in results.values())

"""examples/cnn_handwritten.py's quick path runs on the bundled digits and reports all three models."""

import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_the_quick_run_trains_all_three_models_on_every_digit(monkeypatch, capsys, tmp_path):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.chdir(tmp_path)                       # no data/handwritten.mat here: the bundled digits
    import cnn_handwritten
    runs = cnn_handwritten.main(["--quick", "--plot", str(tmp_path / "curves.png")])
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("data: the bundled MNIST digits")
    assert [run["name"] for run in runs] == ["CNN with BatchNorm", "CNN without BatchNorm",
                                             "the seed's MLP (BatchNorm)"]
    assert [run["params"] for run in runs] == [5394, 5258, 46300]   # counted by hand in the test below
    for run in runs:
        assert len(run["history"]["val_accuracy"]) == run["epochs"] == 2
        assert 0.3 < run["history"]["val_accuracy"][-1] < 1.0   # learning, and not 2 digits only
    assert (tmp_path / "curves.png").stat().st_size > 10_000
    sys.modules.pop("cnn_handwritten", None)


def test_the_parameter_counts_by_hand():
    conv1 = 8 * 1 * 3 * 3 + 8                        # W (8, 1, 3, 3) and b
    conv2 = 16 * 8 * 3 * 3 + 16
    dense = 16 * 5 * 5 * 10 + 10
    bn = 4 * (8 + 16 + 10)                           # gamma, beta, running mean and variance
    assert conv1 + conv2 + dense + bn == 5394
    assert conv1 + conv2 + dense == 5258
    assert (400 * 100 + 100) + (100 * 50 + 50) + (50 * 10 + 10) + 4 * (100 + 50 + 10) == 46300

"""examples/resnet_depth.py: its quick path trains every kind of network and draws the figure outside docs/."""

import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_quick_run_trains_four_kinds_at_two_depths_and_writes_the_figure_elsewhere(monkeypatch, capsys, tmp_path):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import resnet_depth
    before = (DOCS / "resnet_depth.png").stat().st_mtime_ns if (DOCS / "resnet_depth.png").exists() else None
    runs = resnet_depth.main(["--quick", "--plot", str(tmp_path / "depth.png")])
    out = capsys.readouterr().out
    assert [(run["kind"], run["depth"]) for run in runs] == [(kind, depth) for kind in resnet_depth.KINDS
                                                             for depth in (8, 14)]
    for run in runs:
        assert run["epochs"] == 2 and len(run["val_error"]) == 2 and run["diverged"] is None
        assert all(0 <= error <= 1 for error in run["val_error"]) and run["loss"][-1] < 3
    params = {(run["kind"], run["depth"]): run["params"] for run in runs}
    # The residual networks have the plain ones' layers plus two 1x1 projections with a BatchNorm each:
    # (8 * 16 + 16) + 2 * 16 from 8 to 16 channels, (16 * 16 + 16) + 2 * 16 from 16 to 16.
    projections = (8 * 16 + 16 + 32) + (16 * 16 + 16 + 32)
    assert params[("residual", 8)] == params[("plain", 8)] + projections == params[("residual, zero gamma", 8)]
    assert params[("residual, no BatchNorm", 14)] < params[("residual", 14)]
    assert "Valid error (last)" in out and "figure saved to" in out
    assert (tmp_path / "depth.png").stat().st_size > 10_000
    after = (DOCS / "resnet_depth.png").stat().st_mtime_ns if (DOCS / "resnet_depth.png").exists() else None
    assert after == before                                  # the quick path never writes into docs/
    sys.modules.pop("resnet_depth", None)


def test_the_networks_have_the_paper_s_depths_6n_plus_2():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import resnet_depth
        for depth in (8, 20, 32):
            for kind in resnet_depth.KINDS:
                assert resnet_depth.layers_with_weights(resnet_depth.network(kind, depth, 0.1)) == depth
    finally:
        sys.path.remove(str(EXAMPLES))
        sys.modules.pop("resnet_depth", None)


def test_the_benchmark_s_pytorch_resnet_computes_what_deeplearner_s_does(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import benchmark_cnn
    from deeplearner.model.step import forward
    model = benchmark_cnn.deeplearner_resnet()
    net, _ = benchmark_cnn.torch_cnn(torch, model)
    X, _ = benchmark_cnn.image_data(32)
    net.train()                                              # both normalize with the batch's statistics
    expected = forward(model.body, X, True)                  # the logits
    assert np.abs(net(torch.from_numpy(X)).detach().numpy() - expected).max() < 1e-5 * np.abs(expected).max()
    assert sum(p.numel() for p in net.parameters()) == sum(layer.count_params()[0] for layer in model.layers)
    sys.modules.pop("benchmark_cnn", None)

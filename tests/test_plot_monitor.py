"""deeplearner.plot's pictures of a LayerMonitor: what each panel holds, and the errors."""

import numpy as np
import pytest

from deeplearner import SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, LayerMonitor, Sequential, plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def mpl():
    return pytest.importorskip("matplotlib")


def monitored(batchnorm, every=2, epochs=3):
    rng = np.random.default_rng(0)
    y = np.arange(120) % 3
    X = rng.normal(size=(120, 5)) + y[:, None]
    layers = [Dense(8), *([BatchNorm()] if batchnorm else []), Activation("sigmoid"), Dense(3), Activation("softmax")]
    model = Sequential(layers, SGD(learning_rate=0.1), CrossEntropyForSoftMax(), input_shape=5, seed=0)
    monitor = LayerMonitor(X[:40], every=every)
    model.fit(X, y, epochs=epochs, batch_size=30, verbose=0, callbacks=[monitor])   # 4 steps per epoch
    return monitor


def test_percentiles_draw_one_line_per_percentile_over_the_recorded_steps(mpl, tmp_path):
    monitor = monitored(batchnorm=False)
    figure = plot.plot_percentiles(monitor, layer=0, path=tmp_path / "p.png")
    (axes,) = figure.axes
    lines = axes.get_lines()
    assert [line.get_label() for line in lines] == ["15th percentile", "50th percentile", "85th percentile"]
    np.testing.assert_array_equal(lines[1].get_xdata(), [2, 4, 6, 8, 10, 12])
    np.testing.assert_array_equal(lines[1].get_ydata(), monitor.outputs["0 Dense"]["p50"])
    assert axes.get_title() == "layer 0 Dense"
    assert (tmp_path / "p.png").read_bytes()[:8] == PNG_SIGNATURE


def test_percentiles_of_one_unit_for_several_runs_share_the_y_axis(mpl):
    runs = {"plain": monitored(False), "BN": monitored(True)}
    figure = plot.plot_percentiles(runs, layer=1, unit=3)
    left, right = figure.axes
    assert left.get_title() == "plain: unit 3 of layer 1 sigmoid"
    assert right.get_title() == "BN: unit 3 of layer 1 BatchNorm"
    np.testing.assert_array_equal(right.get_lines()[0].get_ydata(),
                                  runs["BN"].outputs["1 BatchNorm"]["p15_per_unit"][:, 3])
    assert left.get_shared_y_axes().joined(left, right)


def test_layer_histograms_overlay_the_first_and_last_records(mpl):
    monitor = monitored(batchnorm=True)
    figure = plot.plot_layer_histograms(monitor)
    panels = [axes for axes in figure.axes if axes.axison]
    assert len(panels) == len(monitor.names) == 5
    titles = [axes.get_title() for axes in panels]
    assert titles[2].startswith("2 sigmoid\n") and "saturated at step 12" in titles[2]
    assert len(panels[0].containers) == 2                           # two histograms in each panel
    for bars in panels[0].containers:                               # each holds every kept value
        assert sum(bar.get_height() for bar in bars) == monitor.outputs["0 Dense"]["values"].shape[1]
    assert panels[0].get_legend_handles_labels()[1] == ["step 2", "step 12"]


def test_grad_norms_line_up_runs_by_depth(mpl):
    runs = {"BN": monitored(True), "plain": monitored(False)}
    figure = plot.plot_grad_norms(runs, records=(0, -1))
    (axes,) = figure.axes
    assert axes.get_yscale() == "log"
    labels = [line.get_label() for line in axes.get_lines()]
    assert labels == ["BN, step 2", "BN, step 12", "plain, step 2", "plain, step 12"]
    for line in axes.get_lines():
        np.testing.assert_array_equal(line.get_xdata(), [1, 2])   # two Dense layers, at positions 0 and 3 or 2
    np.testing.assert_array_equal(axes.get_lines()[3].get_ydata(),
                                  [runs["plain"].grad_norms[key]["W"][-1] for key in ("0 Dense", "2 Dense")])
    ratios = plot.plot_grad_norms(runs["BN"], param="gamma", what="update_ratio").axes[0]
    assert ratios.get_ylabel() == "||update of gamma|| / ||gamma||"


def test_errors_name_the_fix(mpl):
    empty = LayerMonitor(np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"plot_percentiles: the monitor has no records yet. Pass it to fit"):
        plot.plot_percentiles(empty, layer=0)
    monitor = monitored(False)
    with pytest.raises(ValueError, match=r"LayerMonitor: no recorded layer 'relu'; the recorded layers are"):
        plot.plot_percentiles(monitor, layer="relu")
    with pytest.raises(ValueError, match=r"plot_grad_norms: no recorded layer has a parameter 'gamma'; the "
                                         r"parameters are \['W', 'b'\]\."):
        plot.plot_grad_norms(monitor, param="gamma")
    with pytest.raises(ValueError, match=r"plot_grad_norms: what must be 'grad_norm' or 'update_ratio'"):
        plot.plot_grad_norms(monitor, what="norm")
    with pytest.raises(ValueError, match=r"plot_layer_histograms: records must be indices into the 6 records "
                                         r"\(0 to 5, or negative from the end\), received \[0, 9\]\."):
        plot.plot_layer_histograms(monitor, records=(0, 9))
    with pytest.raises(TypeError, match=r"plot_percentiles: expected a LayerMonitor \(or a dict of them\)"):
        plot.plot_percentiles({"a": {"loss": [1]}}, layer=0)
    with pytest.raises(ValueError, match=r"plot_percentiles: received 2 axes for 1 monitors; pass one each\."):
        plot.plot_percentiles(monitor, layer=0, axes=plot.plot_history({"loss": [1, 2]}).axes)

"""plot_filters, plot_feature_maps, plot_saliency: what each panel holds; examples/cnn_pictures.py's quick path."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from deeplearner import (SGD, Activation, BatchNorm, Conv2D, CrossEntropyForSoftMax, Dense, Flatten,  # noqa: E402
                         MaxPool2D, Sequential)
from deeplearner.plot import plot_feature_maps, plot_filters, plot_saliency  # noqa: E402
from deeplearner.saliency import saliency  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def cnn(batchnorm=False):
    norm = [BatchNorm()] if batchnorm else []
    return Sequential([Conv2D(4, 3, padding=1), *norm, Activation("relu"), MaxPool2D(2), Conv2D(6, 3, padding=1),
                       Activation("relu"), MaxPool2D(2), Flatten(), Dense(3), Activation("softmax")],
                      SGD(learning_rate=0.1), CrossEntropyForSoftMax(), input_shape=(2, 8, 8), seed=0)


def pictures(figure):
    """The data of every image panel, in order (colorbars left out)."""
    return [axes.images[0] for axes in figure.axes if axes.images]


def test_plot_filters_draws_every_kernel_on_one_scale_centred_at_zero(tmp_path):
    model = cnn()
    layer = model.layers[3]                                      # W of shape (6, 4, 3, 3)
    figure = plot_filters(layer, path=tmp_path / "filters.png")
    images = pictures(figure)
    W = layer.params["W"]
    assert len(images) == 6 * 4
    for k, image in enumerate(images):                           # row f, column c
        np.testing.assert_array_equal(image.get_array(), W[k // 4, k % 4])
        assert image.get_clim() == (-np.abs(W).max(), np.abs(W).max())
    assert any(axes.get_label() == "<colorbar>" for axes in figure.axes)
    assert (tmp_path / "filters.png").stat().st_size > 5_000


def test_plot_filters_of_one_input_channel_wraps_the_filters_in_rows():
    model = cnn()
    figure = plot_filters(model.layers[0], columns=3)            # W (4, 2, 3, 3): two channels, a grid
    assert len(pictures(figure)) == 8
    one_channel = Sequential([Conv2D(5, 3), Flatten(), Dense(2), Activation("softmax")], SGD(),
                             CrossEntropyForSoftMax(), input_shape=(1, 6, 6), seed=0)
    figure = plot_filters(one_channel.layers[0], columns=3)
    images = pictures(figure)
    assert len(images) == 5 and [a.get_title() for a in figure.axes if a.images][:2] == ["filter 0", "filter 1"]
    np.testing.assert_array_equal(images[4].get_array(), one_channel.layers[0].params["W"][4, 0])


def test_plot_filters_refuses_a_layer_that_is_not_a_convolution():
    with pytest.raises(TypeError, match=r"plot_filters: layer must be a Conv2D inside a built model \(its W has "
                                        r"shape \(filters, channels, kh, kw\)\), received Dense\(3\)\."):
        plot_filters(cnn().layers[7])


def test_plot_feature_maps_shows_each_channel_after_each_chosen_layer(tmp_path):
    model = cnn(batchnorm=True)
    x = np.random.default_rng(0).random((2, 8, 8))
    figure = plot_feature_maps(model, x, path=tmp_path / "maps.png")   # default: the relus, layers 2 and 5
    Y, expected = x[None], []
    for i, layer in enumerate(model.layers[:6]):
        Y = layer.forward(Y, False)
        if i in (2, 5):
            expected += list(Y[0])
    images = pictures(figure)
    assert len(images) == 2 + 4 + 6                              # the input's 2 channels, then 4, then 6
    np.testing.assert_array_equal(images[0].get_array(), x[0])
    for image, channel in zip(images[2:], expected):
        np.testing.assert_array_equal(image.get_array(), channel)
    assert images[2].get_clim() == images[5].get_clim()          # one scale per layer


def test_plot_feature_maps_takes_chosen_layers_and_caps_the_channels():
    model = cnn()
    figure = plot_feature_maps(model, np.ones((1, 2, 8, 8)), layers=[3], max_channels=4)
    assert len(pictures(figure)) == 2 + 4


@pytest.mark.parametrize("call, message", [
    (lambda m: plot_feature_maps(m, np.ones((2, 8, 8)), layers=[8]),
     r"plot_feature_maps: layers=\[8\] holds \[8\], whose output is not an image \(or not a layer of the model\); "
     r"the layers that give images are \[0, 1, 2, 3, 4, 5\]\."),
    (lambda m: plot_feature_maps(m, np.ones((3, 2, 8, 8))),
     r"plot_feature_maps: x must be one image of shape \(2, 8, 8\), received 3 images\. Pass X\[i\]\."),
])
def test_plot_feature_maps_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call(cnn())


def test_plot_feature_maps_needs_an_image_model():
    flat = Sequential([Dense(3), Activation("softmax")], SGD(), CrossEntropyForSoftMax(), input_dim=4)
    with pytest.raises(ValueError, match=r"plot_feature_maps: the model takes rows of shape \(4,\), not images"):
        plot_feature_maps(flat, np.ones(4))


def test_plot_saliency_puts_each_image_beside_its_map(tmp_path):
    model = cnn()
    X = np.random.default_rng(1).random((3, 2, 8, 8))
    model.fit(X, [0, 1, 2], epochs=1, batchsize=3, verbose=0)
    figure = plot_saliency(model, X, y=[0, 1, 1], path=tmp_path / "saliency.png")
    images = pictures(figure)
    S = np.abs(saliency(model, X)).max(axis=1)
    assert len(images) == 2 * 3
    for i in range(3):
        np.testing.assert_array_equal(images[2 * i].get_array(), X[i].mean(axis=0))
        np.testing.assert_array_equal(images[2 * i + 1].get_array(), S[i])
        assert images[2 * i + 1].get_clim() == (0, S[i].max())
    titles = [axes.get_title() for axes in figure.axes if axes.images]
    predicted = model.predict(X)
    assert titles[1] == f"saliency of {predicted[0]}" and titles[0].startswith(f"true 0, predicted {predicted[0]}")
    assert (tmp_path / "saliency.png").stat().st_size > 5_000


def test_plot_saliency_of_a_flat_model_folds_rows_into_images():
    model = Sequential([Dense(4), Activation("tanh"), Dense(2), Activation("softmax")], SGD(),
                       CrossEntropyForSoftMax(), input_dim=64, seed=0)
    X = np.random.default_rng(2).random((2, 64))
    images = pictures(plot_saliency(model, X, classes=[1, 0]))
    np.testing.assert_array_equal(images[0].get_array(), X[0].reshape(8, 8))     # sklearn digits: 8x8, row-major
    np.testing.assert_array_equal(images[1].get_array(), np.abs(saliency(model, X, classes=[1, 0])[0]).reshape(8, 8))


# ---------------------------------------------------------------- the example
@pytest.mark.slow
def test_the_quick_example_writes_five_pngs_into_the_folder_given_and_none_into_docs(monkeypatch, capsys, tmp_path):
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    docs_before = {p.name: p.stat().st_mtime_ns for p in (ROOT / "docs").iterdir()}
    import cnn_pictures
    result = cnn_pictures.main(["--quick", "--plot", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert "validation accuracy" in out and result["folder"] == str(tmp_path / "out")
    assert sorted(os.listdir(tmp_path / "out")) == sorted(cnn_pictures.NAMES)
    for path in result["paths"]:
        assert os.path.getsize(path) > 10_000
    assert len(result["history"]["loss"]) == 2
    assert {p.name: p.stat().st_mtime_ns for p in (ROOT / "docs").iterdir()} == docs_before
    sys.modules.pop("cnn_pictures", None)
    sys.modules.pop("cnn_handwritten", None)


def test_the_quick_example_without_plot_writes_into_a_temporary_folder(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    import cnn_pictures
    monkeypatch.setattr(cnn_pictures.tempfile, "mkdtemp", lambda prefix: str(tmp_path / (prefix + "x")))
    calls = []
    monkeypatch.setattr(cnn_pictures, "plot_filters", lambda *a, **k: calls.append(k["path"]))
    monkeypatch.setattr(cnn_pictures, "plot_feature_maps", lambda *a, **k: calls.append(k["path"]))
    monkeypatch.setattr(cnn_pictures, "plot_saliency", lambda *a, **k: calls.append(k["path"]))
    monkeypatch.setattr(cnn_pictures, "load_mnist20", lambda images: (np.random.default_rng(0).random(
        (400, 1, 20, 20)), (np.arange(400) // 8) % 10))
    result = cnn_pictures.main(["--quick"])
    assert result["folder"] == str(tmp_path / "cnn_pictures_x") and len(calls) == 5
    assert all(str(path).startswith(str(tmp_path)) for path in calls)
    sys.modules.pop("cnn_pictures", None)
    sys.modules.pop("cnn_handwritten", None)

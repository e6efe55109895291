"""Pictures of what a convolutional network learned: its filters, its feature maps, its saliency maps.

    plot_filters(model.layers[0], path="filters.png")          # the kernels of a Conv2D
    plot_feature_maps(model, X_valid[0], path="maps.png")      # one image, channel by channel, layer by layer
    plot_saliency(model, X_valid[:6], path="saliency.png")     # each image beside its saliency map

Each returns a matplotlib Figure and, given ``path``, saves it as a PNG (see canvas.py).
"""

import math
import numbers

import numpy as np

from ..datasets import to_images
from ..layers import Activation
from ..saliency import saliency
from ..validation import check_X
from .canvas import new_figure, save
from .training import WRONG_COLOR


def _bare(axes):
    axes.set_xticks([])
    axes.set_yticks([])


def plot_filters(layer, columns=8, path=None, title=None):
    """A Conv2D's kernels as small images, one per (filter, input channel), on one colour scale.

    Parameters
    ----------
    layer : Conv2D, built (in a model), with W of shape (F, C, kh, kw)
        One row per filter and one column per input channel; a layer with one input channel
        (the first of an image model) draws its F kernels in rows of ``columns``.
    columns : int
        Kernels per row when there is one input channel.

    The scale is centred at zero and shared by every kernel, with the colorbar beside them:
    red is a positive weight, blue a negative one, white zero, so kernels can be compared. A
    first-layer kernel that is red on one side and blue on the other responds to an edge
    between dark and light in that direction.
    """
    W = getattr(layer, "params", {}).get("W") if isinstance(getattr(layer, "params", None), dict) else None
    if W is None or W.ndim != 4:
        raise TypeError(f"plot_filters: layer must be a Conv2D inside a built model (its W has shape (filters, "
                        f"channels, kh, kw)), received {layer!r}. Pass e.g. model.layers[0].")
    F, C, kh, kw = W.shape
    if C == 1:
        cols = min(F, columns)
        rows = math.ceil(F / cols)
        kernels = [(f, 0) for f in range(F)]
    else:
        rows, cols = F, C
        kernels = [(f, c) for f in range(F) for c in range(C)]
    size = 0.9 if C == 1 else max(0.35, min(0.9, 9 / cols))       # inches per kernel
    figure = new_figure((cols * size + 1.4, rows * size + 0.9))
    grid = figure.subplots(rows, cols, squeeze=False)
    limit = float(np.max(np.abs(W))) or 1.0                       # one scale for all, centred at zero
    image = None
    for axes in grid.ravel():
        _bare(axes)
        axes.set_frame_on(False)
    for k, (f, c) in enumerate(kernels):
        axes = grid.ravel()[k]
        image = axes.imshow(W[f, c], cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        if C == 1:
            axes.set_title(f"filter {f}", fontsize="x-small")
        else:
            if c == 0:
                axes.set_ylabel(f"{f}", fontsize="x-small", rotation=0, ha="right", va="center")
            if f == 0:
                axes.set_title(f"in {c}", fontsize="x-small")
    figure.colorbar(image, ax=grid.ravel().tolist(), shrink=0.5 if rows > 4 else 1.0, aspect=30 if rows > 4 else 10,
                    label="weight")
    what = f"{F} filters of {kh}x{kw}" + ("" if C == 1 else f" over {C} input channels (rows: filter, columns: "
                                                             f"input channel)")
    figure.suptitle(title or f"Conv2D kernels: {what}", fontsize="small" if C > 1 else "medium")
    return save(figure, path)


def _image_layers(model):
    """Positions of the layers whose output is an image (channels, height, width)."""
    return [i for i, shape in enumerate(model.output_shapes) if len(shape) == 3]


def plot_feature_maps(model, x, layers=None, max_channels=16, columns=8, path=None, title=None):
    """One image's activations after the chosen layers, one panel per channel.

    Parameters
    ----------
    model : Sequential of images (input_shape (channels, height, width))
    x : array-like of shape input_shape, or (1, *input_shape)
        The image; it goes through the model in inference mode, as in ``predict``.
    layers : list of int, optional
        Positions of the layers to show, each of which must give images. By default each
        activation layer that gives images (what each convolutional block passes on), or every
        layer that gives images when none is an activation.
    max_channels : int
        At most this many channels of each layer (the first ones).
    columns : int
        Panels per row.

    Each layer's panels share one colour scale (its colorbar beside them), so a channel that
    is dark everywhere did not respond to this image. The input image is drawn first.
    """
    shape = tuple(model.input_shape)
    if len(shape) != 3:
        raise ValueError(f"plot_feature_maps: the model takes rows of shape {shape}, not images; it needs a model "
                         f"of images, e.g. input_shape=(1, 20, 20).")
    x = np.asarray(x)
    X = check_X(x[None] if x.shape == shape else x, shape, model.dtype, name="x")
    if len(X) != 1:
        raise ValueError(f"plot_feature_maps: x must be one image of shape {shape}, received {len(X)} images. "
                         f"Pass X[i].")
    images = _image_layers(model)
    if layers is None:
        layers = [i for i in images if isinstance(model.layers[i], Activation)] or images
    layers = [int(i) for i in layers] if not isinstance(layers, numbers.Integral) else [int(layers)]
    wrong = [i for i in layers if i not in images]
    if wrong:
        raise ValueError(f"plot_feature_maps: layers={layers} holds {wrong}, whose output is not an image (or not a "
                         f"layer of the model); the layers that give images are {images}.")
    outputs, Y = {}, X
    for i, layer in enumerate(model.layers[:max(layers) + 1]):
        Y = layer.forward(Y, False)                        # inference mode, as predict
        if i in layers:
            outputs[i] = Y[0]                              # (channels, height, width)
    rows_per = [1] + [math.ceil(min(len(outputs[i]), max_channels) / columns) for i in layers]
    figure = new_figure((columns * 1.1 + 1.2, sum(rows_per) * 1.25 + 0.5 * len(rows_per) + 0.4))
    parts = figure.subfigures(len(rows_per), 1, height_ratios=[r + 0.45 for r in rows_per])
    _draw_channels(parts[0], X[0], f"input {shape}", columns, max_channels, cmap="gray_r")
    for part, i in zip(parts[1:], layers):
        name = getattr(model.layers[i], "name", type(model.layers[i]).__name__)
        channels = outputs[i]
        shown = f", first {max_channels}" if len(channels) > max_channels else ""
        _draw_channels(part, channels, f"after layer {i} ({name}): {len(channels)} channels of "
                                       f"{channels.shape[1]}x{channels.shape[2]}{shown}", columns, max_channels)
    if title:
        figure.suptitle(title)
    return save(figure, path)


def _draw_channels(part, channels, label, columns, max_channels, cmap="viridis"):
    """channels : (C, h, w) -> panels in ``part`` (a subfigure), one colour scale and colorbar for all."""
    channels = channels[:max_channels]
    cols = min(len(channels), columns)
    rows = math.ceil(len(channels) / cols)
    grid = part.subplots(rows, columns, squeeze=False)
    low, high = float(channels.min()), float(channels.max())
    image = None
    for k, axes in enumerate(grid.ravel()):
        _bare(axes)
        if k >= len(channels):
            axes.set_axis_off()
            continue
        image = axes.imshow(channels[k], cmap=cmap, vmin=low, vmax=high if high > low else low + 1,
                            interpolation="nearest")
        if len(channels) > 1:
            axes.set_title(f"{k}", fontsize="x-small", pad=2)
    part.colorbar(image, ax=grid.ravel().tolist(), shrink=0.9, aspect=10 * rows)
    part.suptitle(label, fontsize="small")


def plot_saliency(model, X, classes=None, y=None, columns=3, shape=None, order=None, path=None, title=None):
    """Each image beside its saliency map, max over channels of |d(class score)/d(pixel)|.

    Parameters
    ----------
    model : Sequential
    X : array-like of shape (n, *model.input_shape)
        Images, or rows of pixels for a flat model (folded upright with ``shape``/``order``,
        which default as in ``plot_digits``).
    classes : array-like of shape (n,), optional
        The class of each map (labels of ``model.classes_``); by default the predicted one.
    y : array-like of shape (n,), optional
        The true labels: each image is then titled "true 3, predicted 5", in red when wrong.
    columns : int
        (image, map) pairs per row.

    The class score is the logit, the input of the softmax (see `deeplearner.saliency.saliency`,
    which computes the gradients). Each map is scaled to its own largest value, as in Simonyan
    et al. (2014): bright pixels are those whose change would move that image's score the most.
    """
    S = saliency(model, X, classes)
    X = check_X(X, model.input_shape, model.dtype, name="X")
    P = model.predict_proba(X)
    known = len(model.classes_) if model.classes_ is not None else P.shape[1]
    predicted = np.argmax(P[:, :known], axis=1)
    if classes is None:
        units = predicted
    else:
        labels = np.asarray(model.classes_).tolist() if model.classes_ is not None else list(range(P.shape[1]))
        units = np.array([labels.index(c) for c in np.asarray(classes).reshape(-1).tolist()])
    names = model.classes_ if model.classes_ is not None else np.arange(P.shape[1])
    if len(model.input_shape) == 3:
        pictures = X.mean(axis=1)                                         # (n, h, w): the channels' mean
        maps = np.abs(S).max(axis=1)                                      # (n, h, w): max over channels
    else:
        pictures = to_images(X, shape=shape, order=order)
        maps = to_images(np.abs(S), shape=shape, order=order)
    n = len(X)
    cols = min(n, columns)
    rows = math.ceil(n / cols)
    figure = new_figure((cols * 3.4, rows * 1.9 + 0.5))
    grid = figure.subplots(rows, 2 * cols, squeeze=False)
    for axes in grid.ravel():
        _bare(axes)
        axes.set_frame_on(False)
    for i in range(n):
        left, right = grid[i // cols, 2 * (i % cols)], grid[i // cols, 2 * (i % cols) + 1]
        left.imshow(pictures[i], cmap="gray_r", interpolation="nearest")
        guess = f"predicted {names[predicted[i]]} ({P[i, predicted[i]]:.2f})"
        wrong = y is not None and np.asarray(y).reshape(-1)[i] != names[predicted[i]]
        left.set_title(guess if y is None else f"true {np.asarray(y).reshape(-1)[i]}, {guess}", fontsize="small",
                       color=WRONG_COLOR if wrong else "black")
        right.imshow(maps[i], cmap="inferno", vmin=0, vmax=float(maps[i].max()) or 1.0, interpolation="nearest")
        right.set_title(f"saliency of {names[units[i]]}", fontsize="small")
    figure.suptitle(title or "Images and their saliency maps: |d logit / d pixel|, each map scaled to its maximum",
                    fontsize="medium")
    return save(figure, path)

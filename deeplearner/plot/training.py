"""Pictures of training: learning curves, sample digits, a confusion matrix, a LayerMonitor's records.

The package's docstring (plot/__init__.py) shows a call of each. Each returns a matplotlib
Figure and, given ``path``, saves it as a PNG (see canvas.py).
"""

import numpy as np

from ..datasets import to_images
from .canvas import new_figure, save

WRONG_COLOR = "tab:red"


def plot_history(history, path=None, title=None, log_loss=False, log_epochs=False):
    """Loss and accuracy per epoch, side by side; training solid, validation dashed.

    Parameters
    ----------
    history : dict of str -> list of float, or dict of str -> such dicts
        What ``Sequential.fit`` returns (keys ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``),
        or several of them by name, e.g. ``{"with BatchNorm": h1, "without": h2}``: each run gets
        one color.
    path : str or Path, optional
        Save the figure there as a PNG.
    title : str, optional
    log_loss : bool
        Draw the loss on a log scale, which separates runs whose loss is already small.
    log_epochs : bool
        Draw the epochs on a log scale, which spreads out the first epochs, where runs differ most.
    """
    if not history:
        raise ValueError("plot_history: the history is empty. Pass the dict returned by fit.")
    runs = history if all(isinstance(value, dict) for value in history.values()) else {None: history}
    for name, run in runs.items():
        if "loss" not in run:
            raise ValueError(f"plot_history: the history {'' if name is None else repr(name) + ' '}has no "
                             f"'loss'; its keys are {sorted(run)}. Pass the dict returned by fit, or a dict "
                             f"of such dicts by name.")
    figure = new_figure((11, 4))
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    styles = (("", "-", "training"), ("val_", "--", "validation"))
    for color_index, (name, run) in enumerate(runs.items()):
        color = f"C{color_index}"
        for axes, key in ((loss_axes, "loss"), (accuracy_axes, "accuracy")):
            for prefix, style, split in styles:
                values = run.get(prefix + key)
                if values is None or np.all(np.isnan(values)):
                    continue   # no validation data, or accuracy of a regression model
                epochs = np.arange(1, len(values) + 1)   # history[0] is epoch 1
                # One run: label each line. Several: label each color once, the styles below.
                label = split if name is None else (name if prefix == "" else None)
                axes.plot(epochs, values, style, color=color, label=label)
    if None not in runs:
        for axes in (loss_axes, accuracy_axes):
            for _, style, split in styles:
                axes.plot([], [], style, color="gray", label=split)   # legend entries only
    loss_axes.set(ylabel="loss", title="Loss", yscale="log" if log_loss else "linear")
    accuracy_axes.set(ylabel="accuracy", title="Accuracy")
    for axes in (loss_axes, accuracy_axes):
        axes.set(xlabel="epoch", xscale="log" if log_epochs else "linear")
        if not log_epochs:
            axes.xaxis.get_major_locator().set_params(integer=True)   # epoch 2, never epoch 2.5
        axes.grid(alpha=0.3)
        if axes.get_legend_handles_labels()[0]:   # a regression model has no accuracy curves
            axes.legend(fontsize="small")
    if title:
        figure.suptitle(title)
    return save(figure, path)


def plot_digits(X, y_true, y_pred=None, n=25, columns=5, shape=None, order=None, path=None, title=None):
    """A grid of the first ``n`` images with their labels; wrong predictions in red.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_pixels)
        Rows of pixels. ``shape``/``order`` default to ``deeplearner.datasets.image_layout``, which
        knows handwritten.mat (20x20, column-major) and scikit-learn's digits (8x8, row-major), so
        every digit is drawn upright.
    y_true : array-like of shape (n_samples,)
    y_pred : array-like of shape (n_samples,), optional
        Each panel is titled "true 3 / pred 5"; a wrong prediction gets a red title and frame.
    n, columns : int
        How many images, and how many per row.
    """
    images = to_images(np.asarray(X)[:n], shape=shape, order=order)   # (n, height, width), upright
    y_true = np.asarray(y_true).reshape(-1)
    y_pred = None if y_pred is None else np.asarray(y_pred).reshape(-1)
    if len(y_true) < len(images) or (y_pred is not None and len(y_pred) < len(images)):
        raise ValueError(f"plot_digits: X has {len(np.asarray(X))} rows but y_true has {len(y_true)} labels"
                         f"{'' if y_pred is None else f' and y_pred {len(y_pred)}'}. Pass one label per row.")
    rows = int(np.ceil(len(images) / columns))
    figure = new_figure((1.5 * columns, 1.7 * rows))
    grid = figure.subplots(rows, columns, squeeze=False).ravel()   # (rows * columns,) axes
    for i, axes in enumerate(grid):
        axes.set_xticks([])
        axes.set_yticks([])
        if i >= len(images):
            axes.set_axis_off()
            continue
        # gray_r: ink dark on a light background; origin "upper": row 0 of the image at the top.
        axes.imshow(images[i], cmap="gray_r", interpolation="nearest", origin="upper")
        if y_pred is None:
            axes.set_title(f"{y_true[i]}", fontsize="small")
            continue
        wrong = y_pred[i] != y_true[i]
        color = WRONG_COLOR if wrong else "black"
        axes.set_title(f"true {y_true[i]} / pred {y_pred[i]}", fontsize="small", color=color)
        if wrong:
            for spine in axes.spines.values():
                spine.set(color=WRONG_COLOR, linewidth=2)
    if title:
        figure.suptitle(title)
    return save(figure, path)


def confusion_matrix(y_true, y_pred, labels=None):
    """counts[i, j] = how many samples of class labels[i] were predicted as labels[j].

    y_true, y_pred : array-like of shape (n,) -> (counts : ndarray of shape (k, k), labels : (k,)).
    ``labels`` defaults to every label seen in either array, sorted; given, it must hold every one.
    """
    y_true, y_pred = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    if len(y_true) != len(y_pred):
        raise ValueError(f"confusion_matrix: y_true has {len(y_true)} labels but y_pred has {len(y_pred)}. "
                         f"Pass the true and predicted labels of the same samples.")
    labels = np.unique(np.concatenate([y_true, y_pred])) if labels is None else np.asarray(labels)
    index = {label: k for k, label in enumerate(labels.tolist())}
    seen = dict.fromkeys(y_true.tolist() + y_pred.tolist())   # each label once, in order of appearance
    unknown = [label for label in seen if label not in index]
    if unknown:
        raise ValueError(f"confusion_matrix: y_true or y_pred holds labels that are not in labels="
                         f"{labels.tolist()}: {unknown[:10]}. Add them to labels, or pass labels=None to "
                         f"use every label seen.")
    counts = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for true, pred in zip(y_true.tolist(), y_pred.tolist()):
        counts[index[true], index[pred]] += 1
    return counts, labels


def plot_confusion_matrix(y_true, y_pred, labels=None, path=None, title=None):
    """The confusion matrix as a heat map with the count in every cell; rows true, columns predicted.

    y_true, y_pred : array-like of shape (n,). The diagonal holds the correct predictions; the
    title reports the accuracy.
    """
    counts, labels = confusion_matrix(y_true, y_pred, labels)
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    figure = new_figure((6, 5.2))
    axes = figure.subplots()
    heat = axes.imshow(counts, cmap="Blues")
    figure.colorbar(heat, ax=axes, shrink=0.8, label="samples")
    ticks = np.arange(len(labels))
    axes.set(xticks=ticks, yticks=ticks, xticklabels=labels.tolist(), yticklabels=labels.tolist(),
             xlabel="predicted label", ylabel="true label",
             title=title or f"Confusion matrix (accuracy {accuracy:.3f})")
    threshold = counts.max() / 2   # white text on the dark cells, black on the light ones
    for i, j in np.ndindex(*counts.shape):
        if counts[i, j]:
            axes.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize="small",
                      color="white" if counts[i, j] > threshold else "black")
    return save(figure, path)


# ---------------------------------------------------------------- inside the network (LayerMonitor)
def _runs(monitor, who):
    """One LayerMonitor, or a dict of them by name -> {name or None: monitor}, each with records."""
    runs = monitor if isinstance(monitor, dict) else {None: monitor}
    if not runs:
        raise ValueError(f"{who}: no monitors given. Pass a LayerMonitor, or a dict of them by name.")
    for name, run in runs.items():
        if not hasattr(run, "outputs") or not hasattr(run, "steps"):
            raise TypeError(f"{who}: expected a LayerMonitor (or a dict of them), received {run!r}.")
        if len(run.steps) == 0:
            raise ValueError(f"{who}: the monitor {'' if name is None else repr(name) + ' '}has no records yet. "
                             f"Pass it to fit: model.fit(..., callbacks=[monitor]).")
    return runs


def _ordinal(q):
    q = f"{q:g}"
    suffix = "th" if q.endswith(("11", "12", "13")) else {"1": "st", "2": "nd", "3": "rd"}.get(q[-1], "th")
    return q + suffix


def plot_percentiles(monitor, layer, unit=None, path=None, title=None, axes=None):
    """The percentiles of one layer's output over training (15th, 50th, 85th by default).

    Parameters
    ----------
    monitor : LayerMonitor, or dict of str -> LayerMonitor
        Several by name (e.g. ``{"without BatchNorm": m1, "with BatchNorm": m2}``) give one panel
        each, side by side, on the same y axis.
    layer : str or int
        The recorded layer, by its key ("4 Dense") or its position (4). Its output is the next
        layer's input: to follow the input of a sigmoid, pass the layer before it.
    unit : int, optional
        Draw one unit's percentiles over the probe (as Ioffe & Szegedy's Figure 1 follows one
        sigmoid) instead of those over all the layer's outputs.
    axes : sequence of matplotlib Axes, optional
        Draw into these (one per monitor), in a figure of your own, instead of a new figure.
    """
    runs = _runs(monitor, "plot_percentiles")
    if axes is None:
        figure = new_figure((5 * len(runs), 3.8))
        axes = figure.subplots(1, len(runs), sharey=True, squeeze=False)[0]
    else:
        axes = list(axes)
        if len(axes) != len(runs):
            raise ValueError(f"plot_percentiles: received {len(axes)} axes for {len(runs)} monitors; pass one each.")
        figure = axes[0].figure
    from matplotlib.ticker import MaxNLocator   # only now: new_figure has said so if matplotlib is missing

    for panel, (name, run) in zip(axes, runs.items()):
        key, outputs = run.name_of(layer), run.outputs
        columns = [f"p{q:g}" if unit is None else f"p{q:g}_per_unit" for q in run.percentiles]
        lines = [outputs[key][column] if unit is None else outputs[key][column][:, unit] for column in columns]
        steps = run.steps
        panel.fill_between(steps, lines[0], lines[-1], color="C0", alpha=0.15, linewidth=0)
        for q, values in zip(run.percentiles, lines):
            panel.plot(steps, values, "-" if q == 50 else "--", color="C0", label=f"{_ordinal(q)} percentile")
        what = f"unit {unit} of layer {key}" if unit is not None else f"layer {key}"
        panel.set(xlabel="training step", title=what if name is None else f"{name}: {what}")
        panel.xaxis.set_major_locator(MaxNLocator(5, integer=True))   # step numbers are long: few ticks
        panel.grid(alpha=0.3)
    axes[0].set_ylabel("output value (the next layer's input)")
    axes[0].legend(fontsize="small")
    if title:
        figure.suptitle(title)
    return save(figure, path)


def plot_layer_histograms(monitor, records=(0, -1), layers=None, bins=40, path=None, title=None):
    """Histograms of each layer's outputs on the probe, at a few records, one panel per layer.

    Parameters
    ----------
    monitor : LayerMonitor
    records : sequence of int
        Which records to overlay (indices into ``monitor.steps``): by default the first and the
        last, to show how training moved each distribution.
    layers : sequence of str or int, optional
        The layers to draw (keys or positions); all recorded ones by default.
    bins : int

    Each panel's title gives the fraction of dead (relu) or saturated (sigmoid, tanh) units at
    the last of ``records``.
    """
    runs = _runs(monitor, "plot_layer_histograms")
    if len(runs) != 1 or None not in runs:
        raise TypeError("plot_layer_histograms: pass one LayerMonitor (draw several runs one figure each).")
    steps, outputs = monitor.steps, monitor.outputs
    records = [r if r >= 0 else len(steps) + r for r in records]
    if not records or not all(0 <= r < len(steps) for r in records):
        raise ValueError(f"plot_layer_histograms: records must be indices into the {len(steps)} records "
                         f"(0 to {len(steps) - 1}, or negative from the end), received {records}.")
    names = monitor.names if layers is None else [monitor.name_of(layer) for layer in layers]
    columns = min(len(names), 4)
    rows = -(-len(names) // columns)
    figure = new_figure((3.3 * columns, 2.7 * rows))
    grid = figure.subplots(rows, columns, squeeze=False).ravel()
    for panel in grid[len(names):]:
        panel.set_axis_off()
    for panel, name in zip(grid, names):
        values = outputs[name]["values"]                       # (R, sample)
        chosen = values[records]
        edges = np.histogram_bin_edges(chosen[np.isfinite(chosen)], bins=bins)
        for color, r in enumerate(records):
            panel.hist(values[r], bins=edges, color=f"C{color}", alpha=0.5, label=f"step {steps[r]}")
        label = name
        for kind in ("dead", "saturated"):
            if kind in outputs[name]:
                label += f"\n{outputs[name][kind][records[-1]]:.0%} {kind} at step {steps[records[-1]]}"
        panel.set_title(label, fontsize="small")
        panel.tick_params(labelsize="small")
        panel.set_xlabel("output value", fontsize="small")
    grid[0].set_ylabel("count", fontsize="small")
    grid[0].legend(fontsize="x-small")
    figure.suptitle(title or f"Layer outputs on the probe batch ({values.shape[1]} values per layer and step)")
    return save(figure, path)


def plot_grad_norms(monitor, param="W", records=(0, -1), what="grad_norm", path=None, title=None, axes=None):
    """The size of each layer's gradient (or update) by depth, on a log scale.

    Parameters
    ----------
    monitor : LayerMonitor, or dict of str -> LayerMonitor
        Several by name share the panel, one color each.
    param : str
        The parameter to follow in every layer that has it: "W" (Dense, Conv2D), "gamma", ...
    records : sequence of int
        Which records to draw (indices into ``monitor.steps``), one line style each.

    The x axis counts the layers that have ``param``, from the input: 1 is the first Dense.
    what : {"grad_norm", "update_ratio"}
        ||dL/dW|| per layer, or ||W_after - W_before|| / ||W_before||.
    axes : matplotlib Axes, optional
        Draw there instead of in a new figure.
    """
    runs = _runs(monitor, "plot_grad_norms")
    if what not in ("grad_norm", "update_ratio"):
        raise ValueError(f"plot_grad_norms: what must be 'grad_norm' or 'update_ratio', received what={what!r}.")
    figure = new_figure((8, 4.8)) if axes is None else axes.figure
    panel = figure.subplots() if axes is None else axes
    for color, (name, run) in enumerate(runs.items()):
        table = run.grad_norms if what == "grad_norm" else run.update_ratios
        keys = [key for key in run.names if param in table.get(key, {})]
        if not keys:
            raise ValueError(f"plot_grad_norms: no recorded layer has a parameter {param!r}; the parameters are "
                             f"{sorted({p for columns in table.values() for p in columns})}.")
        # Depth counts the layers that have the parameter, so runs with and without BatchNorm
        # (whose Dense layers sit at different positions) line up.
        depths = np.arange(1, len(keys) + 1)
        steps = run.steps
        chosen = [r if r >= 0 else len(steps) + r for r in records]
        styles = [(":", "--", "-.")[k % 3] for k in range(len(chosen) - 1)] + ["-"]   # the latest solid
        for style, r in zip(styles, chosen):
            values = [table[key][param][r] for key in keys]
            label = f"step {steps[r]}" if name is None else f"{name}, step {steps[r]}"
            panel.plot(depths, values, style, marker="o", color=f"C{color}", label=label)
        panel.set_xticks(depths)
    ylabel = f"||dL/d{param}||" if what == "grad_norm" else f"||update of {param}|| / ||{param}||"
    panel.set(xlabel=f"depth: the n-th layer with a {param} (input side on the left)", ylabel=ylabel, yscale="log",
              title=title or ("Gradient norm by depth" if what == "grad_norm" else "Update ratio by depth"))
    panel.grid(alpha=0.3, which="both")
    panel.legend(fontsize="small")
    return save(figure, path)

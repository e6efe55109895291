"""`Sequential.summary()`: the model as a table, Keras-style: terminaltables text, or HTML for Jupyter."""

import html

from terminaltables import AsciiTable

from ..layers import compat
from ..layers.base import as_tuple
from ..layers.residual import all_layers, inner_layers

HEADER = ["Layer", "Input shape", "Output shape", "Params"]


def summary_text(model):
    """Return the summary of ``model`` as a string.

    A row per layer (name, input shape, output shape, parameters), then the totals; under a
    `Residual` block, a row for each of its layers, indented (its count is in the block's). Shapes read
    ``(None, n)`` or ``(None, channels, height, width)`` as in Keras: None is the batch size, free
    until data arrives. Non-trainable parameters are the ones the optimizer never changes
    (BatchNorm's running statistics).
    """
    rows, totals = summary_rows(model)
    table = AsciiTable([HEADER] + rows, title=" Model summary ")
    table.justify_columns = {3: "right"}
    return "\n".join([table.table] + totals)


def summary_html(model):
    """The same summary as an HTML table, which Jupyter shows for a model that is a cell's result."""
    rows, totals = summary_rows(model)
    table = "".join([_html_row(HEADER, "th")] + [_html_row(row, "td") for row in rows])
    return f"<table>{table}</table><p>{'<br>'.join(html.escape(line) for line in totals)}</p>"


def _html_row(row, tag):
    align = ["left", "left", "left", "right"]   # the parameter counts line up on the right
    return "<tr>" + "".join(f'<{tag} style="text-align: {side}">{html.escape(text)}</{tag}>'
                            for side, text in zip(align, row)) + "</tr>"


def summary_rows(model):
    """``(rows, totals)``: a row of four strings per layer, and the lines of totals under the table."""
    rows = []
    trainable = non_trainable = 0
    uncounted = False
    for layer, shape_in, shape_out in zip(model.layers, model.input_shapes, model.output_shapes):
        counts = _count(layer)
        if counts is None:
            uncounted = True
            shown = "?"
        else:
            trainable += counts[0]
            non_trainable += counts[1]
            shown = f"{sum(counts):,}"
        rows.append([compat.layer_name(layer), _shown(shape_in), _shown(shape_out), shown])
        rows += _inner_rows(layer, "  ")
    totals = [f"Loss: {type(model.loss).__name__}    Optimizer: {type(model.optimizer).__name__}    "
              f"dtype: {model.dtype.name}",
              f"Total params: {trainable + non_trainable:,}",
              f"Trainable params: {trainable:,}",
              f"Non-trainable params: {non_trainable:,}"]
    if uncounted:
        totals.append("?: a layer that keeps its weights outside self.params (seed-notebook style) is not counted.")
    return rows, totals


def _inner_rows(block, indent):
    """The rows of the layers inside ``block`` (a `Residual`), each name after ``indent``; [] for other layers."""
    rows = []
    for key, layer in inner_layers(block):
        counts = _count(layer)
        name = ("shortcut: " if key.startswith("shortcut.") else "") + compat.layer_name(layer)
        rows.append([indent + name, _shown(as_tuple(layer.inputshape)), _shown(as_tuple(layer.outputshape())),
                     "?" if counts is None else f"{sum(counts):,}"])
        rows += _inner_rows(layer, indent + "  ")
    return rows


def count_params(model):
    """``(total, complete)``: the parameters (trainable or not) of every layer that shows them.

    ``complete`` is False when a seed-style layer keeps weights where they cannot be counted.
    """
    counts = [_count(layer) for layer in model.layers]
    return sum(sum(c) for c in counts if c is not None), all(c is not None for c in counts)


def _count(layer):
    """(trainable, non_trainable) for ``layer``, or None when its weights cannot be seen.

    ``Layer.count_params`` already counts a frozen layer's parameters as non-trainable.
    Seed-style layers never call ``Layer.__init__`` and have no ``params`` of their own; a
    block holding one cannot be counted either.
    """
    if any(compat.is_seed_style(inner) for inner in all_layers([layer])) or \
            not callable(getattr(layer, "count_params", None)):
        return None
    return layer.count_params()


def _shown(shape):
    """(400,) -> "(None, 400)"; (1, 20, 20) -> "(None, 1, 20, 20)": None stands for the batch."""
    return "(" + ", ".join(["None", *map(str, shape)]) + ")"

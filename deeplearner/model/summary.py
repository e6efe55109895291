"""`Sequential.summary()`: the model as a terminaltables table, Keras-style."""

from terminaltables import AsciiTable

from ..layers import compat


def summary_text(model):
    """Return the summary of ``model`` as a string.

    A row per layer (name, input shape, output shape, parameters), then the totals. Shapes read
    ``(None, n)`` or ``(None, channels, height, width)`` as in Keras: None is the batch size, free
    until data arrives. Non-trainable parameters are the ones the optimizer never changes (BatchNorm's running statistics).
    """
    rows = [["Layer", "Input shape", "Output shape", "Params"]]
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
    table = AsciiTable(rows, title=" Model summary ")
    table.justify_columns = {3: "right"}
    lines = [table.table,
             f"Loss: {type(model.loss).__name__}    Optimizer: {type(model.optimizer).__name__}    "
             f"dtype: {model.dtype.name}",
             f"Total params: {trainable + non_trainable:,}",
             f"Trainable params: {trainable:,}",
             f"Non-trainable params: {non_trainable:,}"]
    if uncounted:
        lines.append("?: a layer that keeps its weights outside self.params (seed-notebook style) is not counted.")
    return "\n".join(lines)


def _count(layer):
    """(trainable, non_trainable) for ``layer``, or None when its weights cannot be seen.

    ``Layer.count_params`` already counts a frozen layer's parameters as non-trainable.
    Seed-style layers never call ``Layer.__init__`` and have no ``params`` of their own.
    """
    if compat.is_seed_style(layer) or not callable(getattr(layer, "count_params", None)):
        return None
    return layer.count_params()


def _shown(shape):
    """(400,) -> "(None, 400)"; (1, 20, 20) -> "(None, 1, 20, 20)": None stands for the batch."""
    return "(" + ", ".join(["None", *map(str, shape)]) + ")"

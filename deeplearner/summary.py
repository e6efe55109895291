"""`Sequential.summary()`: the model as a terminaltables table, Keras-style."""

from terminaltables import AsciiTable


def summary_text(model):
    """Return the summary of ``model`` as a string.

    A row per layer (name, input shape, output shape, parameters), then the totals. Shapes read
    ``(None, n)`` as in Keras: None is the batch size, free until data arrives. Non-trainable
    parameters are the ones the optimizer never changes (BatchNorm's running statistics).
    """
    rows = [["Layer", "Input shape", "Output shape", "Params"]]
    trainable = non_trainable = 0
    for layer, n_in, n_out in zip(model.layers, model.input_dims, model.output_dims):
        layer_trainable, layer_non_trainable = _count(layer)
        trainable += layer_trainable
        non_trainable += layer_non_trainable
        rows.append([layer.name if hasattr(layer, "name") else type(layer).__name__,
                     f"(None, {n_in})", f"(None, {n_out})", f"{layer_trainable + layer_non_trainable:,}"])
    table = AsciiTable(rows, title=" Model summary ")
    table.justify_columns = {3: "right"}
    lines = [table.table,
             f"Loss: {type(model.loss).__name__}    Optimizer: {type(model.optimizer).__name__}    "
             f"dtype: {model.dtype.name}",
             f"Total params: {trainable + non_trainable:,}",
             f"Trainable params: {trainable:,}",
             f"Non-trainable params: {non_trainable:,}"]
    return "\n".join(lines)


def _count(layer):
    # Seed-style layers may not derive from Layer and have no count_params.
    count = getattr(layer, "count_params", None)
    return count() if callable(count) else (0, 0)

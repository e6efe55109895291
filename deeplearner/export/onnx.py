"""Export a trained `Sequential` model to ONNX, the format serving stacks read: ``to_onnx(model, path)``.

    from deeplearner import to_onnx
    to_onnx(model, "digits.onnx")                      # needs: pip install "deeplearner[onnx]"

    import onnxruntime as ort                          # pip install onnxruntime
    session = ort.InferenceSession("digits.onnx", providers=["CPUExecutionProvider"])
    P = session.run(None, {"X": X_test.astype(np.float32)})[0]   # = model.predict_proba(X_test)

The file holds one graph. Its input ``X`` has shape (batch, *input_shape), with a dynamic batch
axis named "batch"; its output ``Y`` is what ``predict_proba`` returns: every layer in inference
mode, the final softmax included, so Y holds probabilities, shape (batch, n_out). The model's
``classes_`` (the label of each output unit) go into the file's metadata as JSON, under "classes".
ONNX opset 17 and IR version 8, which ONNX Runtime reads from version 1.13 on (tested: 1.19 and 1.32).

What each built-in layer becomes (each layer's ``onnx_nodes`` method, a few lines at the end of
its class, emits these):

- Dense: ``Gemm(X, W, b)``, the same ``X W + b``.
- Activation: ``Relu``, ``Sigmoid``, ``Tanh``, ``Softmax(axis=1)``; leaky_relu becomes
  ``Max(X, Mul(X, alpha))``, which equals ``X if X > 0 else alpha X`` for every alpha in [0, 1).
- Dropout: ``Identity`` (at inference Dropout is the identity).
- BatchNorm: its inference form, ``Y = X * scale + shift`` with scale = gamma / sqrt(running_var +
  eps) and shift = beta - running_mean * scale, as ``Mul`` and ``Add`` with per-channel constants:
  the very arithmetic ``BatchNorm.forward(X, training=False)`` does. (Not ONNX's
  BatchNormalization, whose ``epsilon`` is a float32 attribute, see below; not folded into the
  layer before it, so each layer of the model stays a recognizable piece of the graph.)
- GlobalAvgPool2D: ``ReduceMean(X, axes=[2, 3], keepdims=0)``.
- Residual: the nodes of each layer inside it (named "3.Residual/0.Conv2D/Conv"), then
  ``Add(P, F)``, where F is the last of its layers' output and P is X itself, or the shortcut's output.

float32 and float64. The file's tensors have the model's dtype, or the one passed as ``dtype``.
Two details of ONNX decide how a float64 model is written:

- ONNX stores attributes such as ``alpha`` and ``epsilon`` as float32 whatever the tensors' type,
  so ``LeakyRelu(alpha=0.01)`` computes with 0.0099999998 and ``BatchNormalization`` with a
  rounded eps. Every number here is a tensor constant in the file's dtype instead (leaky_relu's
  alpha, BatchNorm's scale and shift), so a float64 file computes what the float64 model does.
- ONNX Runtime's CPU provider, the one every installation has, has no float64 kernel for
  ``Conv`` and ``AveragePool``: a float64 file using them is valid ONNX but does not run there.
  So a float64 model with such a layer (Conv2D, AvgPool2D) is refused, with an error that says
  to export it in float32, ``to_onnx(model, path, dtype=np.float32)``: the weights are cast as
  they are written, and the model itself is left as it is.

Your own layers. A layer is exportable when it has a method ``onnx_nodes(self, builder, X)``
that adds the nodes computing its inference forward to the graph and returns the name of its
output. ``X`` is the name of its input; ``builder`` (a `GraphBuilder`) gives
``builder.node(op_type, inputs, **attributes) -> output name``, ``builder.constant(name, array)
-> name`` (an initializer in the file's dtype) and ``builder.dtype``. Dense's is::

    def onnx_nodes(self, builder, X):
        return builder.node("Gemm", [X, builder.constant("W", self.params["W"]),
                                     builder.constant("b", self.params["b"])])

An activation function object (the ``fn`` of ``Activation(fn)``) may define the same method.
A layer without one (a custom layer, a seed-style layer) is refused by name. So is a subclass
that overrides ``forward`` but inherits ``onnx_nodes``, which would describe the parent's math.
The operators are listed at https://onnx.ai/onnx/operators/.
"""

import json
import os

import numpy as np

from ..layers import compat
from ..model.sequential import Sequential
from ..saving.atomic import write_atomically
from ..version import __version__

OPSET = 17          # ONNX Runtime 1.13 and later
IR_VERSION = 8      # the IR version that goes with opset 17; a newer one would shut out older runtimes
INPUT, OUTPUT = "X", "Y"
# Operators ONNX Runtime's CPU provider runs in float32 but not in float64.
NO_FLOAT64_KERNEL = ("Conv", "AveragePool")


class ExportError(ValueError):
    """A model, or one of its layers, cannot be written as ONNX; the message says why and what to do."""


def to_onnx(model, path, dtype=None):
    """Write ``model`` to the file ``path`` as an ONNX model and return it (an ``onnx.ModelProto``).

    Parameters
    ----------
    model : Sequential
        Trained or not: the file holds its weights and running statistics as they are now.
    path : str or path-like
        The file to write, used as given (``.onnx`` is the usual suffix). The bytes go to a
        temporary file that is then renamed, so a crash never leaves half a file.
    dtype : None, np.float32 or np.float64
        The type of the file's tensors; None keeps the model's. np.float32 is the way to export a
        float64 model with Conv2D or AvgPool2D layers (see the module docstring).

    Returns
    -------
    onnx.ModelProto
        The model written, already checked with ``onnx.checker.check_model(full_check=True)``.

    Raises
    ------
    ModuleNotFoundError : the onnx package is not installed.
    ExportError : a layer cannot be exported (the message names it and says what it needs).
    """
    onnx = _import_onnx()
    if not isinstance(model, Sequential):
        raise TypeError(f"to_onnx: model must be a deeplearner Sequential, received {type(model).__name__}.")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"to_onnx: path must be a str or os.PathLike, received {path!r}. "
                        f"Example: to_onnx(model, 'model.onnx').")
    dtype = model.dtype if dtype is None else _check_dtype(dtype)

    builder = GraphBuilder(onnx, dtype)
    Y = INPUT
    for i, layer in enumerate(model.layers):
        builder.layer = f"layer {i} ({compat.layer_name(layer)})"
        builder.prefix = f"{i}.{compat.layer_name(layer)}"
        Y = builder.emit(layer, Y)
    builder.rename_output(Y, OUTPUT)

    helper, element_type = onnx.helper, builder.element_type
    inputs = [helper.make_tensor_value_info(INPUT, element_type, ["batch", *model.input_shape])]
    outputs = [helper.make_tensor_value_info(OUTPUT, element_type, ["batch", model.n_outputs])]
    layers = " -> ".join(compat.layer_name(layer) for layer in model.layers)
    graph = helper.make_graph(builder.nodes, "deeplearner.Sequential", inputs, outputs, builder.initializers,
                              doc_string=f"deeplearner Sequential: {layers}; Y = predict_proba(X).")
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="deeplearner", producer_version=__version__)
    proto.ir_version = IR_VERSION
    if model.classes_ is not None:
        helper.set_model_props(proto, {"classes": json.dumps(np.asarray(model.classes_).tolist())})
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        reason = " ".join(str(error).split())   # the checker's message spans several lines
        raise ExportError(f"to_onnx: the graph fails onnx.checker ({reason}). If a layer of your own emitted "
                          f"the node named there, check its onnx_nodes.") from None
    data = proto.SerializeToString()
    write_atomically(path, lambda file: file.write(data), "to_onnx")
    return proto


class GraphBuilder:
    """What a layer's ``onnx_nodes(builder, X)`` adds its nodes and constants through.

    Names are made here, from the layer's position and name and the operator ("0.Dense/Gemm",
    "1.BatchNorm/scale"), so the graph reads like ``model.summary()`` in a viewer such as Netron.

    Attributes
    ----------
    dtype : numpy dtype
        float32 or float64: the type of every tensor in the file.
    """

    def __init__(self, onnx, dtype):
        self.onnx, self.dtype = onnx, np.dtype(dtype)
        self.element_type = onnx.helper.np_dtype_to_tensor_dtype(self.dtype)
        self.nodes, self.initializers, self.names = [], [], set()
        self.layer, self.prefix = "the model", "model"   # set by to_onnx for each layer

    def constant(self, name, array):
        """Add ``array``, cast to the file's dtype, as an initializer; return its name."""
        name = self._unique(f"{self.prefix}/{name}")
        array = np.asarray(array, dtype=self.dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op_type, inputs, **attributes):
        """Add the operator ``op_type`` on the tensors named ``inputs``; return its output's name."""
        if self.dtype == np.float64 and op_type in NO_FLOAT64_KERNEL:
            raise self.cannot_export(
                f"in float64 it needs the ONNX operator {op_type}, for which ONNX Runtime's CPU provider has "
                f"no float64 kernel, so the file would not run there. Export the model in float32: "
                f"to_onnx(model, path, dtype=np.float32) (the weights are cast as they are written; the "
                f"model is left as it is).")
        output = self._unique(f"{self.prefix}/{op_type}")
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [output], name=output, **attributes))
        return output

    def inner(self, key, layer, X):
        """Have ``layer``, the one at ``key`` inside the block being exported, add its nodes after ``X``.

        Its names and errors name the block and the layer: "3.Residual/0.Conv2D/Conv".
        """
        outer = self.layer, self.prefix
        name = compat.layer_name(layer)
        self.layer, self.prefix = f"{self.layer}, its layer {key} ({name})", f"{self.prefix}/{key}.{name}"
        try:
            return self.emit(layer, X)
        finally:
            self.layer, self.prefix = outer

    def emit(self, obj, X):
        """Have ``obj`` (a layer, or an activation function) add its nodes after the tensor ``X``."""
        kind = type(obj).__name__
        is_layer = callable(getattr(obj, "outputshape", None))   # activation functions have no shapes
        if not callable(getattr(obj, "onnx_nodes", None)):
            seed_style = (" It is a seed-style layer (its weights are plain attributes, not self.params): call "
                          "super().__init__(), keep its arrays in self.params and self.buffers, and add the method."
                          if is_layer and compat.is_seed_style(obj) else "")
            raise self.cannot_export(
                f"{'it' if is_layer else f'its function {kind}'} has no onnx_nodes(builder, X) method. "
                f"{'A layer' if is_layer else 'An activation function'} is exportable when it defines "
                f"onnx_nodes(self, builder, X), which adds the nodes of its inference forward through "
                f"builder.node(op_type, inputs, **attributes) and builder.constant(name, array) and returns "
                f"the name of its output (see deeplearner/export/onnx.py).{seed_style}")
        forward_owner, export_owner = _owner(type(obj), "forward"), _owner(type(obj), "onnx_nodes")
        if forward_owner is not None and not issubclass(export_owner, forward_owner):
            raise self.cannot_export(
                f"{kind} overrides forward but inherits onnx_nodes from {export_owner.__name__}, which "
                f"describes {export_owner.__name__}.forward. Define onnx_nodes in {kind} too.")
        return obj.onnx_nodes(self, X)

    def cannot_export(self, reason):
        """The error for the layer being exported: "to_onnx: layer 3 (MyLayer) cannot be exported: ..."."""
        return ExportError(f"to_onnx: {self.layer} cannot be exported: {reason}")

    def rename_output(self, name, new_name):
        """Make the tensor ``name``, the last layer's output, the graph's output ``new_name``.

        The node that computes it is renamed; an Identity is added only when there is none (a
        model whose layers add no node) or when other nodes read the tensor too.
        """
        producers = [node for node in self.nodes if name in node.output]
        if producers and not any(name in node.input for node in self.nodes):
            outputs = producers[0].output
            outputs[list(outputs).index(name)] = new_name
            return
        self.nodes.append(self.onnx.helper.make_node("Identity", [name], [new_name], name=new_name))

    def _unique(self, name):
        candidate, k = name, 1
        while candidate in self.names:
            k += 1
            candidate = f"{name}_{k}"
        self.names.add(candidate)
        return candidate


def _owner(cls, method):
    """The class in ``cls``'s MRO that defines ``method``, or None."""
    return next((k for k in cls.__mro__ if method in vars(k)), None)


def _import_onnx():
    try:
        import onnx
    except ImportError as error:
        raise ModuleNotFoundError(
            'to_onnx needs the onnx package, which is not installed. Install it with: '
            'pip install "deeplearner[onnx]" (or pip install onnx).', name="onnx") from error
    return onnx


def _check_dtype(dtype):
    try:
        checked = np.dtype(dtype)
    except TypeError:
        checked = None
    if checked not in (np.float32, np.float64):
        raise ValueError(f"to_onnx: dtype must be None (the model's), np.float32 or np.float64, "
                         f"received dtype={dtype!r}.")
    return checked

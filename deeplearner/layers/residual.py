"""Residual: a block of layers F whose input is added to their output, Y = X + F(X) (He et al. 2016)."""

from ..registry import built_in
from ..regularizers import total_penalty
from . import compat
from .base import Layer, ShapeError, as_layer_shape, as_tuple


class Residual(Layer):
    """Run the layers F on X and add X back: ``Y = X + F(X)``, or ``Y = P(X) + F(X)`` with a projection P.

    He et al. 2016 ("Deep Residual Learning for Image Recognition", https://arxiv.org/abs/1512.03385):
    a block learns the change F(X) = H(X) - X instead of the whole map H, so a block whose F is
    all zeros is the identity, and a deeper network can always do what a shallower one does.

    Parameters
    ----------
    layers : list of Layer
        F, applied in order to the block's input. Any layer goes here, a block included.
    shortcut : list of Layer or None
        None (the default): the identity, which needs F to keep the shape of X. When F changes
        the shape (a stride, more channels), the layers P that map X to F's shape: He et al.'s
        option B is ``[Conv2D(filters, 1, stride=2), BatchNorm()]``.

    Attributes
    ----------
    layers, shortcut : list of Layer
        The inner layers, built by the block's ``build`` with the model's generator and dtype.
    params, grads, buffers : dict of str -> ndarray
        The inner layers' own arrays (the same objects, not copies), keyed by where each layer
        sits and the array's name: "0.W" is layers[0]'s W, "shortcut.1.gamma" the gamma of
        shortcut[1], "2.0.W" the W of the first layer of a block at layers[2].
    watch : object or None
        None, or an object told of every inner layer's result: ``watch.forward(key, layer, X, Y)``
        after each forward and ``watch.backward(key, layer, dY, dX)`` after each backward, key as
        in ``sublayers()``. The model's first training step uses it to check the inner layers
        (deeplearner/safeguards/first_step.py), LayerMonitor to record them.

    Notes
    -----
    Forward, for X of shape (batch, *input_shape)::

        F(X) = f_k(... f_2(f_1(X)))        the layers, first to last
        Y    = X + F(X)                     identity shortcut
        Y    = P(X) + F(X)                  projection shortcut, P = p_m(... p_1(X))

    Backward, given dY = dL/dY. Y is a sum of two terms, and the derivative of a sum with
    respect to each term is 1, so each path receives dY unchanged: dL/dF = dY, dL/dP = dY.
    Each path then runs its own layers' backward, last to first, which fills their grads::

        dX_F = f_1'( ... f_k'(dY))          F's layers backward, from dY
        dX_P = dY                           identity: dP/dX = I
        dX_P = p_1'( ... p_m'(dY))          projection: P's layers backward, from dY

    X reaches the loss along both paths, through F and through the shortcut, so its gradient is
    the sum of the two (the chain rule adds over paths). Entry by entry, for the identity::

        dL/dX_j = sum_i dY_i dY_i/dX_j = sum_i dY_i (delta_ij + dF_i/dX_j) = dY_j + dX_F,j
        dX = dX_F + dX_P

    The "+ dY" is why deep stacks of blocks train: the gradient reaches the first block through
    the identities undiminished, however small F's derivatives are (He et al. 2016b, "Identity
    Mappings in Deep Residual Networks"). ``BatchNorm(gamma_initializer="zeros")`` as F's last
    layer makes F(X) = 0 at the start, so every block starts as the identity (Goyal et al. 2017).

    How the rest of the library sees the inner layers. The block's ``params``, ``grads`` and
    ``buffers`` hold the inner layers' arrays under prefixed keys, so everything that works on
    a layer's arrays works on a block unchanged: the optimizer (``Sequential.parameters()``
    gives "3.0.W"), weight decay, ``get_weights``/``set_weights``, saving, ``count_params``,
    EarlyStopping's restore, the divergence guard and gradcheck. What must see each inner layer
    as a layer walks ``sublayers()``: the summary's indented rows, LayerMonitor, the first step's
    checks, and the copies of the layers that run parts of a batch at once. Freeze a block as a
    whole (``block.trainable = False`` freezes its layers too): a frozen layer inside a block that
    trains is refused at the first training forward, since the optimizer receives the block's
    arrays together.
    """

    watch = None

    def __init__(self, layers, shortcut=None, **unknown):
        super().__init__(**unknown)                # a Keras keyword (activation=...) gets its answer there
        self.layers = _checked_layers(layers, "layers", "Residual([Conv2D(8, 3, padding=1), BatchNorm()])")
        self.shortcut = None if shortcut is None else _checked_layers(
            shortcut, "shortcut", "Residual(layers, shortcut=[Conv2D(16, 1, stride=2), BatchNorm()])")
        seen = set()
        for key, layer in _walk(self):
            if id(layer) in seen:   # each layer keeps its own forward's input for its own backward
                raise ValueError(f"Residual: the layer at {key} ({compat.layer_name(layer)}) appears twice in the "
                                 f"block. Each place needs its own layer object: write BatchNorm() twice.")
            seen.add(id(layer))
        self._needs_input_grad, self._trainable = True, True

    def get_config(self):
        """``{"layers": [...], "shortcut": [...]}``, each inner layer as ``{"class", "custom", "config"}``."""
        config = {"layers": [_describe(layer) for layer in self.layers]}
        if self.shortcut is not None:   # only when set: the identity is the default
            config["shortcut"] = [_describe(layer) for layer in self.shortcut]
        return config

    def __repr__(self):
        shortcut = "" if self.shortcut is None else f", shortcut=[{', '.join(map(repr, self.shortcut))}]"
        return f"Residual([{', '.join(map(repr, self.layers))}]{shortcut})"

    def sublayers(self):
        """The inner layers as (key, layer) pairs, F's then the shortcut's: ("0", Conv2D), ("shortcut.0", ...)."""
        pairs = [(str(i), layer) for i, layer in enumerate(self.layers)]
        return pairs + [(f"shortcut.{i}", layer) for i, layer in enumerate(self.shortcut or [])]

    # ---------------------------------------------------------------- flags the model sets
    @property
    def needs_input_grad(self):
        """False on a model's first layer: then the first layer of F and of the shortcut skip dX too."""
        return self._needs_input_grad

    @needs_input_grad.setter
    def needs_input_grad(self, value):
        self._needs_input_grad = value
        for path in (self.layers, self.shortcut or []):
            if path and hasattr(path[0], "needs_input_grad"):
                path[0].needs_input_grad = value

    @property
    def trainable(self):
        """Setting it sets every inner layer's too: a block is frozen or trained as a whole."""
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = value
        for _, layer in self.sublayers():
            layer.trainable = value

    @property
    def min_training_batch(self):
        """The largest of the inner layers' (BatchNorm on rows needs 2 samples per batch)."""
        return max([getattr(layer, "min_training_batch", 1) for _, layer in self.sublayers()])

    # ---------------------------------------------------------------- build
    def build(self, input_shape, rng, dtype):
        super().build(input_shape, rng, dtype)
        shape_in = as_tuple(input_shape)
        shape_f = _build_path(self.layers, "", shape_in, rng, dtype)
        if self.shortcut is None and shape_f != shape_in:
            raise ShapeError(f"Residual: F maps samples of shape {shape_in} to {shape_f}, so X + F(X) cannot be "
                             f"added. Give the block a projection shortcut that maps X to {shape_f}: "
                             f"{_projection(shape_in, shape_f)}.")
        if self.shortcut is not None:
            shape_p = _build_path(self.shortcut, "shortcut.", shape_in, rng, dtype)
            if shape_p != shape_f:
                raise ShapeError(f"Residual: the shortcut maps samples of shape {shape_in} to {shape_p}, but F maps "
                                 f"them to {shape_f}; the two are added, so they must have the same shape. A "
                                 f"shortcut that fits: {_projection(shape_in, shape_f)}.")
        self.shape_out = shape_f
        self._gather()

    def setup(self, optimizer, loss):
        """The seed notebook's hook, passed on to the inner layers (a seed-style layer makes its weights here)."""
        for _, layer in self.sublayers():
            if callable(getattr(layer, "setup", None)):
                layer.setup(optimizer, loss)
        self._gather()

    def _gather(self):
        """Point params, grads and buffers at the inner layers' arrays, under prefixed keys."""
        self.params, self.grads, self.buffers = {}, {}, {}
        for key, layer in self.sublayers():
            grads = compat.grads_of(layer)
            for name, value in compat.params_of(layer).items():
                self.params[f"{key}.{name}"], self.grads[f"{key}.{name}"] = value, grads.get(name)
            self.buffers.update({f"{key}.{name}": value for name, value in compat.buffers_of(layer).items()})

    def outputshape(self):
        return as_layer_shape(self.shape_out)

    # ---------------------------------------------------------------- forward and backward
    def forward(self, X, training=True):
        """X : ndarray of shape (batch, *input_shape) -> Y : ndarray of shape (batch, *outputshape())."""
        if training and self.trainable:
            frozen = [key for key, layer in self.sublayers() if not compat.is_trainable(layer)]
            if frozen:
                raise ValueError(f"Residual: the layer at {frozen[0]} is frozen (trainable = False) inside a block "
                                 f"that trains; the optimizer would still change it. Freeze the whole block "
                                 f"(block.trainable = False) or none of it.")
        F = self._forward_path(self.layers, "", X, training)                     # (batch, *outputshape())
        P = X if self.shortcut is None else self._forward_path(self.shortcut, "shortcut.", X, training)
        return P + F                                                              # a new array

    def backward(self, dY):
        """dY : ndarray of shape (batch, *outputshape()) -> dX : ndarray of shape (batch, *input_shape).

        None when ``needs_input_grad`` is False (the model's first layer); the grads are filled anyway.
        """
        dX_F = self._backward_path(self.layers, "", dY)
        dX_P = dY if self.shortcut is None else self._backward_path(self.shortcut, "shortcut.", dY)
        # A layer may hand backward new grads arrays instead of filling its own: point at them again.
        for key, layer in self.sublayers():
            grads = compat.grads_of(layer)
            for name in compat.params_of(layer):
                self.grads[f"{key}.{name}"] = grads.get(name)
        if not self.needs_input_grad:
            return None
        return dX_F + dX_P                        # X reaches the loss along both paths: the two add

    def _forward_path(self, path, prefix, X, training):
        for i, layer in enumerate(path):
            A, X = X, layer.forward(X, training)
            if self.watch is not None:
                self.watch.forward(f"{prefix}{i}", layer, A, X)
        return X

    def _backward_path(self, path, prefix, dY):
        for i in range(len(path) - 1, -1, -1):
            dA, dY = dY, path[i].backward(dY)
            if self.watch is not None:
                self.watch.backward(f"{prefix}{i}", path[i], dA, dY)
        return dY

    def penalty(self):
        """The inner layers' weight penalties (``kernel_regularizer``), a float."""
        return total_penalty([layer for _, layer in self.sublayers()])

    def onnx_nodes(self, builder, X):
        """ONNX export (see deeplearner/export/onnx.py): each inner layer's nodes, then ``Add(P(X), F(X))``."""
        F = X
        for i, layer in enumerate(self.layers):
            F = builder.inner(str(i), layer, F)
        P = X                                     # the identity adds no node
        for i, layer in enumerate(self.shortcut or []):
            P = builder.inner(f"shortcut.{i}", layer, P)
        return builder.node("Add", [P, F])


def _build_path(path, prefix, shape, rng, dtype):
    """Build ``path``'s layers one after the other from samples of ``shape``; return the last output shape."""
    for i, layer in enumerate(path):
        try:
            if callable(getattr(layer, "build", None)):
                layer.build(as_layer_shape(shape), rng, dtype)
            else:
                layer.inputshape = as_layer_shape(shape)   # a seed-style layer: setup reads it
        except ShapeError as error:
            raise ShapeError(f"Residual: the layer at {prefix}{i} ({compat.layer_name(layer)}) received samples of "
                             f"shape {shape}: {error}") from None
        shape = as_tuple(layer.outputshape())
    return shape


def _projection(shape_in, shape_out):
    """The shortcut to suggest for mapping samples of ``shape_in`` to ``shape_out``."""
    if len(shape_out) == 1:
        return f"shortcut=[Dense({shape_out[0]})]"
    if len(shape_in) == 3 and len(shape_out) == 3:
        strides = [s for s in range(1, shape_in[1] + 1) if (shape_in[1] - 1) // s + 1 == shape_out[1]
                   and (shape_in[2] - 1) // s + 1 == shape_out[2]]
        if strides:
            stride = f", stride={strides[0]}" if strides[0] > 1 else ""
            return (f"shortcut=[Conv2D({shape_out[0]}, 1{stride}), BatchNorm()] (a 1x1 convolution "
                    f"with F's stride, then BatchNorm)")
    return f"a shortcut list of layers whose output has the shape {shape_out}"


def _checked_layers(layers, name, example):
    """``layers`` as a list of layer objects; descriptions of built-in layers (from get_config) are built."""
    if isinstance(layers, (str, bytes, dict)) or not hasattr(layers, "__iter__") or hasattr(layers, "forward"):
        raise TypeError(f"Residual: {name} must be a list of layers, e.g. {example}, received {layers!r}.")
    layers = [_layer_from(entry, name, i) for i, entry in enumerate(layers)]
    if not layers:
        raise ValueError(f"Residual: {name} is empty. Pass at least one layer, e.g. {example}"
                         + (", or shortcut=None for the identity." if name == "shortcut" else "."))
    return layers


def _layer_from(entry, name, i):
    if isinstance(entry, dict) and set(entry) == {"class", "custom", "config"}:
        cls = None if entry["custom"] else built_in(entry["class"])
        if cls is None:
            raise TypeError(f"Residual: {name}[{i}] describes a {entry['class']}, which is not built into deeplearner. "
                            f"Pass the layer itself, or load the model with load_model(path, "
                            f"custom_objects={{'{entry['class']}': {entry['class']}}}).")
        return cls(**entry["config"])
    if isinstance(entry, type):
        raise TypeError(f"Residual: {name}[{i}] is the class {entry.__name__}; pass an instance, "
                        f"e.g. {entry.__name__}(...).")
    if not all(callable(getattr(entry, method, None)) for method in ("forward", "backward", "outputshape")):
        raise TypeError(f"Residual: {name}[{i}] ({entry!r}) is not a layer; a layer needs forward(X, training), "
                        f"backward(dY) and outputshape().")
    return entry


def _describe(layer):
    """How a saved file names an inner layer: the same entry as for the model's own layers."""
    cls = type(layer)
    config = layer.get_config() if callable(getattr(layer, "get_config", None)) else {}
    return {"class": cls.__name__, "custom": built_in(cls.__name__) is not cls, "config": config}


def _walk(block, prefix=""):
    """Every layer inside ``block``, nested blocks' included, as (key, layer) pairs."""
    for key, layer in block.sublayers():
        yield prefix + key, layer
        if callable(getattr(layer, "sublayers", None)):
            yield from _walk(layer, f"{prefix}{key}.")


def inner_layers(layer):
    """The (key, layer) pairs inside ``layer`` (a block's ``sublayers()``); [] for any other layer."""
    method = getattr(layer, "sublayers", None)
    return list(method()) if callable(method) else []


def all_layers(layers):
    """Every layer of ``layers`` and, after each block, every layer inside it, depth first."""
    for layer in layers:
        yield layer
        yield from all_layers([inner for _, inner in inner_layers(layer)])

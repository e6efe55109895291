"""The `Layer` base class: the contract every layer in a `Sequential` model follows.

A layer's life has three steps, as in Keras:

1. ``__init__`` checks the hyperparameters (``Dense(units=100)``) and nothing else;
2. ``build(input_shape, rng, dtype)`` runs once the model knows the shape of the layer's input
   and creates the weights;
3. ``forward(X, training)`` and ``backward(dY)`` compute.

Shapes. ``input_shape`` is the shape of *one sample*, without the batch axis:

- an ``int`` n for a flat sample, a row of n features (as in the seed notebook, where
  ``layer.inputshape`` is a width): X has shape (batch, n);
- a ``tuple`` (channels, height, width) for an image: X has shape (batch, channels, height,
  width), channels first, as in PyTorch and CS231n.

``outputshape()`` answers in the same terms: an int for a flat output, a tuple for an image.
So every layer written for flat rows keeps working unchanged. A layer that cannot take the
shape it receives raises `ShapeError` from ``build``, saying what it received and what to do
(a Dense after a Conv2D: "add Flatten() before it"); the model adds the layer's position.

A built-in layer's ``backward`` only *computes* gradients: it fills ``self.grads`` (same keys
as ``self.params``) and returns the gradient with respect to its input. The model hands
``params`` and ``grads`` to the optimizer, which changes the parameters.

Where a layer's math needs the whole batch (BatchNorm's means, Dropout's mask), it asks
``self.whole_batch`` (a `WholeBatch`): its sums, its size, its random draws. Here that is the
identity; when a batch runs in parts on several threads, deeplearner/parallel/ gives each
part's layers one that answers for the whole batch. A layer of your own needs none of this.

Layers written in the seed notebook's style keep working: the model sets ``layer.inputshape``,
calls ``layer.setup(optimizer, loss)``, and such a layer may update its own parameters inside
``backward`` with ``copy.copy(optimizer).update(param, grad)``. Those layers often skip
``super().__init__()``, so nothing here may rely on attributes set in ``__init__``.
"""

import inspect
import numbers

import numpy as np

from ..registry import add as register
from ..validation import keywords_of, refuse_unknown_keywords


class WholeBatch:
    """What a layer's forward knows of its batch: ``X`` is all of it.

    BatchNorm's mean is ``whole_batch.sum(partial_sums) / M`` with ``M = whole_batch.size(X) * L``;
    Dropout's mask is ``whole_batch.draw(make, X.shape)``. Each method is the identity, so the
    math reads as if the seam were not there. (A part of a batch gets another object with the
    same four members, which answers for the whole batch.)
    """

    leads = True
    """Whether this forward does what happens once per batch (moving BatchNorm's running statistics)."""

    def size(self, X):
        """The number of samples in the batch: ``len(X)``."""
        return len(X)

    def sum(self, partial):
        """The sum over the batch of a per-sample sum (an array, a number, or a tuple of them): ``partial``."""
        return partial

    def draw(self, make, shape):
        """Random numbers for the batch, ``make(shape)``, with ``shape == X.shape`` (batch axis first)."""
        return make(shape)


WHOLE_BATCH = WholeBatch()


class Layer:
    """Base class for layers.

    Attributes
    ----------
    params : dict of str -> ndarray
        Trainable parameters, changed only by the optimizer. Before ``build``, an empty dict in
        which a missing weight raises `NotBuiltError` (as does an attribute that build sets).
    grads : dict of str -> ndarray
        Gradient of the loss for each entry of ``params``, filled by ``backward``.
    buffers : dict of str -> ndarray
        Non-trainable state saved with the model (BatchNorm's running statistics).
    inputshape : int or tuple of int
        The shape of one input sample, set by ``build``: an int width for flat rows, a tuple
        (channels, height, width) for images.
    needs_input_grad : bool
        Whether ``backward`` must return dX. True by default; a model sets it to False on its
        first layer, whose dX would be the gradient for the data, which nothing reads. A layer
        may then return None from backward and skip that work (Dense skips a whole GEMM).
    trainable : bool
        True by default. Set ``layer.trainable = False`` to freeze the layer: the model hands its
        ``params`` to no optimizer, and ``count_params`` and the summary count them as
        non-trainable. Whether the layer runs in training mode (Dropout's masks, BatchNorm's batch
        statistics) is a separate question, decided by ``forward(X, training)``.
    splits_batch : bool
        False: when a batch runs in parts on several threads, this layer runs whole on one. A
        class of yours may say True in its own body if it treats each sample alone.
    """

    needs_input_grad = True
    trainable = True
    whole_batch = WHOLE_BATCH   # sums and draws over the batch (see WholeBatch): X is all of it
    splits_batch = False

    def __init_subclass__(cls, **kwargs):
        """Defining a layer class registers it, so that ``load_model`` finds the built-in ones by name."""
        super().__init_subclass__(**kwargs)
        register(cls)

    def __init__(self, **unknown):
        # A subclass hands on the keywords its __init__ does not take (Keras's activation=, strides=):
        # refused here, with deeplearner's spelling and the fix.
        if unknown:
            refuse_unknown_keywords(type(self).__name__, unknown, keywords_of(type(self).__init__))
        self.params = NotBuiltParams(type(self).__name__)   # an empty dict until build creates the weights
        self.grads = {}
        self.buffers = {}

    def __getattr__(self, name):
        """Reached only for an attribute the layer lacks: before ``build`` (no ``inputshape``), say so.

        ``Conv2D(8, 3).forward(X)`` would otherwise fail on an attribute that build sets
        (``out_hw``); it raises `NotBuiltError` instead, naming build and Sequential.
        """
        if name.startswith("_") or "inputshape" in vars(self):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        raise NotBuiltError(not_built_message(type(self).__name__, f"attribute {name!r}"))

    def get_config(self):
        """Return the constructor arguments as a JSON-able dict: ``type(self)(**config)`` rebuilds the layer.

        ``save_model`` stores it (the weights are saved separately). This default returns ``{}``,
        right for a layer whose ``__init__`` takes no arguments; a layer with arguments returns
        them, as Dense does: ``{"units": 100, "init": "he_normal"}``.
        """
        return {}

    @property
    def name(self):
        """The name shown by ``Sequential.summary``."""
        return type(self).__name__

    def __repr__(self):
        """The call that makes this layer: ``Dense(100)``, ``Dropout(0.2)``, ``BatchNorm(momentum=0.99)``.

        Read from ``get_config``: the arguments the constructor requires by position, then by name
        only those that differ from what the constructor would choose by itself.
        """
        cls = type(self)
        try:
            config = self.get_config()
            parameters = inspect.signature(cls.__init__).parameters
            required = [key for key in config if key in parameters
                        and parameters[key].default is inspect.Parameter.empty]
            defaults = cls(**{key: config[key] for key in required}).get_config()
            named = [key for key, value in config.items() if key not in required and defaults.get(key) != value]
            if cls(**{key: config[key] for key in required + named}).get_config() != config:
                named = [key for key in config if key not in required]   # defaults that depend on others
        except Exception:   # a repr must not fail: e.g. an Activation holding a function of your own
            return f"<{cls.__name__} {self.name!r}>"
        shown = [repr(_as_tuples(config[key])) for key in required]
        shown += [f"{key}={_as_tuples(config[key])!r}" for key in named]
        return f"{cls.__name__}({', '.join(shown)})"

    def build(self, input_shape, rng, dtype):
        """Create the layer's weights for inputs whose samples have shape ``input_shape``.

        Parameters
        ----------
        input_shape : int or tuple of int
            The shape of one sample: an int (the number of features) for flat rows, a tuple
            (channels, height, width) for images.
        rng : numpy.random.Generator
            The model's generator: the only source of randomness a layer may use.
        dtype : numpy dtype
            float32 or float64; every array the layer creates has this dtype.
        """
        self.inputshape = input_shape
        if isinstance(vars(self).get("params"), NotBuiltParams):
            self.params = {}   # a plain dict from now on: a layer without weights keeps it empty

    def setup(self, optimizer, loss):
        """Seed-notebook hook, called after ``build``; built-in layers need nothing here."""

    def outputshape(self):
        """The shape of one output sample (an int width, or a tuple); the default keeps the input's."""
        return self.inputshape

    def forward(self, X, training=True):
        """X : ndarray of shape (batch, *inputshape) -> Y : ndarray of shape (batch, *outputshape())."""
        raise NotImplementedError(f"{self.name} must define forward(X, training).")

    def backward(self, dY):
        """dY : ndarray of shape (batch, *outputshape()) -> dX : ndarray of shape (batch, *inputshape)."""
        raise NotImplementedError(f"{self.name} must define backward(dY).")

    def count_params(self):
        """Return ``(trainable, non_trainable)`` numbers of scalars; a frozen layer's are all non-trainable."""
        n_params = sum(p.size for p in _arrays(self, "params"))
        n_buffers = sum(b.size for b in _arrays(self, "buffers"))
        return (n_params, n_buffers) if self.trainable else (0, n_params + n_buffers)

    def get_weights(self):
        """Return copies of all parameters and buffers, keyed by name."""
        weights = dict(getattr(self, "params", {}))
        weights.update(getattr(self, "buffers", {}))
        return {key: value.copy() for key, value in weights.items()}

    def set_weights(self, weights):
        """Copy ``weights`` (as returned by ``get_weights``) into the layer's arrays, in place."""
        own = dict(getattr(self, "params", {}))
        own.update(getattr(self, "buffers", {}))
        if set(weights) != set(own):
            raise ValueError(
                f"{self.name}.set_weights expected the keys {sorted(own)}, "
                f"received {sorted(weights)}. Pass the dict that get_weights() returned."
            )
        for key, value in weights.items():
            value = np.asarray(value)
            if value.shape != own[key].shape:
                raise ValueError(
                    f"{self.name}.set_weights: '{key}' must have shape {own[key].shape}, "
                    f"received {value.shape}. Were the weights saved from a different architecture?"
                )
            np.copyto(own[key], value)


class ShapeError(ValueError):
    """A layer cannot take the input shape it was built with; the message says what to change."""


class NotBuiltError(RuntimeError, AttributeError):
    """A layer was used before ``build`` created its weights: ``BatchNorm().forward(X)`` on its own.

    Also an AttributeError, so ``getattr(layer, name, default)`` and ``hasattr`` still answer.
    """


def not_built_message(owner, what):
    """What `NotBuiltError` says: the layer, what was missing, and the two ways to build it."""
    return (f"{owner} is not built, so it has no {what} yet: a layer creates its weights in "
            f"build(input_shape, rng, dtype), once its input shape is known. Put the layer in a Sequential "
            f"model, which builds every layer in order, or build it yourself first: layer.build(input_shape, "
            f"np.random.default_rng(0), np.float64), with input_shape the shape of one sample (e.g. 4 or "
            f"(1, 20, 20)).")


class NotBuiltParams(dict):
    """``layer.params`` before ``build``: an empty dict whose missing keys raise `NotBuiltError`, not KeyError."""

    def __init__(self, owner):
        super().__init__()
        self.owner = owner

    def __missing__(self, key):
        raise NotBuiltError(not_built_message(self.owner, f"weight {key!r}"))


def as_tuple(shape):
    """The shape of one sample as a tuple: 400 -> (400,), (1, 20, 20) stays."""
    return (int(shape),) if isinstance(shape, numbers.Integral) else tuple(int(n) for n in shape)


def as_layer_shape(shape):
    """The form a layer receives in ``build``: an int for a flat sample, else a tuple."""
    shape = as_tuple(shape)
    return shape[0] if len(shape) == 1 else shape


def _as_tuples(value):
    """[3, 3] -> (3, 3), recursively: configs hold lists (for JSON), constructors read tuples."""
    return tuple(_as_tuples(item) for item in value) if isinstance(value, list) else value


def _arrays(layer, attribute):
    # getattr: layers in the seed's style may never have called Layer.__init__.
    return getattr(layer, attribute, {}).values()


def kept_array(layer, name, like):
    """An array of ``like``'s shape and dtype kept on ``layer`` as attribute ``name``, made anew only when they change.

    For scratch arrays a layer writes in place batch after batch (BatchNorm's X_hat): a fresh
    one per batch costs page faults, not arithmetic. Only for arrays the layer keeps to itself:
    what forward and backward return is always new.
    """
    buffer = getattr(layer, name, None)
    if buffer is None or buffer.shape != like.shape or buffer.dtype != like.dtype:
        buffer = np.empty_like(like)
        setattr(layer, name, buffer)
    return buffer


def column_sums(A, out=None):
    """A : ndarray of shape (batch, n) -> sum_i A[i], ndarray of shape (n,). Only for 2-D A.

    The same sum as ``A.sum(axis=0)``, written as the product ones^T A: BLAS reads A once,
    while ``sum(axis=0)`` adds one row at a time, 3-8x slower on layers 10-100 units wide. The
    two add in different orders, so they agree to rounding, not bit for bit (about 4e-15 on
    sums of order 1 in float64). Dense (db) and BatchNorm (the mean and dbeta) use it.
    """
    # On 4-D input ones @ A would sum over the wrong axis without any error: refuse it.
    if A.ndim != 2:
        raise ValueError(f"column_sums needs a 2-D array, received shape {A.shape}; reshape it first.")
    ones = np.ones(len(A), dtype=A.dtype)             # (batch,)
    return np.matmul(ones, A, out=out)                # (batch,) @ (batch, n) -> (n,)

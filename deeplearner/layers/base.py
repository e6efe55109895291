"""The `Layer` base class: the contract every layer in a `Sequential` model follows.

A layer's life has three steps, as in Keras:

1. ``__init__`` checks the hyperparameters (``Dense(units=100)``) and nothing else;
2. ``build(input_dim, rng, dtype)`` runs once the model knows the layer's input width and
   creates the weights;
3. ``forward(X, training)`` and ``backward(dY)`` compute.

A built-in layer's ``backward`` only *computes* gradients: it fills ``self.grads`` (same keys
as ``self.params``) and returns the gradient with respect to its input. The model hands
``params`` and ``grads`` to the optimizer, which changes the parameters.

Layers written in the seed notebook's style keep working: the model sets ``layer.inputshape``,
calls ``layer.setup(optimizer, loss)``, and such a layer may update its own parameters inside
``backward`` with ``copy.copy(optimizer).update(param, grad)``. Those layers often skip
``super().__init__()``, so nothing here may rely on attributes set in ``__init__``.
"""

import numpy as np


class Layer:
    """Base class for layers.

    Attributes
    ----------
    params : dict of str -> ndarray
        Trainable parameters, changed only by the optimizer.
    grads : dict of str -> ndarray
        Gradient of the loss for each entry of ``params``, filled by ``backward``.
    buffers : dict of str -> ndarray
        Non-trainable state saved with the model (BatchNorm's running statistics).
    inputshape : int
        Width of the input, set by ``build``.
    needs_input_grad : bool
        Whether ``backward`` must return dX. True by default; a model sets it to False on its
        first layer, whose dX would be the gradient for the data, which nothing reads. A layer
        may then return None from backward and skip that work (Dense skips a whole GEMM).
    trainable : bool
        True by default. Set ``layer.trainable = False`` to freeze the layer: the model hands its
        ``params`` to no optimizer, and ``count_params`` and the summary count them as
        non-trainable. Whether the layer runs in training mode (Dropout's masks, BatchNorm's batch
        statistics) is a separate question, decided by ``forward(X, training)``.
    """

    needs_input_grad = True
    trainable = True

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.buffers = {}

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

    def build(self, input_dim, rng, dtype):
        """Create the layer's weights for inputs of width ``input_dim``.

        Parameters
        ----------
        input_dim : int
            Number of input features.
        rng : numpy.random.Generator
            The model's generator: the only source of randomness a layer may use.
        dtype : numpy dtype
            float32 or float64; every array the layer creates has this dtype.
        """
        self.inputshape = input_dim

    def setup(self, optimizer, loss):
        """Seed-notebook hook, called after ``build``; built-in layers need nothing here."""

    def outputshape(self):
        """Width of the output; the default keeps the input width."""
        return self.inputshape

    def forward(self, X, training=True):
        """X : ndarray of shape (batch, n_in) -> Y : ndarray of shape (batch, n_out)."""
        raise NotImplementedError(f"{self.name} must define forward(X, training).")

    def backward(self, dY):
        """dY : ndarray of shape (batch, n_out) -> dX : ndarray of shape (batch, n_in)."""
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


def _arrays(layer, attribute):
    # getattr: layers in the seed's style may never have called Layer.__init__.
    return getattr(layer, attribute, {}).values()


def column_sums(A, out=None):
    """A : ndarray of shape (batch, n) -> sum_i A[i], ndarray of shape (n,).

    The same numbers as ``A.sum(axis=0)``, written as the product ones^T A: BLAS reads A once,
    while ``sum(axis=0)`` adds one row at a time, 3-8x slower on layers 10-100 units wide.
    Dense (db) and BatchNorm (the mean and dbeta) use it.
    """
    ones = np.ones(len(A), dtype=A.dtype)             # (batch,)
    return np.matmul(ones, A, out=out)                # (batch,) @ (batch, n) -> (n,)

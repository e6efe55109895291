"""One training step, written once: forward in training mode, the loss, and backward.

    Y  = X;  for each layer, first to last:  Y  = layer.forward(Y, training=True)
    L  = loss.forward(Y, T)
    dY = loss.backward();  for each layer, last to first:  dY = layer.backward(dY)

Each built-in layer's backward fills its ``grads``; the caller decides what happens to them.
Every path that differentiates the model runs `forward_backward`: ``fit`` and
``train_on_batch`` (then the optimizer steps: `Sequential.train_step`), ``compute_gradients``
and ``gradcheck`` (no step), the first step's checks (deeplearner/safeguards/first_step.py,
which pass a ``watch``), and each part of a batch split between threads
(deeplearner/parallel/replicas.py, on that part's copy of the layers).
"""

import numpy as np


def forward(layers, X, training):
    """X : (batch, *input shape of layers[0]) -> the output of the last of ``layers``."""
    for layer in layers:
        X = layer.forward(X, training)
    return X


def forward_backward(layers, loss, X, T, watch=None):
    """Run ``layers`` and ``loss`` forward on (X, T) in training mode, then backward.

    Parameters
    ----------
    layers : list of Layer
        Run in order; usually a model's ``body``.
    loss : Loss
        ``forward(Y, T) -> float``, then ``backward() -> dL/dY``.
    X : ndarray of shape (batch, *input shape of layers[0])
    T : ndarray of shape (batch, n_out), the encoded targets.
    watch : object, optional
        With methods ``forward(position, layer, X, Y)`` and ``backward(position, layer, dY, dX)``,
        called after each layer's result is made (the first step's checks).

    Returns
    -------
    loss : float
        The batch's loss. When it is not finite, backward does not run: nothing was changed.
    output : ndarray of shape (batch, n_out)
        What the last layer returned.
    dX : ndarray of X's shape, or None
        The gradient for X; None when the loss is not finite, or when the first layer skips it
        (``needs_input_grad`` False).
    """
    Y = X
    for position, layer in enumerate(layers):
        A, Y = Y, layer.forward(Y, True)
        if watch is not None:
            watch.forward(position, layer, A, Y)
    value = loss.forward(Y, T)
    if not np.isfinite(value):
        return value, Y, None
    dY = loss.backward()
    for position in range(len(layers) - 1, -1, -1):
        layer = layers[position]
        dA, dY = dY, layer.backward(dY)
        if watch is not None:
            watch.backward(position, layer, dA, dY)
    return value, Y, dY

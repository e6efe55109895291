"""Saliency maps: which pixels a class score is most sensitive to (Simonyan, Vedaldi & Zisserman 2014).

    S = saliency(model, X_valid[:8])              # (8, 1, 20, 20): d(score of the predicted class)/d(pixel)
    S = saliency(model, X_valid[:8], classes=y)   # the same for the classes you name
    deeplearner.plot.plot_saliency(model, X_valid[:8], path="saliency.png")

The gradient is the model's own: one forward pass in inference mode, then each layer's
``backward`` from the class score down to the pixels. NumPy only.
"""

import numpy as np

from .layers import Activation, AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D
from .validation import check_X

# Layers whose forward computes the same Y in training and in inference mode and differs only in
# keeping, when training, what its backward needs (Dense its X, Conv2D its im2col, MaxPool2D
# where the maxima were, an activation its X and Y). They run with training=True here, so that
# backward can follow; every other layer (BatchNorm with its running statistics, Dropout as the
# identity) runs in inference mode, as in predict.
SAME_IN_BOTH_MODES = (Dense, Conv2D, MaxPool2D, AvgPool2D, Flatten, Activation)
CHUNK = 256   # images per forward and backward pass: bounded memory on any number of images


def saliency(model, X, classes=None):
    """The gradient of each image's class score with respect to its pixels.

    Parameters
    ----------
    model : Sequential
    X : array-like of shape (n, *model.input_shape)
        Images (n, channels, height, width), or rows of features for a flat model.
    classes : array-like of shape (n,), optional
        The class whose score to differentiate for each image, as labels of ``model.classes_``
        (what ``predict`` returns), or as output-unit indices when the model has no classes_.
        By default the class the model predicts.

    Returns
    -------
    S : ndarray of shape (n, *model.input_shape), the model's dtype
        S[i] = d z_c(X[i]) / d X[i], with c the class of image i. ``plot_saliency`` draws
        max over channels of |S[i]|, Simonyan et al.'s saliency map.

    Notes
    -----
    The class score z_c is the logit, the input of the final softmax, not the probability
    p_c = exp(z_c) / sum_k exp(z_k): p_c can grow by making the other classes' logits smaller,
    so its gradient mixes in evidence against the other classes (Simonyan et al., section 3).
    A model whose last layer is not a softmax is differentiated at its output unit.

    Back-propagation starts from dZ, which is 1 at (i, c_i) and 0 elsewhere::

        dZ[i, k] = 1 if k == c_i else 0                      (n, n_out)
        dX = backward of every layer but the softmax, last to first, applied to dZ

    A batch of images gives each image its own gradient because, in inference mode, no layer
    mixes samples: BatchNorm normalizes with its running statistics, one sample at a time.

    The model is left as it was: the first layer's ``needs_input_grad`` (False in a model: it
    skips the gradient for the data) is set True for the call and put back, every layer's
    ``grads`` are put back, and nothing moves BatchNorm's statistics or draws from the generator.
    """
    X = check_X(X, model.input_shape, model.dtype, name="X")
    layers = list(model.layers)
    if isinstance(layers[-1], Activation) and layers[-1].name == "softmax":
        layers = layers[:-1]                       # the score is the logit, before the softmax
    units = None if classes is None else _units(model, classes, len(X))
    S = np.empty_like(X)
    first = layers[0]
    kept_flag = getattr(first, "needs_input_grad", True)
    kept_grads = [{name: grad.copy() for name, grad in getattr(layer, "grads", {}).items()} for layer in layers]
    first.needs_input_grad = True
    try:
        for start in range(0, len(X), CHUNK):
            rows = slice(start, start + CHUNK)
            S[rows] = _gradient(model, layers, X[rows], None if units is None else units[rows])
    finally:
        first.needs_input_grad = kept_flag
        for layer, grads in zip(layers, kept_grads):
            for name, grad in grads.items():
                np.copyto(layer.grads[name], grad)
    return S


def _gradient(model, layers, X, units):
    """X : (batch, *input_shape) -> d z_c / dX of X's shape, c = ``units`` (None: the predicted class)."""
    Z = X
    for layer in layers:
        Z = layer.forward(Z, isinstance(layer, SAME_IN_BOTH_MODES))        # -> (batch, n_out) at the end
    if units is None:
        labeled = Z[:, :len(model.classes_)] if model.classes_ is not None else Z   # as predict does
        units = np.argmax(labeled, axis=1)
    dZ = np.zeros_like(Z)                                                   # (batch, n_out)
    dZ[np.arange(len(Z)), units] = 1.0
    for i in reversed(range(len(layers))):
        try:
            dZ = layers[i].backward(dZ)
        except RuntimeError as error:   # a layer whose backward needs a training-mode forward
            raise RuntimeError(f"saliency: layer {i} ({layers[i].name}) cannot back-propagate after a forward "
                               f"in inference mode: {error}") from None
    return dZ


def _units(model, classes, n):
    """The output unit of each class in ``classes``: its position in ``model.classes_``, or the index itself."""
    classes = np.asarray(classes).reshape(-1)
    if len(classes) != n:
        raise ValueError(f"saliency: classes holds {len(classes)} labels for {n} images. Pass one class per "
                         f"image, or classes=None for the predicted ones.")
    if model.classes_ is None:
        if classes.dtype.kind not in "iu" or classes.min() < 0 or classes.max() >= model.n_outputs:
            raise ValueError(f"saliency: the model has not learned its classes (no fit yet), so classes must be "
                             f"output units 0 to {model.n_outputs - 1}, received {classes[:5].tolist()}.")
        return classes.astype(np.int64)
    index = {label: k for k, label in enumerate(np.asarray(model.classes_).tolist())}
    unknown = [label for label in classes.tolist() if label not in index]
    if unknown:
        raise ValueError(f"saliency: classes holds labels the model does not know: {unknown[:5]}. Its classes "
                         f"are {list(index)}.")
    return np.array([index[label] for label in classes.tolist()], dtype=np.int64)

"""Pictures of training and of what a network learned (needs matplotlib).

    from deeplearner.plot import plot_history, plot_digits, plot_confusion_matrix

    plot_history(history, path="curves.png")                        # one run
    plot_history({"BatchNorm": h1, "plain": h2}, path="compare.png")  # several runs, one figure
    plot_digits(X_valid, y_valid, model.predict(X_valid), path="digits.png")
    plot_confusion_matrix(y_valid, model.predict(X_valid), path="confusion.png")

    # inside the network, from a deeplearner.monitor.LayerMonitor passed to fit:
    plot_percentiles(monitor, layer=4, path="percentiles.png")     # 15th/50th/85th over training
    plot_layer_histograms(monitor, path="histograms.png")          # each layer's outputs, first vs last
    plot_grad_norms({"BN": m1, "plain": m2}, path="grads.png")     # ||dL/dW|| by depth

    # what a convolutional network learned:
    plot_filters(model.layers[0], path="filters.png")              # each kernel, one colour scale
    plot_feature_maps(model, X_valid[0], path="maps.png")          # one image's channels, layer by layer
    plot_saliency(model, X_valid[:6], path="saliency.png")         # each image beside d(score)/d(pixel)

Each function returns a ``matplotlib.figure.Figure`` and, given ``path``, saves it as a PNG. The
figures are built without pyplot, so they work on a headless machine and inside tests, and a
script that saves them never opens a window. In Jupyter, a figure that is a cell's result shows
inline as a picture, with no ``%matplotlib inline`` first (figure.py says how).

matplotlib is an optional dependency (``pip install -e ".[plot]"``): it is imported inside the
functions, so ``import deeplearner`` works without it.

The files: ``training.py`` (curves, digits, confusion matrix, LayerMonitor records), ``cnn.py``
(filters, feature maps, saliency maps), ``canvas.py`` (the figure they all draw on).
"""

from .cnn import plot_feature_maps, plot_filters, plot_saliency
from .training import WRONG_COLOR  # noqa: F401  (the colour of a wrong prediction, as before)
from .training import (confusion_matrix, plot_confusion_matrix, plot_digits, plot_grad_norms, plot_history,
                       plot_layer_histograms, plot_percentiles)

__all__ = ["plot_history", "plot_digits", "confusion_matrix", "plot_confusion_matrix", "plot_percentiles",
           "plot_layer_histograms", "plot_grad_norms", "plot_filters", "plot_feature_maps", "plot_saliency"]

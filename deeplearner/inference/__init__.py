"""Tools for a trained model's inference: recompute BatchNorm's statistics, fold BatchNorm into the layer before it.

- ``recompute_batchnorm_statistics(model, X)`` (batchnorm_statistics.py): replace each BatchNorm's
  running mean and variance, a moving average over training, by averages of its batch statistics
  over the data as the final weights see it (PreciseBN).
- ``fold_batchnorm(model)`` (folding.py): a new model in which each BatchNorm right after a Dense
  or Conv2D is folded into that layer's weights, so inference does less work.
"""

from .batchnorm_statistics import recompute_batchnorm_statistics
from .folding import fold_batchnorm

__all__ = ["recompute_batchnorm_statistics", "fold_batchnorm"]

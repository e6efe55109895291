"""Layers, one concept per file: base.py holds the contract every layer follows."""

from .activations import Activation, leaky_relu, relu, sigmoid, softmax, tanh
from .base import Layer
from .batchnorm import BatchNorm
from .conv2d import Conv2D
from .dense import Dense
from .dropout import Dropout
from .flatten import Flatten
from .global_pooling import GlobalAvgPool2D
from .groupnorm import GroupNorm, InstanceNorm
from .layernorm import LayerNorm
from .pooling import AvgPool2D, MaxPool2D
from .residual import Residual

__all__ = ["Layer", "Dense", "Activation", "Dropout", "BatchNorm",
           "relu", "leaky_relu", "sigmoid", "tanh", "softmax"]
__all__ += ["Conv2D", "MaxPool2D", "AvgPool2D", "Flatten"]
__all__ += ["LayerNorm", "GroupNorm", "InstanceNorm"]
__all__ += ["Residual", "GlobalAvgPool2D"]


def __getattr__(name):
    """``from deeplearner.layers import BatchNormalization``: the answer ``deeplearner`` gives (its __init__.py)."""
    from ..validation import other_library_name

    message = None if name.startswith("_") else other_library_name(name, "deeplearner.layers", __all__)
    if message is not None:
        raise ImportError(message, name=name)
    raise AttributeError(f"module 'deeplearner.layers' has no attribute {name!r}")

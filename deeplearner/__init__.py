"""deeplearner: a pure-NumPy deep-learning library to learn from and script with.

    from deeplearner import Sequential, Dense, BatchNorm, Activation, SGD, CrossEntropyForSoftMax

    model = Sequential([Dense(100), BatchNorm(), Activation("relu"),
                        Dense(10), Activation("softmax")],
                       SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(),
                       input_shape=64, seed=0)
    history = model.fit(X_train, y_train, X_valid, y_valid, epochs=20, batch_size=64)

Read the source top to bottom: each file holds one idea (dense.py, batchnorm.py, ...).
"""

from . import initializers  # noqa: F401  (deeplearner.initializers.HeNormal after a plain import deeplearner)
from .callbacks import BackupAndRestore, Callback, CSVLogger, EarlyStopping, ModelCheckpoint, TensorBoard
from .export import to_onnx   # imports the onnx package only when called
from .gradcheck import gradcheck
from .inference import fold_batchnorm, recompute_batchnorm_statistics
from .layers import Activation, BatchNorm, Dense, Dropout, Layer, leaky_relu, relu, sigmoid, softmax, tanh
from .layers import AvgPool2D, Conv2D, Flatten, MaxPool2D
from .layers import GroupNorm, InstanceNorm, LayerNorm
from .layers import GlobalAvgPool2D, Residual
from .losses import CrossEntropyForSoftMax, Loss, MeanSquaredError
from .model import Sequential, load_model
from .monitor import LayerMonitor
from .optimizers import SGD, Adam, AdamW, Optimizer, RMSprop
from . import regularizers  # noqa: F401  (deeplearner.regularizers.total_penalty)
from .regularizers import L2
from .safeguards import TrainingDivergedError, TrainingWarning
from .schedules import ExponentialDecay, ReduceLROnPlateau, StepDecay
from .version import __version__  # noqa: F401  (deeplearner.__version__)

__all__ = [
    "Layer", "Dense", "Activation", "Dropout", "BatchNorm",
    "Conv2D", "MaxPool2D", "AvgPool2D", "Flatten",
    "LayerNorm", "GroupNorm", "InstanceNorm", "Residual", "GlobalAvgPool2D",
    "relu", "leaky_relu", "sigmoid", "tanh", "softmax",
    "Sequential", "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "L2",
    "Loss", "CrossEntropyForSoftMax", "MeanSquaredError", "gradcheck",
    "Callback", "EarlyStopping", "TrainingDivergedError", "TrainingWarning", "load_model", "to_onnx",
    "recompute_batchnorm_statistics", "fold_batchnorm",
    "LayerMonitor", "StepDecay", "ExponentialDecay", "ReduceLROnPlateau",
    "ModelCheckpoint", "CSVLogger", "TensorBoard", "BackupAndRestore",
]


def __getattr__(name):
    """``deeplearner.BatchNormalization`` and other libraries' names: say what deeplearner calls them.

    Python calls this only for a name the module lacks. A known name of Keras or PyTorch, or a
    public name in another case (``ADAM``), raises ImportError rather than AttributeError: for
    ``from deeplearner import BatchNormalization`` Python would replace an AttributeError's message
    with its own "cannot import name".
    """
    import difflib

    from .validation import other_library_name

    if name.startswith("_"):                          # tools probing for __wrapped__ and the like
        raise AttributeError(f"module 'deeplearner' has no attribute {name!r}")
    message = other_library_name(name, "deeplearner", __all__)
    if message is not None:
        raise ImportError(message, name=name)
    close = difflib.get_close_matches(name, __all__, n=1)
    raise AttributeError(f"module 'deeplearner' has no attribute {name!r}."
                         + (f" Did you mean {close[0]}?" if close else ""))

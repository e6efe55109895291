"""deeplearner: a pure-NumPy deep-learning library to learn from and script with.

    from deeplearner import Sequential, Dense, BatchNorm, Activation, SGD, CrossEntropyForSoftMax

    model = Sequential([Dense(100), BatchNorm(), Activation("relu"),
                        Dense(10), Activation("softmax")],
                       SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(),
                       input_dim=64, seed=0)
    history = model.fit(X_train, y_train, X_valid, y_valid, epochs=20, batchsize=64)

Read the source top to bottom: each file holds one idea (dense.py, batchnorm.py, ...).
"""

from .activations import Activation, leaky_relu, relu, sigmoid, softmax, tanh
from .batchnorm import BatchNorm
from .callbacks import Callback, EarlyStopping
from .dense import Dense
from .dropout import Dropout
from .gradcheck import gradcheck
from .layer import Layer
from .losses import CrossEntropyForSoftMax, Loss, MeanSquaredError
from .optimizers import SGD, Adam, Optimizer, RMSprop
from .safety import TrainingDivergedError
from .saving import load_model
from .sequential import Sequential

__version__ = "0.1.0"

__all__ = [
    "Layer", "Dense", "Activation", "Dropout", "BatchNorm",
    "relu", "leaky_relu", "sigmoid", "tanh", "softmax",
    "Sequential", "Optimizer", "SGD", "Adam", "RMSprop",
    "Loss", "CrossEntropyForSoftMax", "MeanSquaredError", "gradcheck",
    "Callback", "EarlyStopping", "TrainingDivergedError", "load_model",
]

"""The seed notebook's own BathNorm layer, pasted as written, trains inside Sequential.

The class below is copied from the notebook (shared/seed/000_7748a5e5aefaebbc.txt, cell In [50])
character for character, except that trailing spaces were stripped; the only other change is the
import: ``from deeplearner import Layer`` instead of ``from DeepLearnerBase import Layer``.
Its traps for the library: it never calls ``super().__init__()``, builds its weights in
``setup(optimizer, loss)`` from ``self.inputshape``, updates itself inside ``backward`` with
``copy.copy(optimizer).update(param, grad)``, and reads the *old* gamma after that update.
"""

import pytest

from deeplearner import SGD, Activation, CrossEntropyForSoftMax, Dense, Sequential, relu, softmax

# ---------------------------------------------------------------- the notebook's cells In [20] and In [50]
import numpy as np
from deeplearner import Layer
import copy


class BathNorm(Layer):
    def __init__(self, momentum = 0.9,eps =1e-8):
        self.momentum = momentum
        self.moving_mean = None
        self.moving_varience = None
        self.eps = eps

    def setup(self, optimizer,loss):
        #based on the documentation read
        self.gamma = np.ones(self.inputshape)
        self.beta = np.zeros(self.inputshape)

        # parameter optimizers
        self.gamma_opt  = copy.copy(optimizer)
        self.beta_opt = copy.copy(optimizer)

    @property
    def shape(self):
        return (self.inputshape ,self.outputshape())

    def forward(self, X, training = True):
        if(self.moving_mean is None) :
            self.moving_mean = np.mean(X,axis=0)
            self.moving_varience = np.var(X,axis =0)

        if(training):
            mean =  np.mean(X,axis=0)
            varience = np.var(X,axis =0)

            self.moving_mean = (self.momentum * self.moving_mean) + ((1-self.momentum) * mean)
            self.moving_varience = (self.momentum * self.moving_varience) + ((1-self.momentum) * varience)
        else:
            #in the testing process, we want to use the mean and variance of the complete dataset
            mean = self.moving_mean
            varience = self.moving_varience

        #storing it for backward pass
        self.X_centered = X- mean
        self.std_dev = 1/(np.sqrt(varience+ self.eps))

        X_norm = self.X_centered * self.std_dev

        #scale and shift
        out =  (self.gamma * X_norm) + self.beta
        return out


    def backward(self, grad):
        # Save parameters used during the forward pass
        gamma = self.gamma


        X_norm = self.X_centered * self.std_dev
        grad_gamma = np.sum(grad * X_norm, axis=0)
        grad_beta = np.sum(grad, axis=0)

        self.gamma = self.gamma_opt.update(self.gamma, grad_gamma)
        self.beta = self.beta_opt.update(self.beta, grad_beta)

        batch_size = grad.shape[0]

        # The gradient of the loss with respect to the layer inputs (use weights and statistics from forward pass)
        accum_grad = (1 / batch_size) * gamma * self.std_dev * (
            batch_size * grad
            - np.sum(grad, axis=0)
            - self.X_centered * self.std_dev**2 * np.sum(grad * self.X_centered, axis=0)
            )

        return accum_grad

    def outputshape(self):
        return self.inputshape


# ---------------------------------------------------------------- the tests
@pytest.fixture(scope="module")
def seed_model(digits):
    """The notebook's architecture and optimizer, on digits with labels 1..10 of shape (n, 1)."""
    X_train, X_valid, y_train, y_valid = digits
    y_train, y_valid = (y_train + 1).reshape(-1, 1), (y_valid + 1).reshape(-1, 1)
    optimizer = SGD(learning_rate=0.1, momentum=0.9)
    loss = CrossEntropyForSoftMax()
    model = Sequential([
        Dense(100),
        BathNorm(),
        Activation(relu),
        Dense(50),
        BathNorm(),
        Activation(relu),
        Dense(10),
        BathNorm(),
        Activation(softmax)
    ], optimizer, loss, X_train.shape[1], seed=0)
    gamma_before = model.layers[1].gamma.copy()
    history = model.fit(X_train, y_train, X_valid, y_valid, epochs=10, batchsize=64, verbose=0)
    return model, history, gamma_before, X_valid, y_valid


def test_the_notebooks_bathnorm_learns_the_digits(seed_model):
    model, history, _, _, _ = seed_model
    assert history["val_accuracy"][-1] > 0.9
    assert history["loss"][-1] < history["loss"][0]


def test_predictions_come_back_in_the_seeds_labels_1_to_10(seed_model):
    model, _, _, X_valid, y_valid = seed_model
    np.testing.assert_array_equal(model.classes_, np.arange(1, 11))
    predicted = model.predict(X_valid)
    assert set(np.unique(predicted)) <= set(range(1, 11))
    assert np.mean(predicted == y_valid.ravel()) > 0.9


def test_the_bathnorm_layers_trained_themselves_with_their_own_optimizer_copies(seed_model):
    model, _, gamma_before, _, _ = seed_model
    layer = model.layers[1]
    assert not np.array_equal(layer.gamma, gamma_before)       # its backward called update()
    assert layer.gamma_opt is not model.optimizer and layer.gamma_opt is not layer.beta_opt
    assert layer.moving_mean.shape == (100,)


def test_the_summary_shows_the_seed_layer_by_its_class_name(seed_model):
    printed = []
    seed_model[0].summary(print_fn=printed.append)
    assert "| BathNorm " in printed[0]

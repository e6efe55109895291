"""Optimizers: the only code that changes a model's parameters.

Two ways in:

- ``step(params, grads)``: the model's way. Both are dicts with the same keys; every array in
  ``params`` is updated in place, and the optimizer keeps its state (velocities, moments) under
  the same key in ``self.state``.
- ``update(param, grad) -> new_param``: the seed notebook's way, one optimizer object per
  parameter (``copy.copy(optimizer)``). It returns a new array and leaves ``param`` untouched,
  because a seed layer may still read the old value in the rest of its backward pass.
  ``copy.copy`` of an optimizer has the same hyperparameters and fresh state.
"""

import math

import numpy as np

from .registry import add as register
from .validation import check_real


class Optimizer:
    """Base class: subclasses define ``_apply(param, grad, slots)``, changing ``param`` in place."""

    def __init_subclass__(cls, **kwargs):
        """Defining a subclass registers it, so that ``load_model`` finds the built-in ones by name."""
        super().__init_subclass__(**kwargs)
        register(cls)

    def __init__(self, learning_rate):
        self.learning_rate = check_real(type(self).__name__, "learning_rate", learning_rate, 0, math.inf,
                                        hint=" Typical values are 0.001 to 0.1.")
        self.state = {}        # key -> dict of state arrays, for step()
        self._own_slots = {}   # state for update(), one parameter per optimizer object

    def get_config(self):
        """Return the constructor arguments as a dict: ``type(self)(**config)`` rebuilds the optimizer."""
        return {"learning_rate": self.learning_rate}

    def step(self, params, grads):
        """Update every array of ``params`` (dict) in place from ``grads`` (dict, same keys)."""
        for key, param in params.items():
            self._apply(param, grads[key], self.state.setdefault(key, {}))

    def update(self, param, grad):
        """Seed-notebook API: return the updated parameter as a new array."""
        param = np.array(param, copy=True)
        self._apply(param, np.asarray(grad), self._own_slots)
        return param

    def __copy__(self):
        fresh = object.__new__(type(self))
        fresh.__dict__.update(self.__dict__)
        fresh.state, fresh._own_slots = {}, {}
        return fresh

    def _apply(self, param, grad, slots):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with classical or Nesterov momentum.

    Notes
    -----
    With velocity v (starting at 0), momentum mu and learning rate lr, as in PyTorch::

        v = mu v + g
        W = W - lr v                       (classical)
        W = W - lr (g + mu v)              (nesterov=True)

    For a constant learning rate this is the same update as Keras's v = mu v - lr g, W = W + v.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        super().__init__(learning_rate)
        self.momentum = check_real("SGD", "momentum", momentum, 0, 1, hint=" The usual value is 0.9.")
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0, received momentum=0. "
                             "Pass e.g. SGD(learning_rate=0.1, momentum=0.9, nesterov=True).")
        self.nesterov = bool(nesterov)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}

    def _apply(self, param, grad, slots):
        lr, mu = self.learning_rate, self.momentum
        if mu == 0:
            param -= lr * grad
            return
        if "velocity" not in slots:
            slots["velocity"] = np.zeros_like(param)
        v = slots["velocity"]
        v *= mu
        v += grad
        param -= lr * (grad + mu * v) if self.nesterov else lr * v


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, https://arxiv.org/abs/1412.6980).

    Notes
    -----
    With step count t (from 1), gradient g, moments m and v starting at 0::

        m = beta_1 m + (1 - beta_1) g
        v = beta_2 v + (1 - beta_2) g^2
        m_hat = m / (1 - beta_1^t)          bias correction: m and v start at 0
        v_hat = v / (1 - beta_2^t)
        W = W - lr m_hat / (sqrt(v_hat) + eps)

    eps = 1e-8 as in the paper and PyTorch (Keras uses 1e-7).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, eps=1e-8):
        super().__init__(learning_rate)
        self.beta_1 = check_real("Adam", "beta_1", beta_1, 0, 1, hint=" The usual value is 0.9.")
        self.beta_2 = check_real("Adam", "beta_2", beta_2, 0, 1, hint=" The usual value is 0.999.")
        self.eps = check_real("Adam", "eps", eps, 0, low_open=True, hint=" The usual value is 1e-8.")

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "eps": self.eps}

    def _apply(self, param, grad, slots):
        if "m" not in slots:
            slots.update(m=np.zeros_like(param), v=np.zeros_like(param), t=0)
        m, v = slots["m"], slots["v"]
        slots["t"] += 1
        t = slots["t"]
        m *= self.beta_1
        m += (1 - self.beta_1) * grad
        v *= self.beta_2
        v += (1 - self.beta_2) * grad * grad
        # W -= lr m_hat / (sqrt(v_hat) + eps), with the bias corrections (scalars) applied to
        # sqrt(v) and to the step size in place: two temporaries instead of six.
        denominator = np.sqrt(v)
        denominator /= math.sqrt(1 - self.beta_2 ** t)     # sqrt(v_hat)
        denominator += self.eps
        step = m / denominator
        step *= self.learning_rate / (1 - self.beta_1 ** t)
        param -= step


class RMSprop(Optimizer):
    """RMSprop (Hinton, Coursera lecture 6e, 2012).

    Notes
    -----
    With v starting at 0 and decay rho::

        v = rho v + (1 - rho) g^2
        W = W - lr g / (sqrt(v) + eps)

    rho = 0.9 as in Keras (PyTorch's alpha=0.99); eps is added outside the root, as in PyTorch.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, eps=1e-8):
        super().__init__(learning_rate)
        self.rho = check_real("RMSprop", "rho", rho, 0, 1, hint=" The usual value is 0.9.")
        self.eps = check_real("RMSprop", "eps", eps, 0, low_open=True, hint=" The usual value is 1e-8.")

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "eps": self.eps}

    def _apply(self, param, grad, slots):
        if "v" not in slots:
            slots["v"] = np.zeros_like(param)
        v = slots["v"]
        v *= self.rho
        v += (1 - self.rho) * grad * grad
        denominator = np.sqrt(v)                           # in place below: two temporaries, not four
        denominator += self.eps
        step = grad / denominator
        step *= self.learning_rate
        param -= step

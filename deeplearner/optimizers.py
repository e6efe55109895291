"""Optimizers: the only code that changes a model's parameters.

Two ways in:

- ``step(params, grads)``: the model's way. Both are dicts with the same keys; every array in
  ``params`` is updated in place, and the optimizer keeps its state (velocities, moments) under
  the same key in ``self.state``.
- ``update(param, grad) -> new_param``: the seed notebook's way, one optimizer object per
  parameter (``copy.copy(optimizer)``). It returns a new array and leaves ``param`` untouched,
  because a seed layer may still read the old value in the rest of its backward pass.
  ``copy.copy`` of an optimizer has the same hyperparameters and fresh state.

Every optimizer also takes Keras's ``weight_decay``, ``clipnorm`` and ``global_clipnorm``
(see `Optimizer`); `AdamW` is Adam with a weight decay of 0.004 by default.
"""

import math

import numpy as np

from .registry import add as register
from .validation import check_real, keywords_of, refuse_unknown_keywords


class Optimizer:
    """Base class: subclasses define ``_apply(param, grad, slots)``, changing ``param`` in place.

    Parameters
    ----------
    learning_rate : float
    weight_decay : float or None
        Decoupled weight decay: each step first shrinks every parameter by the factor
        1 - learning_rate * weight_decay. None (the default) or 0: no decay.
    clipnorm : float or None
        Rescale each parameter's gradient so that its L2 norm is at most this.
    global_clipnorm : float or None
        Rescale all gradients by one factor so that their joint L2 norm is at most this.
        At most one of clipnorm and global_clipnorm may be set, as in Keras.

    Notes
    -----
    One step, for every parameter W with gradient g (the order of Keras 3's optimizers, whose
    ``apply`` clips, then decays, then updates; PyTorch's AdamW also decays before its update)::

        1. clip:   g = g c / max(||g||, c)          clipnorm=c, ||g|| = sqrt(sum g^2) of this W's g
                   g = g c / max(G, c)              global_clipnorm=c, G = sqrt(sum over all W of ||g||^2)
        2. decay:  W = W - lr wd W                  weight_decay=wd, from W before this step's update
        3. update: W = W - lr step(g)               the optimizer's own rule (SGD, Adam, RMSprop)

    Clipping works on copies: the arrays in ``grads`` (a layer's ``grads``, which you may read
    after ``compute_gradients``) keep the raw gradient, as Keras clips into new tensors and
    leaves the gradients it was handed alone. The decay is not part of g, so it is never clipped
    and never enters momentum or Adam's moments. Every parameter the model hands over decays,
    biases and BatchNorm's gamma and beta included (the default of Keras and of PyTorch).

    Decoupled decay (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization") is not
    an L2 penalty. A penalty l2 sum(W^2) on the loss (``regularizers.L2``, or PyTorch's
    ``SGD(weight_decay=)`` and ``Adam(weight_decay=)``, which add wd W to g) puts 2 l2 W into g,
    and then through the optimizer's rule:

    - SGD without momentum: W - lr (g + 2 l2 W) = W - lr g - lr (2 l2) W, the same step as
      decoupled decay with wd = 2 l2 (the factor 2 from the derivative of W^2). With momentum
      the penalty's part also accumulates in the velocity, the decay's does not.
    - Adam and RMSprop: the penalty's part is divided by sqrt(v) like the rest of g, so weights
      whose gradients are large decay less; decoupled decay shrinks every weight by the same
      factor. ``Adam(weight_decay=wd)`` here is PyTorch's ``AdamW(weight_decay=wd)``.

    Either way lr multiplies the decay, as in Keras and PyTorch (the paper scales wd by the
    schedule's multiplier instead): a schedule that lowers lr lowers the decay with it.

    Before BatchNorm, neither regularizes what the network computes: BN's output does not change
    when W is scaled by any c > 0, and dL/dW scales by 1/c. So the angle through which an SGD step
    turns W scales as lr / ||W||^2 (for Adam, whose step does not grow with g, as lr / ||W||), and
    shrinking ||W|| raises that effective learning rate (van Laarhoven 2017, "L2 Regularization
    versus Batch and Weight Normalization"): with BatchNorm, weight decay acts on how fast the
    layer learns rather than on which function the network can represent.

    ``update(param, grad)`` sees one parameter at a time: the decay and clipnorm apply to it as
    in ``step``, and global_clipnorm is then the norm of that one gradient.
    """

    def __init_subclass__(cls, **kwargs):
        """Defining a subclass registers it, so that ``load_model`` finds the built-in ones by name."""
        super().__init_subclass__(**kwargs)
        register(cls)

    def __init__(self, learning_rate, *, weight_decay=None, clipnorm=None, global_clipnorm=None, **unknown):
        owner = type(self).__name__
        if unknown:   # a subclass hands on what its __init__ does not take: Keras's lr=, epsilon=, decay=
            refuse_unknown_keywords(owner, unknown, keywords_of(type(self).__init__))
        self.learning_rate = check_real(owner, "learning_rate", learning_rate, 0, math.inf,
                                        hint=" Typical values are 0.001 to 0.1.")
        self.weight_decay = None if weight_decay is None else check_real(
            owner, "weight_decay", weight_decay, 0, must="a number >= 0 or None",
            hint=" Typical values are 1e-4 to 1e-2; pass None for no decay.")
        if self.weight_decay is not None and self.learning_rate * self.weight_decay >= 1:
            raise ValueError(f"{owner}: learning_rate * weight_decay must be below 1, received "
                             f"learning_rate={learning_rate!r}, weight_decay={weight_decay!r}: each step "
                             f"multiplies the weights by 1 - learning_rate * weight_decay, which would be "
                             f"<= 0. Pass a smaller weight_decay, e.g. weight_decay=1e-4.")
        self.clipnorm = _clip_norm(owner, "clipnorm", clipnorm)
        self.global_clipnorm = _clip_norm(owner, "global_clipnorm", global_clipnorm)
        if self.clipnorm is not None and self.global_clipnorm is not None:
            raise ValueError(f"{owner}: clipnorm and global_clipnorm cannot both be set, received "
                             f"clipnorm={clipnorm!r}, global_clipnorm={global_clipnorm!r}. Pass one of them: "
                             f"clipnorm clips each parameter's gradient, global_clipnorm all of them together.")
        self.state = {}        # key -> dict of state arrays, for step()
        self._own_slots = {}   # state for update(), one parameter per optimizer object

    def get_config(self):
        """Return the constructor arguments as a dict: ``type(self)(**config)`` rebuilds the optimizer.

        weight_decay, clipnorm and global_clipnorm appear only when set, so an optimizer without
        them has the config it always had (and a subclass of your own whose ``__init__`` takes
        only its own arguments still rebuilds from it).
        """
        config = {"learning_rate": self.learning_rate}
        for name in ("weight_decay", "clipnorm", "global_clipnorm"):
            if getattr(self, name) is not None:
                config[name] = getattr(self, name)
        return config

    def step(self, params, grads):
        """Update every array of ``params`` (dict) in place from ``grads`` (dict, same keys)."""
        if self.clipnorm is not None or self.global_clipnorm is not None:
            grads = self.clip_gradients(grads)
        shrink = 1 - self.learning_rate * self.weight_decay if self.weight_decay else None
        for key, param in params.items():
            if shrink is not None:
                param *= shrink        # W = W - lr wd W, in place, before the update
            self._apply(param, grads[key], self.state.setdefault(key, {}))

    def update(self, param, grad):
        """Seed-notebook API: return the updated parameter as a new array."""
        param = np.array(param, copy=True)
        grad = np.asarray(grad)
        if self.clipnorm is not None or self.global_clipnorm is not None:
            grad = self.clip_gradients({"grad": grad})["grad"]
        if self.weight_decay:
            param *= 1 - self.learning_rate * self.weight_decay
        self._apply(param, grad, self._own_slots)
        return param

    def clip_gradients(self, grads):
        """Step 1 of the Notes: ``grads`` (dict) clipped by clipnorm or global_clipnorm, as a new dict.

        A gradient that is rescaled is a new array; the others are the same arrays as in
        ``grads``, which is never changed. With neither set, ``grads`` itself is returned.
        """
        if self.clipnorm is not None:
            norms = {key: np.linalg.norm(grad) for key, grad in grads.items()}
            return {key: grad * (self.clipnorm / norms[key]) if norms[key] > self.clipnorm else grad
                    for key, grad in grads.items()}
        if self.global_clipnorm is not None:
            joint = math.sqrt(sum(float(np.linalg.norm(grad)) ** 2 for grad in grads.values()))
            if joint > self.global_clipnorm:
                scale = self.global_clipnorm / joint
                return {key: grad * scale for key, grad in grads.items()}
        return grads

    def __copy__(self):
        fresh = object.__new__(type(self))
        fresh.__dict__.update(self.__dict__)
        fresh.state, fresh._own_slots = {}, {}
        return fresh

    def _apply(self, param, grad, slots):
        raise NotImplementedError


def _clip_norm(owner, name, value):
    """clipnorm or global_clipnorm: None, or a positive number."""
    if value is None:
        return None
    return check_real(owner, name, value, 0, low_open=True, must="a positive number or None",
                      hint=f" Values around 1.0 are common; pass {name}=None not to clip.")


class SGD(Optimizer):
    """Stochastic gradient descent with classical or Nesterov momentum.

    Notes
    -----
    With velocity v (starting at 0), momentum mu and learning rate lr, as in PyTorch::

        v = mu v + g
        W = W - lr v                       (classical)
        W = W - lr (g + mu v)              (nesterov=True)

    For a constant learning rate this is the same update as Keras's v = mu v - lr g, W = W + v.
    weight_decay, clipnorm and global_clipnorm act as in `Optimizer`: W = W - lr wd W first.
    Without momentum that is exactly PyTorch's ``SGD(weight_decay=wd)``, W = W - lr (g + wd W);
    with momentum PyTorch's puts wd W into v, and the two differ.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, *,
                 weight_decay=None, clipnorm=None, global_clipnorm=None, **unknown):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         global_clipnorm=global_clipnorm, **unknown)
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

    eps = 1e-8 as in the paper and PyTorch (Keras uses 1e-7). weight_decay, clipnorm and
    global_clipnorm act as in `Optimizer`; with weight_decay this is `AdamW` (PyTorch's
    ``AdamW``, not its ``Adam(weight_decay=)``, which adds wd W to g).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, eps=1e-8, *,
                 weight_decay=None, clipnorm=None, global_clipnorm=None, **unknown):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         global_clipnorm=global_clipnorm, **unknown)
        self.beta_1 = check_real(type(self).__name__, "beta_1", beta_1, 0, 1, hint=" The usual value is 0.9.")
        self.beta_2 = check_real(type(self).__name__, "beta_2", beta_2, 0, 1, hint=" The usual value is 0.999.")
        self.eps = check_real(type(self).__name__, "eps", eps, 0, low_open=True, hint=" The usual value is 1e-8.")

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


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019, https://arxiv.org/abs/1711.05101).

    ``AdamW(learning_rate=0.001, weight_decay=0.004)``: Keras 3's name and default decay (PyTorch's
    default is 0.01). The same as ``Adam(..., weight_decay=0.004)``.

    Notes
    -----
    Each step, with Adam's m_hat and v_hat (see `Adam`)::

        W = W - lr wd W                                  first, from W before the update
        W = W - lr m_hat / (sqrt(v_hat) + eps)

    The order of Keras 3 and of PyTorch's ``AdamW``. Unlike an L2 penalty, whose gradient 2 l2 W
    Adam would divide by sqrt(v_hat), every weight shrinks by the same factor 1 - lr wd (see
    `Optimizer` for the comparison, and for what the decay does before a BatchNorm).
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, eps=1e-8, *,
                 clipnorm=None, global_clipnorm=None, **unknown):
        # None is refused here: AdamW without decay is Adam.
        check_real("AdamW", "weight_decay", weight_decay, 0, must="a number >= 0",
                   hint=" AdamW is Adam with weight decay: pass e.g. weight_decay=0.004 (the default), "
                        "or use Adam(...) for none.")
        super().__init__(learning_rate, beta_1, beta_2, eps, weight_decay=weight_decay, clipnorm=clipnorm,
                         global_clipnorm=global_clipnorm, **unknown)

    def get_config(self):
        return super().get_config()   # defined here too: saving reads the config of the class that defines __init__


class RMSprop(Optimizer):
    """RMSprop (Hinton, Coursera lecture 6e, 2012).

    Notes
    -----
    With v starting at 0 and decay rho::

        v = rho v + (1 - rho) g^2
        W = W - lr g / (sqrt(v) + eps)

    rho = 0.9 as in Keras (PyTorch's alpha=0.99); eps is added outside the root, as in PyTorch.
    weight_decay, clipnorm and global_clipnorm act as in `Optimizer` (decoupled decay, as in
    Keras; PyTorch's ``RMSprop(weight_decay=)`` adds wd W to g instead).
    """

    def __init__(self, learning_rate=0.001, rho=0.9, eps=1e-8, *,
                 weight_decay=None, clipnorm=None, global_clipnorm=None, **unknown):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         global_clipnorm=global_clipnorm, **unknown)
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

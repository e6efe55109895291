"""Initializers: how a layer's weights are drawn before training, and why the scale matters.

    Dense(100, init="he_normal")          # by name
    Dense(100, init=HeNormal())           # the same, as an object
    Dense(100, init=Normal(std=0.01))     # "small random numbers"

An initializer is called as ``initializer(shape, rng, dtype)`` and returns a new array of that
shape and dtype, drawn from ``rng``, the model's one generator (so a model's seed fixes its
weights). The fans come from the shape, in the layouts of deeplearner's layers (see `fans`).

Why the scale matters. A unit of a Dense layer computes y = sum_i x_i W_i over its n_in inputs.
With the W_i drawn independently of x, with mean 0::

    Var(y) = n_in Var(W) E[x^2]

so each layer multiplies the size of the signal by n_in Var(W) (times what the activation does
to it). Too small and, after a few layers, every unit outputs almost the same tiny number;
too large and the signal, and with it the gradient, explodes. The backward pass runs the same
argument the other way: dx_i = sum_j W_ij dy_j over n_out outputs, so Var(dx) = n_out Var(W) Var(dy).

- Keep Var(y) = Var(x) for a linear (or tanh, near 0) unit: Var(W) = 1 / n_in.
- Glorot & Bengio (2010) ask for both directions and compromise: Var(W) = 2 / (n_in + n_out).
- He et al. (2015): relu zeroes half of a symmetric input, so E[relu(z)^2] = Var(z) / 2 and
  the forward condition becomes Var(W) = 2 / n_in.

A uniform U(-r, r) has variance r^2 / 3, so the uniform variants use r = sqrt(3 Var(W)).
BatchNorm after a layer divides the scale back out, which is why it lets you "forget about
weight initialization" (examples/init_scale.py shows it).

Where libraries disagree: Keras's ``he_normal`` and ``glorot_normal`` draw from a normal
truncated at two standard deviations; here, as in the papers and in PyTorch's
``kaiming_normal_``, the normal is not truncated.
"""

import numbers

import numpy as np


def fans(shape):
    """(fan_in, fan_out) of a weight array of ``shape``, in deeplearner's layouts.

    - (n,): a bias; fan_in = fan_out = n.
    - (n_in, n_out): Dense's W (``Y = X W``): fan_in = n_in, fan_out = n_out.
    - (F, C, kh, kw): Conv2D's W: each output sees C * kh * kw inputs, each input reaches
      F * kh * kw outputs, so fan_in = C kh kw and fan_out = F kh kw.
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape
    if len(shape) == 4:
        filters, channels, kh, kw = shape
        return channels * kh * kw, filters * kh * kw
    raise ValueError(f"fans: expected a shape (n,), (n_in, n_out) or (filters, channels, kh, kw), "
                     f"received {shape}.")


class Initializer:
    """Base class: ``initializer(shape, rng, dtype)`` returns a new array of that shape and dtype.

    A subclass defines ``draw(shape, fan_in, fan_out, rng)``, returning a float64 array;
    ``get_config()`` returns the constructor arguments, as for layers.
    """

    def __call__(self, shape, rng, dtype=np.float64):
        """shape : tuple of int, rng : numpy.random.Generator -> ndarray of ``shape`` and ``dtype``."""
        shape = tuple(int(n) for n in shape)
        # Drawn in float64, then cast: a float32 model gets the float64 model's weights, rounded.
        return self.draw(shape, *fans(shape), rng).astype(dtype, copy=False)

    def draw(self, shape, fan_in, fan_out, rng):
        raise NotImplementedError(f"{type(self).__name__} must define draw(shape, fan_in, fan_out, rng).")

    def get_config(self):
        return {}

    def __repr__(self):
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    __hash__ = None   # equal by value, so not hashable


class Zeros(Initializer):
    """W = 0: for biases. (Zero weights would give every unit of a layer the same output and the
    same gradient, so the units could never become different.)"""

    def draw(self, shape, fan_in, fan_out, rng):
        return np.zeros(shape)   # draws nothing: the generator's stream is not moved


class Normal(Initializer):
    """W ~ N(0, std^2), whatever the fans: the "small random numbers" of CS231n and of the
    book "Deep Learning from Scratch" (std=0.01), whose scale you choose yourself.

    Parameters
    ----------
    std : float > 0
        The standard deviation.
    """

    def __init__(self, std=0.01):
        if isinstance(std, bool) or not isinstance(std, numbers.Real) or not 0 < std < np.inf:
            raise ValueError(f"Normal: std must be a positive number, received std={std!r}. "
                             f"Example: Normal(std=0.01).")
        self.std = float(std)

    def get_config(self):
        return {"std": self.std}

    def draw(self, shape, fan_in, fan_out, rng):
        return rng.normal(0.0, self.std, size=shape)


class GlorotUniform(Initializer):
    """W ~ U(-r, r), r = sqrt(6 / (fan_in + fan_out)): Var(W) = 2 / (fan_in + fan_out).

    Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward neural
    networks", eq. 16: the compromise between the forward condition Var(W) = 1 / fan_in and the
    backward one Var(W) = 1 / fan_out. Keras's default, and Dense's.
    """

    def draw(self, shape, fan_in, fan_out, rng):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape)


class GlorotNormal(Initializer):
    """W ~ N(0, 2 / (fan_in + fan_out)): Glorot & Bengio's variance (see `GlorotUniform`), normal."""

    def draw(self, shape, fan_in, fan_out, rng):
        return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape)


class HeNormal(Initializer):
    """W ~ N(0, 2 / fan_in), for layers followed by relu.

    He, Zhang, Ren & Sun (2015), "Delving Deep into Rectifiers", eq. 10: relu keeps only the
    positive half of a symmetric input, E[relu(z)^2] = Var(z) / 2, so (1/2) fan_in Var(W) = 1
    keeps the size of the signal from layer to layer. Conv2D's default.
    """

    def draw(self, shape, fan_in, fan_out, rng):
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


class HeUniform(Initializer):
    """W ~ U(-r, r), r = sqrt(6 / fan_in): He et al.'s variance 2 / fan_in (see `HeNormal`), uniform."""

    def draw(self, shape, fan_in, fan_out, rng):
        limit = np.sqrt(6.0 / fan_in)
        return rng.uniform(-limit, limit, size=shape)


# The names a layer's init= accepts, each for the class with its default arguments.
NAMES = {"glorot_normal": GlorotNormal, "glorot_uniform": GlorotUniform, "he_normal": HeNormal,
         "he_uniform": HeUniform, "normal": Normal, "zeros": Zeros}
CLASSES = {cls.__name__: cls for cls in NAMES.values()}


def get(init, owner):
    """A layer's ``init=`` argument -> an Initializer; ``owner`` (e.g. "Dense") names the layer in errors.

    ``init`` is a name from `NAMES`, an Initializer instance, or what `serialize` returned:
    ``{"class": "Normal", "config": {"std": 0.01}}`` (as a saved model holds it).
    """
    if isinstance(init, Initializer):
        return init
    if isinstance(init, str):
        if init not in NAMES:
            raise ValueError(f"{owner}: unknown init={init!r}. Use one of {tuple(NAMES)}, or an initializer "
                             f"such as Normal(std=0.01) from deeplearner.initializers.")
        return NAMES[init]()
    if isinstance(init, dict) and set(init) == {"class", "config"} and init["class"] in CLASSES:
        return CLASSES[init["class"]](**init["config"])
    if isinstance(init, type) and issubclass(init, Initializer):
        raise TypeError(f"{owner}: init={init.__name__} is a class; pass an instance, e.g. init={init.__name__}().")
    raise TypeError(f"{owner}: init must be a name from {tuple(NAMES)} or an Initializer such as "
                    f"Normal(std=0.01), received init={init!r}.")


def serialize(initializer, owner):
    """The JSON-able form a layer's ``get_config()`` stores: the name when it has one, else a dict.

    ``HeNormal()`` -> ``"he_normal"``; ``Normal(0.5)`` -> ``{"class": "Normal", "config": {"std": 0.5}}``.
    Only the built-in initializers can be saved: a file never names code to run.
    """
    cls = type(initializer)
    if CLASSES.get(cls.__name__) is not cls:
        raise ValueError(f"{owner}: only the initializers of deeplearner.initializers can be saved, this layer "
                         f"holds {initializer!r}. Save the weights instead (model.get_weights()), or use "
                         f"a built-in initializer.")
    for name, named in NAMES.items():
        if initializer == named():
            return name
    return {"class": cls.__name__, "config": initializer.get_config()}

"""The built-in classes by name, for ``load_model``: a model file names each layer's class.

Defining a subclass of `Layer`, `Optimizer` or `Loss` adds it here (their ``__init_subclass__``
calls `add`), so a new built-in layer needs no entry anywhere; Keras's decorator
``register_keras_serializable`` does the same by hand. Only classes defined inside the
``deeplearner`` package count as built in: a class of your own, even one with a built-in's name,
is loaded from ``load_model(path, custom_objects={"MyLayer": MyLayer})``.
"""

BUILT_IN = {}   # class name -> class


def add(cls):
    """Record ``cls`` if deeplearner defines it (a class of yours is recorded nowhere)."""
    if cls.__module__.split(".")[0] == "deeplearner" and not cls.__name__.startswith("_"):
        BUILT_IN[cls.__name__] = cls
    return cls


def built_in(name):
    """The deeplearner class called ``name`` (Dense, SGD, Sequential, ...), or None."""
    return BUILT_IN.get(name)

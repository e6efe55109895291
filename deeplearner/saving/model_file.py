"""Save a model to one ``.npz`` file and load it back: ``model.save(path)``, ``load_model(path)``.

The file is a plain NumPy archive (``np.savez``) and is read with ``allow_pickle=False``, so
loading a file never runs code from it. It holds:

- ``deeplearner_model``: one JSON string (a 0-d unicode array) with everything that is not an
  array: the format marker and version, ``input_shape`` (a list; files written before images
  hold an int ``input_dim``, which still loads), ``dtype``, ``seed``, the class and
  constructor arguments (``get_config()``) of each layer, of the optimizer and of the loss,
  ``history_``, the state of the model's random generator, and the names of the arrays below;
- ``layers/<i>/<name>``: every parameter and buffer of layer i (``layer.get_weights()``),
  BatchNorm's running statistics included; a `Residual` block's under its inner keys
  (``layers/3/0.W``), its inner layers described inside its config like the model's own;
- ``optimizer/<key>/<slot>``: the optimizer's state arrays, e.g. ``optimizer/0.W/velocity``.
  Whole numbers in that state, such as Adam's step count ``t``, are in the JSON;
- ``classes_``: the labels of the output units, a plain integer or unicode array.

Weights, optimizer state and generator state together make a loaded model continue training
exactly as the original would have.

Built-in classes are found by name in deeplearner/registry.py, where defining a layer,
optimizer or loss class puts it, so a new layer needs no entry here. Any other class (your own
layer, optimizer or loss) must return its constructor arguments from ``get_config()``, and you
hand the class to the loader: ``load_model(path, custom_objects={"MyLayer": MyLayer})``, as in
Keras. A layer's arrays are
saved only from ``self.params`` and ``self.buffers``: a seed-style layer that keeps its weights in
plain attributes is refused, rather than saved without them.
"""

import inspect
import json
import numbers
import os

import numpy as np

from ..layers import compat
from ..layers.residual import all_layers
from ..registry import built_in
from .atomic import write_atomically
from .file_checks import DAMAGED, check_array, check_classes, check_history, optimizer_slots, typed

FORMAT, FORMAT_VERSION = "deeplearner.Sequential", 1
HEADER = "deeplearner_model"   # the JSON entry; a file without it is not a deeplearner model


def save_model(model, path):
    """Write ``model`` to the file ``path``, used as given (``.npz`` is the usual suffix).

    The bytes go to a temporary file in the same directory, which is then renamed to ``path``
    with ``os.replace`` (atomic): a crash or Ctrl-C while saving leaves the old file or the
    new one, never half a file.
    """
    _check_path(path, "save_model")
    arrays, layers = {}, []
    for i, layer in enumerate(model.layers):
        where = f"layer {i} ({type(layer).__name__})"
        entry = _describe(layer, where)
        if not callable(getattr(layer, "get_weights", None)):   # a seed-style layer not derived from Layer
            raise ValueError(f"save_model: {where} has no get_weights(), so its weights cannot be saved. "
                             f"Derive it from deeplearner.Layer and keep its arrays in self.params "
                             f"(trained) and self.buffers (not trained).")
        for inner in all_layers([layer]):   # a block's layers too
            _refuse_unsaved_arrays(inner, where if inner is layer else f"{where}, its {compat.layer_name(inner)}")
        weights = layer.get_weights()
        entry["weights"] = list(weights)
        arrays.update({f"layers/{i}/{name}": value for name, value in weights.items()})
        if hasattr(layer, "trainable"):
            entry["trainable"] = bool(layer.trainable)
        layers.append(entry)

    optimizer = _describe(model.optimizer, "the optimizer")
    optimizer["state"] = {}
    for key, slots in getattr(model.optimizer, "state", {}).items():
        entry = optimizer["state"][key] = {"arrays": [], "scalars": {}}
        for slot, value in slots.items():
            if isinstance(value, np.ndarray):
                arrays[f"optimizer/{key}/{slot}"] = value
                entry["arrays"].append(slot)
            else:   # a step count: kept as a Python number, so the arithmetic stays the same
                entry["scalars"][slot] = value.item() if isinstance(value, np.generic) else value

    if model.classes_ is not None:
        classes = np.asarray(model.classes_)
        if classes.dtype.hasobject:
            raise ValueError("save_model: classes_ has dtype object, which a file loaded without pickle "
                             "cannot hold. Use integer or string labels, e.g. y.astype(str), when you fit.")
        arrays["classes_"] = classes

    seed = model.seed
    header = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "input_shape": list(model.input_shape), "dtype": model.dtype.name,
        # Only an int seed is kept; the generator's exact state below is what continues training.
        "seed": int(seed) if isinstance(seed, numbers.Integral) else None,
        "layers": layers, "optimizer": optimizer, "loss": _describe(model.loss, "the loss"),
        "history": None if model.history_ is None else
                   {key: [float(value) for value in values] for key, values in model.history_.items()},
        "rng_state": model.rng.bit_generator.state,
    }
    try:
        arrays[HEADER] = np.array(json.dumps(header))
    except TypeError as error:   # a get_config() or the optimizer state returned something JSON cannot hold
        raise ValueError(f"save_model: the model's description cannot be written as JSON ({error}). "
                         f"get_config() must return plain numbers, strings, lists and dicts.") from None
    write_atomically(path, lambda file: np.savez(file, allow_pickle=False, **arrays), "save_model")


def load_model(path, custom_objects=None):
    """Read a model written by ``save_model`` (or ``model.save``) and return it, ready to use.

    Parameters
    ----------
    path : str or path-like
    custom_objects : dict of str -> class, optional
        The classes of your own layers, optimizer or loss, by class name.

    Raises
    ------
    FileNotFoundError
        No file at ``path``; IsADirectoryError when ``path`` is a directory.
    ValueError
        The file is not a deeplearner model, is damaged or truncated, or needs a class that is
        neither built in nor in ``custom_objects``. Every array is checked against the model the
        file describes (shape, dtype, finite values) before the model is returned, so a loaded
        model is ready to predict and to train.
    """
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(f"load_model: custom_objects must be a dict from class name to class, e.g. "
                        f"{{'MyLayer': MyLayer}}, received {custom_objects!r}.")
    custom_objects = custom_objects or {}
    _check_path(path, "load_model")
    header, arrays = _read(path)
    try:
        return _rebuild(header, arrays, custom_objects, path)
    # A hand-edited or inconsistent description (a missing key, a wrong type, a weight of the wrong
    # shape) surfaces as any of these; a class's own constructor errors are reported the same way.
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:
        message = f"entry {error} is missing" if isinstance(error, KeyError) else str(error)
        raise ValueError(f"load_model: cannot rebuild the model saved in {str(path)!r}: {message}") from error


def _check_path(path, who):
    # os.path would take an int as a file descriptor, and fail on None with a message about stat().
    if not isinstance(path, (str, os.PathLike)):
        example = "model.save('model.npz')" if who == "save_model" else "load_model('model.npz')"
        raise TypeError(f"{who}: path must be a str or os.PathLike, received {path!r}. Example: {example}.")


def _refuse_unsaved_arrays(layer, where):
    """A seed-style layer (no self.params) whose weights are plain attributes: refuse to save it.

    get_weights() sees only params and buffers, so such a layer would be saved without its
    weights and the loaded model would predict differently.
    """
    attributes = compat.plain_arrays(layer)
    if attributes:
        raise ValueError(
            f"save_model: {where} keeps arrays in plain attributes {attributes} and has no self.params, so "
            f"the file would hold none of them and the loaded model would predict differently. Keep trained "
            f"arrays in self.params (and state that is not trained, such as running statistics, in "
            f"self.buffers) so they can be saved: call super().__init__() in __init__ and create the arrays "
            f"in build(input_shape, rng, dtype). Arrays that only cache a batch (self.X) may stay attributes.")


def _describe(obj, where):
    """``{"class", "custom", "config"}``: what the loader needs to construct ``obj`` again."""
    cls = type(obj)
    # Which class wrote __init__, and which wrote get_config? A get_config inherited from a class
    # above the one that defines __init__ describes another constructor's arguments.
    init_owner = next(k for k in cls.__mro__ if "__init__" in vars(k))
    config_owner = next((k for k in cls.__mro__ if "get_config" in vars(k)), None)
    if config_owner is not None and issubclass(config_owner, init_owner):
        try:
            config = obj.get_config()
        except ValueError as error:   # e.g. an Activation holding a function object
            raise ValueError(f"save_model: {where}: {error}") from None
    elif init_owner is object or len(inspect.signature(init_owner.__init__).parameters) == 1:
        config = {}   # __init__(self) takes no arguments: nothing to describe
    else:
        raise ValueError(f"save_model: {where} is a {cls.__name__}, whose __init__ takes arguments, but it "
                         f"does not define get_config(). Add a method get_config(self) that returns those "
                         f"arguments as a dict, e.g. {{'units': self.units}}, and load the file with "
                         f"load_model(path, custom_objects={{'{cls.__name__}': {cls.__name__}}}).")
    return {"class": cls.__name__, "custom": built_in(cls.__name__) is not cls, "config": config}


def _construct(entry, custom_objects, where):
    """Call the class named in ``entry`` with its saved constructor arguments."""
    name = entry["class"]
    cls = custom_objects.get(name) or (None if entry["custom"] else built_in(name))
    if cls is None:
        raise ValueError(f"{where} is a {name}, which is not built into deeplearner. Pass its class: "
                         f"load_model(path, custom_objects={{'{name}': {name}}}).")
    config = {key: [_construct(item, custom_objects, f"{where} ({name}), its {key}[{j}]")
                    for j, item in enumerate(value)] if _describes_layers(value) else value
              for key, value in entry["config"].items()}
    return cls(**config)


def _describes_layers(value):
    """A block's ``layers`` or ``shortcut`` in its config: a list of entries like the model's own layers'."""
    return (isinstance(value, list) and bool(value)
            and all(isinstance(item, dict) and set(item) == {"class", "custom", "config"} for item in value))


def _rebuild(header, arrays, custom_objects, path):
    from ..model.sequential import Sequential   # here, not above: the model imports this module to save
    layers = []
    for i, entry in enumerate(header["layers"]):
        layers.append(_construct(entry, custom_objects, f"layer {i}"))
    optimizer = _construct(header["optimizer"], custom_objects, "the optimizer")
    loss = _construct(header["loss"], custom_objects, "the loss")
    # Files from before images hold "input_dim", an int.
    input_shape = header["input_shape"] if "input_shape" in header else header["input_dim"]
    model = Sequential(layers, optimizer, loss, input_shape=input_shape, seed=header["seed"],
                                   dtype=np.dtype(header["dtype"]))

    # Building drew fresh weights from the generator; now overwrite them and the generator state.
    # Every array is checked against what the built model holds before it goes in: a damaged
    # one must be refused here, not surface as a NumPy broadcast error in the next fit.
    parameters = {}
    for i, (layer, entry) in enumerate(zip(model.layers, header["layers"])):
        own = {**compat.params_of(layer), **compat.buffers_of(layer)}
        if sorted(entry["weights"]) != sorted(own):
            raise ValueError(f"layer {i} ({compat.layer_name(layer)}) holds the arrays {sorted(own)}, but the "
                             f"file has {sorted(entry['weights'])}{DAMAGED}")
        if own:
            layer.set_weights({name: check_array(arrays, f"layers/{i}/{name}", array.shape, model.dtype)
                               for name, array in own.items()})
        if "trainable" in entry:
            layer.trainable = typed(entry["trainable"], bool, f"layer {i}'s 'trainable'")
        parameters.update({f"{i}.{name}": array for name, array in compat.params_of(layer).items()})
    optimizer.state = {key: optimizer_slots(key, slots, parameters, arrays, model.dtype)
                       for key, slots in typed(header["optimizer"]["state"], dict, "the optimizer state").items()}
    model.rng.bit_generator.state = header["rng_state"]
    model.classes_ = check_classes(arrays["classes_"], model.n_outputs) if "classes_" in arrays else None
    model.history_ = check_history(header["history"])
    return model


def _read(path):
    """Return (header dict, {name: array}) from the file at ``path``, or raise a clear error."""
    shown = repr(str(path))
    if os.path.isdir(path):
        inside = sorted(name for name in os.listdir(path) if name.endswith(".npz"))
        hint = f" (it holds {', '.join(inside[:3])}{', ...' if len(inside) > 3 else ''})" if inside else ""
        raise IsADirectoryError(f"load_model: {shown} is a directory, not a model file: pass the path of the "
                                f".npz file inside it{hint}.")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_model: there is no file {shown} (the working directory is "
                                f"{os.getcwd()!r}). Check the path; model.save(path) writes such a file.")
    with open(path, "rb") as file:
        # The zip and .npy readers report damaged bytes with many exception types (BadZipFile,
        # ValueError, EOFError, NotImplementedError, tokenize.TokenError, ...): all mean the same here.
        if file.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):
            raise ValueError(f"load_model: {shown} is not a deeplearner model: it is not an .npz "
                             f"archive (it does not start with the zip signature).")
        file.seek(0)
        try:
            with np.load(file, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except Exception as error:
            raise ValueError(f"load_model: {shown} is damaged or truncated and cannot be read ({error}). "
                             f"Save the model again.") from None
    if HEADER not in arrays:
        raise ValueError(f"load_model: {shown} is an .npz archive but not a deeplearner model: it has no "
                         f"{HEADER!r} entry (it holds {sorted(arrays)[:5]}). Read it with np.load, or "
                         f"write models with model.save(path).")
    try:
        header = json.loads(arrays[HEADER].item())
    except (ValueError, TypeError) as error:
        raise ValueError(f"load_model: {shown} has a damaged {HEADER!r} entry, not valid JSON ({error}). "
                         f"Save the model again.") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"load_model: {shown} has a {HEADER!r} entry, but it does not describe a "
                         f"{FORMAT} model. Write models with model.save(path).")
    if header.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"load_model: {shown} uses format version {header.get('format_version')!r}; this "
                         f"deeplearner reads version {FORMAT_VERSION}. Load it with the deeplearner that "
                         f"saved it.")
    return header, arrays

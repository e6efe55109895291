"""model.save / load_model: round trips for every layer and optimizer, continued training, bad files."""

import os
import re
import struct
import zipfile

import numpy as np
import pytest

from deeplearner import (SGD, Activation, Adam, BatchNorm, CrossEntropyForSoftMax, Dense, Dropout, Layer,
                         MeanSquaredError, RMSprop, Sequential, load_model)
from deeplearner.layers.activations import LeakyReLU
from helpers import SelfTrainingScale

ACTIVATIONS = ["relu", "leaky_relu", "sigmoid", "tanh", "softmax"]


def data(n=40, n_features=4, labels=(0, 1, 2), seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    y = np.asarray(labels)[np.arange(n) % len(labels)]   # every label present
    return X, y


def classifier(hidden, optimizer=None, n_out=3, dtype=np.float64, seed=0):
    layers = [Dense(6), *hidden, Dense(n_out), Activation("softmax")]
    return Sequential(layers, optimizer or SGD(learning_rate=0.1), CrossEntropyForSoftMax(),
                      input_shape=4, seed=seed, dtype=dtype)


def round_trip(model, tmp_path, name="model.npz", **kwargs):
    path = tmp_path / name
    model.save(path)
    return load_model(path, **kwargs)


def assert_same_weights(a, b):
    weights_a, weights_b = a.get_weights(), b.get_weights()
    assert [sorted(w) for w in weights_a] == [sorted(w) for w in weights_b]
    for layer_a, layer_b in zip(weights_a, weights_b):
        for key in layer_a:
            assert layer_a[key].dtype == layer_b[key].dtype
            np.testing.assert_array_equal(layer_a[key], layer_b[key])


def assert_same_architecture(a, b):
    assert [type(layer) for layer in a.layers] == [type(layer) for layer in b.layers]
    assert [layer.get_config() for layer in a.layers] == [layer.get_config() for layer in b.layers]
    assert type(a.optimizer) is type(b.optimizer) and a.optimizer.get_config() == b.optimizer.get_config()
    assert type(a.loss) is type(b.loss)
    assert (a.input_dim, a.dtype, a.seed) == (b.input_dim, b.dtype, b.seed)


# ---------------------------------------------------------------- every layer type
LAYER_CASES = {
    "dense glorot_uniform": lambda: [Dense(5, init="glorot_uniform")],
    "dense he_normal": lambda: [Dense(5, init="he_normal")],
    **{f"activation {name}": (lambda name=name: [Activation(name)]) for name in ACTIVATIONS},
    "dropout": lambda: [Dropout(0.3)],
    "batchnorm": lambda: [BatchNorm(momentum=0.8, eps=1e-3)],
    "all together": lambda: [BatchNorm(), Activation("tanh"), Dropout(0.2), Dense(5, init="he_normal")],
}


@pytest.mark.parametrize("case", LAYER_CASES)
def test_round_trip_keeps_every_layer_and_predicts_exactly_the_same(case, tmp_path):
    model = classifier(LAYER_CASES[case]())
    X, y = data()
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    loaded = round_trip(model, tmp_path)
    assert_same_architecture(model, loaded)
    assert_same_weights(model, loaded)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.evaluate(X, y) == model.evaluate(X, y)


def test_batchnorm_running_statistics_are_restored(tmp_path):
    model = classifier([BatchNorm()])
    X, y = data()
    model.fit(X + 3.0, y, epochs=2, batch_size=8, verbose=0)
    trained = model.layers[1]
    # Training moved the statistics away from their start (0 and 1), so restoring them is visible.
    assert np.all(trained.running_mean != 0) and np.all(trained.running_var != 1)
    restored = round_trip(model, tmp_path).layers[1]
    np.testing.assert_array_equal(restored.running_mean, trained.running_mean)
    np.testing.assert_array_equal(restored.running_var, trained.running_var)


def test_layer_configs_are_the_constructor_arguments():
    assert Dense(7, init="he_normal").get_config() == {"units": 7, "init": "he_normal"}
    assert Activation("tanh").get_config() == {"fn": "tanh"}
    assert Dropout(0.25).get_config() == {"rate": 0.25}
    assert BatchNorm(momentum=0.5, eps=1e-3).get_config() == {"momentum": 0.5, "eps": 1e-3}
    assert Layer().get_config() == {}


# ---------------------------------------------------------------- optimizers and their state
OPTIMIZERS = {
    "sgd": lambda: SGD(learning_rate=0.05),
    "momentum": lambda: SGD(learning_rate=0.05, momentum=0.8),
    "nesterov": lambda: SGD(learning_rate=0.05, momentum=0.7, nesterov=True),
    "adam": lambda: Adam(learning_rate=0.02, beta_1=0.8, beta_2=0.99, eps=1e-7),
    "rmsprop": lambda: RMSprop(learning_rate=0.02, rho=0.8, eps=1e-7),
}


def test_optimizer_configs_are_the_constructor_arguments():
    assert OPTIMIZERS["nesterov"]().get_config() == {"learning_rate": 0.05, "momentum": 0.7, "nesterov": True}
    assert OPTIMIZERS["adam"]().get_config() == {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.99,
                                                 "eps": 1e-7}
    assert OPTIMIZERS["rmsprop"]().get_config() == {"learning_rate": 0.02, "rho": 0.8, "eps": 1e-7}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_hyperparameters_and_state_are_restored(name, tmp_path):
    model = classifier([BatchNorm(), Activation("relu")], OPTIMIZERS[name]())
    X, y = data()
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    loaded = round_trip(model, tmp_path)
    assert type(loaded.optimizer) is type(model.optimizer)
    assert vars(loaded.optimizer).keys() == vars(model.optimizer).keys()
    for attribute in ("learning_rate", "momentum", "nesterov", "beta_1", "beta_2", "eps", "rho"):
        assert getattr(loaded.optimizer, attribute, None) == getattr(model.optimizer, attribute, None)
    state, loaded_state = model.optimizer.state, loaded.optimizer.state
    assert sorted(loaded_state) == sorted(state)
    for key, slots in state.items():
        assert sorted(loaded_state[key]) == sorted(slots)
        for slot, value in slots.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(loaded_state[key][slot], value)
                assert loaded_state[key][slot] is not value
            else:
                assert type(loaded_state[key][slot]) is type(value) and loaded_state[key][slot] == value


def test_adam_step_count_is_restored(tmp_path):
    model = classifier([], Adam(learning_rate=0.01))
    X, y = data(n=40)
    model.fit(X, y, epochs=3, batch_size=10, verbose=0)          # 4 batches per epoch: 12 steps
    assert round_trip(model, tmp_path).optimizer.state["0.W"]["t"] == 12


def continue_both(a, b, X, y, X_valid, y_valid):
    history_a = a.fit(X, y, X_valid, y_valid, epochs=2, batch_size=8, verbose=0)
    history_b = b.fit(X, y, X_valid, y_valid, epochs=2, batch_size=8, verbose=0)
    return history_a, history_b


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_loaded_model_continues_training_bit_identically(name, tmp_path):
    """Train A 3 epochs, save, load as B; 2 more epochs each give identical weights and history.

    Dropout masks and shuffling come from the model's generator, so this needs its state too.
    """
    X, y = data(n=50)
    X_valid, y_valid = data(n=20, seed=1)
    a = classifier([BatchNorm(), Activation("relu"), Dropout(0.3)], OPTIMIZERS[name]())
    a.fit(X, y, X_valid, y_valid, epochs=3, batch_size=8, verbose=0)
    b = round_trip(a, tmp_path)
    history_a, history_b = continue_both(a, b, X, y, X_valid, y_valid)
    assert_same_weights(a, b)
    assert history_a == history_b
    np.testing.assert_array_equal(b.predict_proba(X_valid), a.predict_proba(X_valid))


def test_continued_training_check_can_fail_without_the_generator_state(tmp_path):
    """Control for the test above: the same load with one extra draw from the generator differs."""
    X, y = data(n=50)
    X_valid, y_valid = data(n=20, seed=1)
    a = classifier([Dropout(0.3)], Adam(learning_rate=0.01))
    a.fit(X, y, epochs=3, batch_size=8, verbose=0)
    b = round_trip(a, tmp_path)
    b.rng.random()
    continue_both(a, b, X, y, X_valid, y_valid)
    assert any(not np.array_equal(wa[key], wb[key])
               for wa, wb in zip(a.get_weights(), b.get_weights()) for key in wa)


# ---------------------------------------------------------------- dtype, classes_, history_, seed
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype, tmp_path):
    model = classifier([BatchNorm(), Activation("relu")], Adam(learning_rate=0.01), dtype=dtype)
    X, y = data()
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    loaded = round_trip(model, tmp_path)
    assert loaded.dtype == np.dtype(dtype)
    assert all(array.dtype == np.dtype(dtype) for weights in loaded.get_weights() for array in weights.values())
    assert loaded.optimizer.state["0.W"]["m"].dtype == np.dtype(dtype)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("labels", [np.arange(1, 11), np.array(["cat", "dog", "emu"])], ids=["1..10", "strings"])
def test_classes_are_kept(labels, tmp_path):
    model = classifier([], n_out=len(labels))
    X, y = data(n=60, labels=labels)
    model.fit(X, y, epochs=2, batch_size=10, verbose=0)
    loaded = round_trip(model, tmp_path)
    assert loaded.classes_.dtype == model.classes_.dtype
    np.testing.assert_array_equal(loaded.classes_, labels)
    predictions = loaded.predict(X)
    assert set(predictions) <= set(labels)
    np.testing.assert_array_equal(predictions, model.predict(X))
    assert loaded.evaluate(X, y) == model.evaluate(X, y)


def test_history_and_seed_are_kept(tmp_path):
    model = classifier([], seed=1234)
    X, y = data()
    history = model.fit(X, y, *data(n=12, seed=2), epochs=3, batch_size=8, verbose=0)
    loaded = round_trip(model, tmp_path)
    assert loaded.history_ == history and len(loaded.history_["val_loss"]) == 3
    assert loaded.seed == 1234


def test_regression_model_round_trip(tmp_path):
    """MSE, one output, no classes_; its history holds NaN accuracies."""
    model = Sequential([Dense(5), Activation("tanh"), Dense(1)], SGD(learning_rate=0.05), MeanSquaredError(),
                       input_shape=4, seed=0)
    X, _ = data()
    y = X @ [1.0, -2.0, 0.5, 0.0]
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    loaded = round_trip(model, tmp_path)
    assert loaded.classes_ is None
    assert np.isnan(loaded.history_["accuracy"]).all()
    np.testing.assert_equal(loaded.history_, model.history_)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_untrained_model_round_trip(tmp_path):
    model = classifier([BatchNorm()])
    loaded = round_trip(model, tmp_path)
    assert loaded.classes_ is None and loaded.history_ is None
    assert_same_weights(model, loaded)
    X, y = data()
    loaded.fit(X, y, epochs=1, verbose=0)    # and it can train
    assert len(loaded.history_["loss"]) == 1


def test_frozen_layer_stays_frozen(tmp_path):
    model = classifier([])
    model.layers[0].trainable = False
    assert round_trip(model, tmp_path).layers[0].trainable is False


# ---------------------------------------------------------------- the file itself
def test_file_is_plain_npz_with_a_json_header(tmp_path):
    model = classifier([BatchNorm()], Adam())
    X, y = data()
    model.fit(X, y, epochs=1, verbose=0)
    model.save(tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz", allow_pickle=False) as archive:
        assert archive["deeplearner_model"].shape == () and archive["deeplearner_model"].dtype.kind == "U"
        assert not any(archive[name].dtype.hasobject for name in archive.files)
        np.testing.assert_array_equal(archive["layers/1/running_mean"], model.layers[1].running_mean)
        np.testing.assert_array_equal(archive["optimizer/0.W/m"], model.optimizer.state["0.W"]["m"])


def test_path_is_used_as_given(tmp_path):
    model = classifier([])
    model.save(str(tmp_path / "weights.bin"))
    assert os.listdir(tmp_path) == ["weights.bin"]        # np.savez alone would append .npz
    assert isinstance(load_model(str(tmp_path / "weights.bin")), Sequential)


def test_saving_again_replaces_the_file_and_leaves_nothing_else(tmp_path):
    model = classifier([])
    model.save(tmp_path / "model.npz")
    X, y = data()
    model.fit(X, y, epochs=1, verbose=0)
    model.save(tmp_path / "model.npz")
    assert os.listdir(tmp_path) == ["model.npz"]
    assert load_model(tmp_path / "model.npz").classes_ is not None


@pytest.mark.parametrize("failure", [OSError("No space left on device"), KeyboardInterrupt()],
                         ids=["disk full", "ctrl-c"])
def test_a_crash_while_saving_keeps_the_old_file_intact(failure, tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    model = classifier([])
    model.save(path)
    before = path.read_bytes()

    def half_written_savez(file, *args, **kwargs):
        file.write(before[: len(before) // 2])    # some bytes reach the disk, then the failure
        raise failure

    monkeypatch.setattr(np, "savez", half_written_savez)
    X, y = data()
    model.fit(X, y, epochs=1, verbose=0)
    with pytest.raises(type(failure)):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]          # no temporary file left behind


def test_saving_into_a_missing_directory_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"directory .*no_such_dir.* does not exist.*os\.makedirs"):
        classifier([]).save(tmp_path / "no_such_dir" / "model.npz")


# ---------------------------------------------------------------- bad files
def test_missing_file_raises_file_not_found_naming_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no file .*nothing_here\.npz"):
        load_model(tmp_path / "nothing_here.npz")


def test_random_bytes_are_not_a_model(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).bytes(1000))
    with pytest.raises(ValueError, match=r"noise\.npz.* is not a deeplearner model: it is not an \.npz archive"):
        load_model(path)


def test_a_single_npy_array_is_not_a_model(tmp_path):
    np.save(tmp_path / "array.npy", np.ones(3))
    with pytest.raises(ValueError, match=r"array\.npy.* not an \.npz archive"):
        load_model(tmp_path / "array.npy")


def test_npz_without_the_marker_is_not_a_model(tmp_path):
    np.savez(tmp_path / "other.npz", W=np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"other\.npz.* not a deeplearner model: it has no 'deeplearner_model'"):
        load_model(tmp_path / "other.npz")


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file_is_reported(fraction, tmp_path):
    path = tmp_path / "model.npz"
    classifier([BatchNorm()]).save(path)
    content = path.read_bytes()
    path.write_bytes(content[: int(len(content) * fraction)])
    with pytest.raises(ValueError, match=r"model\.npz.* (damaged or truncated|not an \.npz archive)"):
        load_model(path)


def test_damaged_bytes_are_reported(tmp_path):
    """Flip each byte of the last 6 weights of W in turn: the zip checksum must notice."""
    path = tmp_path / "model.npz"
    model = classifier([])
    model.save(path)
    content = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("layers/0/W.npy")
    # A zip entry's local header is 30 bytes, then the name and the extra field, then the data.
    name_length, extra_length = struct.unpack("<HH", content[info.header_offset + 26: info.header_offset + 30])
    data_end = info.header_offset + 30 + name_length + extra_length + info.file_size
    assert content[data_end - 48: data_end] == model.layers[0].params["W"].tobytes()[-48:]
    for offset in range(data_end - 48, data_end):
        damaged = bytearray(content)
        damaged[offset] ^= 0xFF
        path.write_bytes(bytes(damaged))
        with pytest.raises(ValueError, match=r"damaged or truncated"):
            load_model(path)


def rewrite_header(path, change):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["deeplearner_model"] = np.array(change(str(arrays["deeplearner_model"])))
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def test_newer_format_version_is_refused(tmp_path):
    path = tmp_path / "model.npz"
    classifier([]).save(path)
    rewrite_header(path, lambda text: text.replace('"format_version": 1', '"format_version": 99'))
    with pytest.raises(ValueError, match=r"format version 99; this deeplearner reads version 1"):
        load_model(path)


def test_damaged_json_is_reported(tmp_path):
    path = tmp_path / "model.npz"
    classifier([]).save(path)
    rewrite_header(path, lambda text: text[:-10])
    with pytest.raises(ValueError, match=r"damaged 'deeplearner_model' entry, not valid JSON"):
        load_model(path)


def test_missing_weight_is_reported(tmp_path):
    path = tmp_path / "model.npz"
    classifier([]).save(path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files if name != "layers/0/b"}
    with open(path, "wb") as file:
        np.savez(file, **arrays)
    with pytest.raises(ValueError, match=r"cannot rebuild the model .*entry 'layers/0/b' is missing"):
        load_model(path)


CODE_RAN = []


def _record(message):
    CODE_RAN.append(message)


class RunsCodeWhenUnpickled:
    def __reduce__(self):
        return (_record, ("unpickled",))


def test_loading_never_runs_code_from_the_file(tmp_path):
    """A pickled object hidden in the archive must not be unpickled (allow_pickle=False)."""
    path = tmp_path / "model.npz"
    classifier([]).save(path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["layers/0/W"] = np.array([RunsCodeWhenUnpickled()], dtype=object)
    with open(path, "wb") as file:
        np.savez(file, allow_pickle=True, **arrays)
    np.load(path, allow_pickle=True)["layers/0/W"]            # the trap works ...
    assert CODE_RAN == ["unpickled"]
    CODE_RAN.clear()
    with pytest.raises(ValueError, match=r"damaged or truncated"):
        load_model(path)
    assert CODE_RAN == []                                     # ... but load_model never springs it


# ---------------------------------------------------------------- what cannot be saved, and custom classes
class Scale(Layer):
    """Y = factor * X; a user's layer with a constructor argument and a get_config."""

    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def get_config(self):
        return {"factor": self.factor}

    def forward(self, X, training=True):
        return self.factor * X

    def backward(self, dY):
        return self.factor * dY


class ScaleWithoutConfig(Scale):
    def __init__(self, factor):
        super().__init__(factor)


class SeedStyleLayer:
    """The seed notebook's style: no Layer base class, no get_weights."""

    def forward(self, X, training=True):
        return X

    def backward(self, dY):
        return dY

    def outputshape(self):
        return self.inputshape


def test_custom_activation_object_cannot_be_saved(tmp_path):
    model = classifier([Activation(LeakyReLU(alpha=0.3))])
    with pytest.raises(ValueError, match=r"layer 1 \(Activation\).*only the built-in functions.*"
                                         r"subclass Activation.*custom_objects="):
        model.save(tmp_path / "model.npz")
    assert os.listdir(tmp_path) == []


def test_equivalent_builtin_activation_object_is_saved_by_name(tmp_path):
    loaded = round_trip(classifier([Activation(LeakyReLU())]), tmp_path)
    assert loaded.layers[1].get_config() == {"fn": "leaky_relu"}


def test_custom_layer_needs_custom_objects_to_load(tmp_path):
    model = classifier([Scale(0.5)])
    X, y = data()
    model.fit(X, y, epochs=1, verbose=0)
    model.save(tmp_path / "model.npz")
    with pytest.raises(ValueError, match=r"layer 1 is a Scale, which is not built into deeplearner.*"
                                         r"custom_objects=\{'Scale': Scale\}"):
        load_model(tmp_path / "model.npz")
    loaded = load_model(tmp_path / "model.npz", custom_objects={"Scale": Scale})
    assert isinstance(loaded.layers[1], Scale) and loaded.layers[1].factor == 0.5
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_custom_objects_must_be_a_dict(tmp_path):
    classifier([Scale(0.5)]).save(tmp_path / "model.npz")
    with pytest.raises(TypeError, match=r"custom_objects must be a dict from class name to class, e\.g\. "
                                        r"\{'MyLayer': MyLayer\}, received \[<class"):
        load_model(tmp_path / "model.npz", custom_objects=[Scale])


def test_custom_layer_with_arguments_but_no_get_config_cannot_be_saved(tmp_path):
    model = classifier([ScaleWithoutConfig(0.5)])
    with pytest.raises(ValueError, match=r"layer 1 \(ScaleWithoutConfig\).*does not define get_config\(\)"):
        model.save(tmp_path / "model.npz")


def test_seed_style_layer_without_get_weights_cannot_be_saved(tmp_path):
    model = classifier([SeedStyleLayer()])
    with pytest.raises(ValueError, match=r"layer 1 \(SeedStyleLayer\) has no get_weights\(\).*deeplearner\.Layer"):
        model.save(tmp_path / "model.npz")


def test_seed_style_layer_with_weights_in_attributes_cannot_be_saved(tmp_path):
    """Saved silently, it would come back with fresh weights and predict differently."""
    model = classifier([SelfTrainingScale()])
    X, y = data()
    model.fit(X, y, epochs=2, verbose=0)
    with pytest.raises(ValueError, match=r"layer 1 \(SelfTrainingScale\) keeps arrays in plain attributes "
                                         r"\['X', 's'\] and has no self\.params.*predict differently\. "
                                         r"Keep trained arrays in self\.params.*self\.buffers"):
        model.save(tmp_path / "model.npz")
    assert os.listdir(tmp_path) == []


def test_seed_style_layer_without_arrays_is_still_saved(tmp_path):
    """A seed-style layer with nothing to lose (no ndarray attributes) round-trips as before."""
    class Identity(Layer):
        def __init__(self):
            pass

        def forward(self, X, training=True):
            return X

        def backward(self, dY):
            return dY

    model = classifier([Identity()])
    X, y = data()
    model.fit(X, y, epochs=1, verbose=0)
    loaded = round_trip(model, tmp_path, custom_objects={"Identity": Identity})
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("path", [None, 123, ["model.npz"]], ids=["None", "int", "list"])
def test_a_path_that_is_not_a_path_is_a_clear_type_error(path):
    with pytest.raises(TypeError, match=r"load_model: path must be a str or os\.PathLike, received "
                                        + re.escape(repr(path))):
        load_model(path)
    with pytest.raises(TypeError, match=r"save_model: path must be a str or os\.PathLike, received "
                                        + re.escape(repr(path)) + r"\. Example: model\.save\('model\.npz'\)"):
        classifier([]).save(path)


def test_custom_class_named_like_a_builtin_is_not_confused_with_it(tmp_path):
    class Dropout(Layer):   # noqa: F811  (a user's own class that happens to share the name)
        def forward(self, X, training=True):
            return X

        def backward(self, dY):
            return dY

    model = classifier([Dropout()])
    model.save(tmp_path / "model.npz")
    with pytest.raises(ValueError, match=r"layer 1 is a Dropout, which is not built into deeplearner"):
        load_model(tmp_path / "model.npz")
    assert type(load_model(tmp_path / "model.npz", custom_objects={"Dropout": Dropout}).layers[1]) is Dropout


def test_object_classes_cannot_be_saved(tmp_path):
    model = classifier([])
    model.classes_ = np.array([1, "two", 3.0], dtype=object)
    with pytest.raises(ValueError, match=r"classes_ has dtype object.*integer or string labels"):
        model.save(tmp_path / "model.npz")

"""load_model on damaged files: a clear deeplearner error, or a model as good as the one saved.

Random bytes, flipped bytes, truncations, and well-formed archives whose arrays have the wrong
shape or dtype. Every case must raise ValueError (IsADirectoryError for a directory) with a
message that starts with "load_model:", never a raw NumPy or zipfile exception, and a file that
does load must predict exactly what the saved model predicted and go on training.
"""

import io
import json
import zipfile

import numpy as np
import pytest

from deeplearner import SGD, Activation, Adam, BatchNorm, CrossEntropyForSoftMax, Dense, Sequential, load_model

REFUSED = r"^load_model: "
X = np.random.default_rng(0).normal(size=(30, 4))
y = np.array(["cat", "dog", "emu"])[np.arange(30) % 3]


def trained(optimizer):
    model = Sequential([Dense(5), BatchNorm(), Activation("relu"), Dense(3), Activation("softmax")],
                       optimizer, CrossEntropyForSoftMax(), input_shape=4, seed=0)
    model.fit(X, y, epochs=2, batch_size=10, verbose=0)      # optimizer state, moved BatchNorm statistics
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(model, bytes of its file, {name: array} inside it), an Adam model: slots m, v and the count t."""
    model = trained(Adam(learning_rate=0.01))
    path = tmp_path_factory.mktemp("saved") / "model.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return model, path.read_bytes(), arrays


def loads_as_good_as_saved(path, model):
    """A file that loads must give back the same predictions and train on without error."""
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    loaded.fit(X, y, epochs=1, batch_size=10, verbose=0)


def test_random_bytes_of_any_length(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "noise.npz"
    for length in [0, 1, 3, 4, 22, 100, 1000, 5000]:
        for start in (b"", b"PK\x03\x04", b"PK\x05\x06"):        # also noise behind a zip signature
            path.write_bytes(start + rng.bytes(length))
            with pytest.raises(ValueError, match=REFUSED):
                load_model(path)


def test_every_truncation(saved, tmp_path):
    model, content, _ = saved
    path = tmp_path / "model.npz"
    for length in range(0, len(content), max(1, len(content) // 150)):     # ~150 lengths, 0 included
        path.write_bytes(content[:length])
        with pytest.raises(ValueError, match=REFUSED):
            load_model(path)


def test_flipped_bytes_all_over_the_file(saved, tmp_path):
    """Some bytes of a zip carry nothing that matters (a timestamp): then the model must be intact."""
    model, content, _ = saved
    path = tmp_path / "model.npz"
    refused = 0
    for offset in range(0, len(content), max(1, len(content) // 200)):      # ~200 offsets
        damaged = bytearray(content)
        damaged[offset] ^= 0xFF
        path.write_bytes(bytes(damaged))
        try:
            load_model(path)
        except ValueError as error:
            assert str(error).startswith("load_model: "), (offset, error)
            refused += 1
            continue
        loads_as_good_as_saved(path, model)
    assert refused > 150               # control: the flips reached the file (about 9 in 10 are refused)


def rewritten(path, arrays, name, value):
    """Write ``arrays`` to ``path`` as a valid archive, with entry ``name`` replaced by ``value``."""
    arrays = dict(arrays)
    arrays[name] = value
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def damaged_versions(array):
    """The same entry, wrong in one way each: (what, value)."""
    yield "complex", array.astype(np.complex128)
    yield "text", array.astype(str)
    yield "int", np.round(array).astype(np.int64)
    yield "float32", array.astype(np.float32)
    yield "one short", array.reshape(-1)[:-1] if array.ndim == 1 else array[..., :-1]
    yield "one more", np.concatenate([array, array[..., :1]], axis=-1)
    yield "extra axis", array[None]
    yield "a scalar", np.array(array.reshape(-1)[0])
    if array.ndim == 2:
        yield "transposed", np.ascontiguousarray(array.T)
    yield "NaN", np.where(np.arange(array.size).reshape(array.shape) == 0, np.nan, array)
    yield "inf", np.full_like(array, np.inf)


def test_every_array_with_a_wrong_shape_or_dtype_is_refused_by_name(saved, tmp_path):
    model, _, arrays = saved
    path = tmp_path / "model.npz"
    names = [name for name in arrays if name.startswith(("layers/", "optimizer/"))]
    assert {"layers/0/W", "layers/1/running_var", "optimizer/0.W/m", "optimizer/3.b/v"} <= set(names)
    for name in names:
        for _, value in damaged_versions(arrays[name]):
            rewritten(path, arrays, name, value)
            with pytest.raises(ValueError, match=REFUSED + r".*" + name + r" .*save the model again"):
                load_model(path)


@pytest.mark.parametrize("what, value", [
    ("2-D", np.array([["cat", "dog", "emu"]])), ("complex", np.array([1j, 2j, 3j])),
    ("too many for 3 units", np.array(["a", "b", "c", "d"])), ("empty", np.array([], dtype=str)),
    ("a label twice", np.array(["cat", "cat", "emu"])), ("NaN", np.array([0.0, np.nan, 2.0])),
    ("bytes", np.array([b"cat", b"dog", b"emu"])), ("a scalar", np.array("cat")),
])
def test_damaged_classes_are_refused(saved, tmp_path, what, value):
    _, _, arrays = saved
    path = tmp_path / "model.npz"
    rewritten(path, arrays, "classes_", value)
    with pytest.raises(ValueError, match=REFUSED + r".*classes_ .*save the model again"):
        load_model(path)


def test_a_missing_optimizer_array_and_an_unknown_parameter_are_refused(saved, tmp_path):
    _, _, arrays = saved
    path = tmp_path / "model.npz"
    rewritten(path, {k: v for k, v in arrays.items() if k != "optimizer/0.W/v"}, "classes_", arrays["classes_"])
    with pytest.raises(ValueError, match=REFUSED + r".*entry 'optimizer/0\.W/v' is missing"):
        load_model(path)
    header = str(arrays["deeplearner_model"]).replace('"0.W"', '"7.W"')
    rewritten(path, {k.replace("/0.W/", "/7.W/"): v for k, v in arrays.items()}, "deeplearner_model",
              np.array(header))
    with pytest.raises(ValueError, match=REFUSED + r".*optimizer state is for a parameter '7\.W', but the model's "
                                                   r"parameters are \['0\.W', '0\.b'"):
        load_model(path)


def set_t(value):
    def edit(header):
        header["optimizer"]["state"]["0.W"]["scalars"]["t"] = value
    return edit


def set_trainable(header):
    header["layers"][0]["trainable"] = "yes"


def add_a_word_to_the_history(header):
    header["history"]["loss"].insert(0, "low")


@pytest.mark.parametrize("edit, message", [
    (set_t("6"), r"the optimizer's 't' for 0\.W is '6', not a finite number"),
    (set_t(True), r"the optimizer's 't' for 0\.W is True, not a finite number"),
    (set_t(float("nan")), r"the optimizer's 't' for 0\.W is nan, not a finite number"),
    (set_trainable, r"layer 0's 'trainable' is 'yes', not a bool"),
    (add_a_word_to_the_history, r"the history's 'loss' is \['low'"),
])
def test_damaged_numbers_in_the_description_are_refused(saved, tmp_path, edit, message):
    _, _, arrays = saved
    header = json.loads(str(arrays["deeplearner_model"]))
    edit(header)
    path = tmp_path / "model.npz"
    rewritten(path, arrays, "deeplearner_model", np.array(json.dumps(header)))
    with pytest.raises(ValueError, match=REFUSED + r".*" + message):
        load_model(path)


def test_the_untouched_archive_rewritten_loads_as_good_as_saved(saved, tmp_path):
    """Control: rewriting the archive itself (as the cases above do) damages nothing."""
    model, _, arrays = saved
    rewritten(tmp_path / "model.npz", arrays, "classes_", arrays["classes_"])
    loads_as_good_as_saved(tmp_path / "model.npz", model)


def test_a_momentum_model_is_checked_too(tmp_path):
    model = trained(SGD(learning_rate=0.1, momentum=0.9))
    model.save(tmp_path / "model.npz")
    loads_as_good_as_saved(tmp_path / "model.npz", model)
    with np.load(tmp_path / "model.npz", allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    rewritten(tmp_path / "model.npz", arrays, "optimizer/3.W/velocity", arrays["optimizer/3.W/velocity"][:-1])
    with pytest.raises(ValueError, match=REFUSED + r".*optimizer/3\.W/velocity has shape \(4, 3\), expected \(5, 3\)"):
        load_model(tmp_path / "model.npz")


def test_a_directory_is_named_as_one(tmp_path):
    (tmp_path / "run").mkdir()
    with pytest.raises(IsADirectoryError, match=r"^load_model: '.*run' is a directory, not a model file: pass the "
                                                r"path of the \.npz file inside it\.$"):
        load_model(tmp_path / "run")
    for name in ("b.npz", "a.npz", "notes.txt"):
        (tmp_path / "run" / name).write_bytes(b"")
    with pytest.raises(IsADirectoryError, match=r"inside it \(it holds a\.npz, b\.npz\)\.$"):
        load_model(tmp_path / "run")


def test_every_entry_of_the_file_carries_a_checksum(saved):
    """Why a flipped byte inside an array never loads: zipfile checks each entry's CRC-32."""
    _, content, _ = saved
    infos = zipfile.ZipFile(io.BytesIO(content)).infolist()
    assert len(infos) > 10 and all(info.CRC != 0 for info in infos)

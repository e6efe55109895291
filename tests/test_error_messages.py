"""Messages and paths that a coverage run (pytest --cov) showed no test reached.

Each error is matched on the words a user reads: what was wrong and what to do.
"""

import json
import threading

import numpy as np
import pytest
import scipy.io

from deeplearner import (SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, EarlyStopping, Layer,
                         MeanSquaredError, Sequential, gradcheck, load_model)
from deeplearner import datasets
from deeplearner.layers.base import column_sums

X = np.random.default_rng(0).normal(size=(20, 4))
y = np.arange(20) % 3


def model(**kwargs):
    return Sequential([Dense(5), Activation("tanh"), Dense(3), Activation("softmax")], SGD(learning_rate=0.1),
                      CrossEntropyForSoftMax(), input_shape=4, seed=0, **kwargs)


# ---------------------------------------------------------------- building and fitting
@pytest.mark.parametrize("build, error, message", [
    (lambda: Sequential([], SGD(), CrossEntropyForSoftMax(), input_shape=4), ValueError,
     r"^Sequential: layers is empty\. Pass a list such as \[Dense\(10\), Activation\('softmax'\)\]\.$"),
    (lambda: Sequential([Dense(3), Activation("softmax")], object(), CrossEntropyForSoftMax(), input_shape=4),
     TypeError, r"^Sequential: optimizer=<object object at .*> does not look like a deeplearner optimizer\. "
                r"Pass e\.g\. SGD\(learning_rate=0\.1\)\.$"),
    (lambda: Sequential([Dense(1), Activation("softmax")], SGD(), CrossEntropyForSoftMax(), input_shape=4),
     ValueError, r"CrossEntropyForSoftMax needs at least 2 output units, the model has 1\. Use Dense\(n_classes\)"),
])
def test_building_a_model_that_cannot_work(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_fit_names_a_bad_verbose():
    with pytest.raises(ValueError, match=r"^fit: verbose must be 0, 1 or 2, received verbose=3\.$"):
        model().fit(X, y, verbose=3)


def test_an_empty_X_of_the_wrong_width_is_called_empty():
    with pytest.raises(ValueError, match=r"^X is empty \(shape \(0, 3\)\): pass at least one sample\.$"):
        model().predict_proba(np.empty((0, 3)))


def test_labels_of_dtype_object_are_refused_with_the_conversion_to_make():
    with pytest.raises(TypeError, match=r"y must hold numbers or strings of one type, received dtype object\. "
                                        r"Convert it, e\.g\. np\.asarray\(y, dtype=str\)"):
        model().fit(X, np.array([1, "a"] * 10, dtype=object), verbose=0)


def test_target_rows_of_text_and_labels_with_fractions_are_refused():
    with pytest.raises(TypeError, match=r"y has shape \(20, 3\) but holds <U1 values: target rows must be numbers"):
        model().fit(X, np.full((20, 3), "a"), verbose=0)
    with pytest.raises(ValueError, match=r"y holds non-integer numbers such as 0\.5, but a classifier needs class "
                                         r"labels\. Pass integer or string labels, or use MeanSquaredError"):
        model().fit(X, np.where(y == 1, 0.5, y), verbose=0)


def test_set_weights_wants_one_dict_per_layer_with_the_layers_keys_and_shapes():
    m = model()
    with pytest.raises(ValueError, match=r"^set_weights expected 4 entries \(one per layer\), received 1\.$"):
        m.set_weights([{}])
    with pytest.raises(ValueError, match=r"Dense\.set_weights expected the keys \['W', 'b'\], received \['W'\]\. "
                                         r"Pass the dict that get_weights\(\) returned\."):
        m.layers[0].set_weights({"W": np.zeros((4, 5))})
    with pytest.raises(ValueError, match=r"Dense\.set_weights: 'W' must have shape \(4, 5\), received \(5, 4\)\. "
                                         r"Were the weights saved from a different architecture\?"):
        m.layers[0].set_weights({"W": np.zeros((5, 4)), "b": np.zeros(5)})


def test_a_layer_without_forward_or_backward_says_which_method_to_write():
    class Unfinished(Layer):
        pass

    with pytest.raises(NotImplementedError, match=r"Unfinished must define forward\(X, training\)"):
        Unfinished().forward(X)
    with pytest.raises(NotImplementedError, match=r"Unfinished must define backward\(dY\)"):
        Unfinished().backward(X)


def test_column_sums_refuses_images():
    with pytest.raises(ValueError, match=r"column_sums needs a 2-D array, received shape \(2, 3, 4, 4\)"):
        column_sums(np.ones((2, 3, 4, 4)))


def test_early_stopping_says_what_it_did_when_fit_is_not_silent(capsys):
    m = model()
    rng = np.random.default_rng(1)
    m.fit(X, y, rng.normal(size=(20, 4)), rng.integers(0, 3, 20), epochs=200, batch_size=5, verbose=2,
          callbacks=[EarlyStopping(patience=1)])
    assert "Early stopping at epoch" in capsys.readouterr().out


def test_fit_runs_in_a_thread_that_is_not_the_main_one():
    """Ctrl-C handling needs the main thread; elsewhere fit still trains, threads and all."""
    m, results = model(), {}
    worker = threading.Thread(target=lambda: results.update(m.fit(X, y, epochs=3, batch_size=5, verbose=0)))
    worker.start()
    worker.join()
    assert len(results["loss"]) == 3 and np.isfinite(results["loss"]).all()


# ---------------------------------------------------------------- gradcheck
def test_gradcheck_of_a_model_needs_targets_and_float64():
    with pytest.raises(ValueError, match=r"gradcheck of a model needs the targets: gradcheck\(model, X, y\)\."):
        gradcheck(model(), X)
    with pytest.raises(ValueError, match=r"gradcheck needs a float64 model: build it with dtype=np\.float64\."):
        gradcheck(model(dtype=np.float32), X, y)


# ---------------------------------------------------------------- saving and loading
def test_a_config_json_cannot_hold_is_refused_when_saving(tmp_path):
    class Odd(Layer):
        def __init__(self, factor):
            super().__init__()
            self.factor = factor

        def get_config(self):
            return {"factor": self.factor}

        def forward(self, X, training=True):
            return X

        def backward(self, dY):
            return dY

    m = Sequential([Odd(np.float32(2)), Dense(3), Activation("softmax")], SGD(), CrossEntropyForSoftMax(),
                   input_shape=4)
    with pytest.raises(ValueError, match=r"save_model: the model's description cannot be written as JSON .*"
                                         r"get_config\(\) must return plain numbers, strings, lists and dicts"):
        m.save(tmp_path / "model.npz")


def resave_with_header(path, change):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(str(arrays["deeplearner_model"]))
    arrays["deeplearner_model"] = np.array(json.dumps(change(header)))
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def test_a_file_whose_description_is_not_a_model_or_lists_other_arrays_is_refused(tmp_path):
    path = tmp_path / "model.npz"
    model().save(path)
    resave_with_header(path, lambda header: [header])
    with pytest.raises(ValueError, match=r"has a 'deeplearner_model' entry, but it does not describe a "
                                         r"deeplearner\.Sequential model"):
        load_model(path)
    model().save(path)

    def drop_b(header):
        header["layers"][0]["weights"] = ["W"]
        return header
    resave_with_header(path, drop_b)
    with pytest.raises(ValueError, match=r"layer 0 \(Dense\) holds the arrays \['W', 'b'\], but the file has "
                                         r"\['W'\]\. The file was damaged or edited after saving: save the model"):
        load_model(path)


# ---------------------------------------------------------------- the .mat reader
@pytest.mark.parametrize("contents, message", [
    ({"X": np.ones((4, 2, 2)), "y": np.ones((4, 1))}, r"X in .* must be 2-D \(one image per row\), received "
                                                       r"shape \(4, 2, 2\)\. Flatten each image into a row\."),
    ({"X": np.ones((4, 3)), "y": np.ones((2, 2))}, r"y in .* must be a vector of labels, e\.g\. of shape \(n, 1\), "
                                                   r"received shape \(2, 2\)"),
    ({"X": np.ones((4, 3)), "y": np.ones((3, 1))}, r"X and y in .* have different lengths: X has 4 rows \(shape "
                                                   r"\(4, 3\)\) but y has 3 labels .*exactly one label"),
    ({"X": np.ones((4, 3)), "y": np.array([[1.0], [2.5], [3.0], [4.0]])},
     r"y in .* must hold whole-number labels 1\.\.10, received dtype float64 with values such as "
     r"\[1\.0, 2\.5, 3\.0, 4\.0\]"),
])
def test_a_mat_file_whose_arrays_do_not_fit_together(tmp_path, contents, message):
    path = tmp_path / "digits.mat"
    scipy.io.savemat(path, contents)
    with pytest.raises(ValueError, match=r"^load_handwritten: " + message):
        datasets.load_handwritten(path)


def test_a_missing_bundled_file_says_to_reinstall(monkeypatch, tmp_path):
    monkeypatch.setattr(datasets, "MNIST20_FILE", tmp_path / "gone.npz")
    with pytest.raises(FileNotFoundError, match=r"load_mnist20: the bundled digits file is missing from .*gone\.npz"
                                                r".* Reinstall"):
        datasets.load_mnist20()


def test_regression_models_evaluate_to_nan_accuracy():
    m = Sequential([Dense(2)], SGD(), MeanSquaredError(), input_shape=4, seed=0)
    loss, accuracy = m.evaluate(X, np.zeros((20, 2)))
    assert loss == pytest.approx(np.mean(m.predict_proba(X) ** 2)) and np.isnan(accuracy)


def test_batchnorm_refuses_an_input_that_is_neither_rows_nor_images():
    from deeplearner.layers.base import ShapeError
    with pytest.raises(ShapeError, match=r"BatchNorm takes rows \(an int width\) or images \(channels, height, "
                                         r"width\), received \(3, 4\)"):
        BatchNorm().build((3, 4), np.random.default_rng(0), np.float64)


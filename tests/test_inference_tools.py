"""recompute_batchnorm_statistics and fold_batchnorm (deeplearner/inference/)."""

import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from helpers import SelfTrainingScale

from deeplearner import (SGD, Activation, BatchNorm, Conv2D, CrossEntropyForSoftMax, Dense, Dropout, Flatten,
                         GroupNorm, Layer, MaxPool2D, MeanSquaredError, Sequential, fold_batchnorm, load_model,
                         recompute_batchnorm_statistics, to_onnx)
from deeplearner.inference.folding import _folded

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def rows(n=60, width=5, seed=0):
    """Features with very different means and scales."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, width)) * np.arange(1, width + 1) + 10 * np.arange(width)


def first_layer_batchnorm(input_shape=5, dtype=np.float64):
    return Sequential([BatchNorm(momentum=0.99), Flatten(), Dense(3), Activation("softmax")], SGD(),
                      CrossEntropyForSoftMax(), input_shape=input_shape, seed=0, dtype=dtype)


def everything_but_statistics(model):
    return [{key: value.copy() for key, value in layer.params.items()} for layer in model.layers]


# ---------------------------------------------------------------- recompute_batchnorm_statistics
def test_one_batch_of_all_rows_gives_the_datas_own_mean_and_variance():
    X = rows()
    model = first_layer_batchnorm()
    assert recompute_batchnorm_statistics(model, X, batch_size=len(X)) is model
    norm = model.layers[0]
    np.testing.assert_allclose(norm.running_mean, X.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(norm.running_var, X.var(axis=0), rtol=1e-13)     # biased, as BatchNorm stores it


def test_images_give_each_channels_mean_and_variance_over_batch_height_and_width():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(12, 3, 4, 5)) * np.array([1, 5, 0.1])[:, None, None] + np.array([-3, 0, 7])[:, None, None]
    model = first_layer_batchnorm((3, 4, 5))
    recompute_batchnorm_statistics(model, X, batch_size=12)
    np.testing.assert_allclose(model.layers[0].running_mean, X.mean(axis=(0, 2, 3)), rtol=1e-13)
    np.testing.assert_allclose(model.layers[0].running_var, X.var(axis=(0, 2, 3)), rtol=1e-13)


def test_equal_batches_give_the_mean_of_the_batch_statistics_not_a_moving_average():
    X = rows(n=40)
    model = first_layer_batchnorm()
    recompute_batchnorm_statistics(model, X, batch_size=10, shuffle=False)
    batches = X.reshape(4, 10, 5)                                    # in X's order
    norm = model.layers[0]
    np.testing.assert_allclose(norm.running_mean, batches.mean(axis=1).mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(norm.running_var, batches.var(axis=1).mean(axis=0), rtol=1e-13)
    assert np.all(norm.running_var < X.var(axis=0))                  # within-batch variance: a little less


def test_a_smaller_last_batch_counts_in_proportion_to_its_rows():
    X = rows(n=25)
    model = first_layer_batchnorm()
    recompute_batchnorm_statistics(model, X, batch_size=10, shuffle=False)    # batches of 10, 10, 5
    parts = [X[:10], X[10:20], X[20:]]
    np.testing.assert_allclose(model.layers[0].running_mean, X.mean(axis=0), rtol=1e-13)
    expected_var = sum(len(part) * part.var(axis=0) for part in parts) / 25
    np.testing.assert_allclose(model.layers[0].running_var, expected_var, rtol=1e-13)


def test_a_last_batch_of_one_row_joins_the_one_before():
    X = rows(n=21)
    model = first_layer_batchnorm()
    recompute_batchnorm_statistics(model, X, batch_size=10, shuffle=False)    # batches of 10 and 11
    expected_var = (10 * X[:10].var(axis=0) + 11 * X[10:].var(axis=0)) / 21
    np.testing.assert_allclose(model.layers[0].running_var, expected_var, rtol=1e-13)


def test_shuffling_is_seeded_and_leaves_the_models_generator_alone():
    X = np.sort(rows(n=40), axis=0)                                  # sorted: batches in order are unlike the data
    runs = []
    for seed in (0, 0, 1):
        model = first_layer_batchnorm()
        state = model.rng.bit_generator.state
        recompute_batchnorm_statistics(model, X, batch_size=10, seed=seed)
        assert model.rng.bit_generator.state == state
        runs.append(model.layers[0].running_var.copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.allclose(runs[0], runs[2])
    in_order = first_layer_batchnorm()
    recompute_batchnorm_statistics(in_order, X, batch_size=10, shuffle=False)
    assert np.all(runs[0] > 3 * in_order.layers[0].running_var)     # shuffled batches see the whole spread


def test_deeper_batchnorms_see_the_earlier_ones_in_training_mode_and_dropout_off():
    X = rows(n=30)
    model = Sequential([BatchNorm(), Dense(4), Dropout(0.5), BatchNorm(), Activation("relu"), Dense(2),
                        Activation("softmax")], SGD(), CrossEntropyForSoftMax(), input_shape=5, seed=0)
    model.layers[0].params["gamma"][:] = [1, 2, 3, 4, 5]
    model.layers[0].params["beta"][:] = 1.0
    recompute_batchnorm_statistics(model, X, batch_size=15, shuffle=False)
    first, dense, second = model.layers[0], model.layers[1], model.layers[3]
    means, variances = [], []
    for part in (X[:15], X[15:]):                                    # by hand, batch by batch
        normalized = (part - part.mean(axis=0)) / np.sqrt(part.var(axis=0) + first.eps)
        H = (first.params["gamma"] * normalized + first.params["beta"]) @ dense.params["W"] + dense.params["b"]
        means.append(H.mean(axis=0))                                 # Dropout did nothing: no mask, no 1/(1-rate)
        variances.append(H.var(axis=0))
    np.testing.assert_allclose(second.running_mean, np.mean(means, axis=0), rtol=1e-12)
    np.testing.assert_allclose(second.running_var, np.mean(variances, axis=0), rtol=1e-12)


def test_with_one_batch_inference_then_equals_training_mode_on_that_batch(digits):
    X_train, _, y_train, _ = digits
    model = Sequential([Dense(20), BatchNorm(momentum=0.99), Activation("relu"), Dense(10), BatchNorm(momentum=0.99),
                        Activation("softmax")], SGD(learning_rate=0.1), CrossEntropyForSoftMax(), input_shape=64,
                       seed=0)
    model.fit(X_train, y_train, epochs=1, batchsize=64, verbose=0)   # momentum 0.99: the running statistics lag
    X = X_train[:500]

    def in_training_mode():
        output = X
        for layer in model.layers:
            output = layer.forward(output, training=isinstance(layer, BatchNorm))
        return output

    before = everything_but_statistics(model)
    assert not np.allclose(model.predict_proba(X), in_training_mode(), atol=1e-3)
    recompute_batchnorm_statistics(model, X, batch_size=len(X))
    np.testing.assert_allclose(model.predict_proba(X), in_training_mode(), atol=1e-10)
    after = everything_but_statistics(model)
    for layer_before, layer_after in zip(before, after):             # no trainable parameter moved
        for key in layer_before:
            np.testing.assert_array_equal(layer_before[key], layer_after[key])
    assert [norm.momentum for norm in model.layers[1::3]] == [0.99, 0.99]


def test_a_float32_model_keeps_float32_statistics():
    X = rows(n=40).astype(np.float32)
    model = first_layer_batchnorm(dtype=np.float32)
    recompute_batchnorm_statistics(model, X, batch_size=40)
    assert model.layers[0].running_mean.dtype == np.float32
    np.testing.assert_allclose(model.layers[0].running_mean, X.astype(np.float64).mean(axis=0), rtol=1e-6)


class Failing(Layer):
    splits_batch = True

    def forward(self, X, training=True):
        raise ArithmeticError("a layer failed")


def test_an_error_midway_puts_the_statistics_and_momentum_back():
    model = Sequential([BatchNorm(momentum=0.8), Failing(), Dense(2), Activation("softmax")], SGD(),
                       CrossEntropyForSoftMax(), input_shape=5, seed=0)
    norm = model.layers[0]
    norm.buffers["running_mean"][:] = 3.0
    with pytest.raises(ArithmeticError, match="a layer failed"):
        recompute_batchnorm_statistics(model, rows(), batch_size=10)
    np.testing.assert_array_equal(norm.running_mean, 3.0)
    np.testing.assert_array_equal(norm.running_var, 1.0)
    assert norm.momentum == 0.8


def test_recompute_errors_name_the_argument_and_the_fix():
    model = first_layer_batchnorm()
    X = rows()
    with pytest.raises(TypeError, match="recompute_batchnorm_statistics: model must be a deeplearner Sequential, "
                                        "received list"):
        recompute_batchnorm_statistics([BatchNorm()], X)
    no_norm = Sequential([Dense(2), Activation("softmax")], SGD(), CrossEntropyForSoftMax(), input_shape=5)
    with pytest.raises(ValueError, match=r"the model has no BatchNorm layer, so there are no statistics to "
                                         r"recompute\. \(A model made by fold_batchnorm has none left"):
        recompute_batchnorm_statistics(no_norm, X)
    for bad in (0, -3, 2.5, "32", True):
        with pytest.raises(ValueError, match=rf"recompute_batchnorm_statistics: batch_size must be a positive "
                                             rf"integer, received batch_size={bad!r}\. Pass e\.g\. batch_size=32"):
            recompute_batchnorm_statistics(model, X, batch_size=bad)
    with pytest.raises(ValueError, match=r"BatchNorm \(layer 0\) sees rows and needs at least 2 per batch to "
                                         r"estimate a variance, received batch_size=1\. Pass batch_size=2 or more"):
        recompute_batchnorm_statistics(model, X, batch_size=1)
    with pytest.raises(ValueError, match=r"received X has 1 sample\. Pass batch_size=2 or more .* and at least 2 "
                                         r"samples"):
        recompute_batchnorm_statistics(model, X[:1])
    with pytest.raises(ValueError, match=r"X has 4 features per sample, but the model expects 5"):
        recompute_batchnorm_statistics(model, X[:, :4])
    with pytest.raises(TypeError, match=r"shuffle must be True or False, received shuffle='yes'"):
        recompute_batchnorm_statistics(model, X, shuffle="yes")
    with pytest.raises(ValueError, match=r"seed must be None or a non-negative integer, received seed=-1"):
        recompute_batchnorm_statistics(model, X, seed=-1)
    np.testing.assert_array_equal(model.layers[0].running_mean, 0.0)    # none of these changed anything


def test_images_accept_a_batch_of_one_image():
    X = np.random.default_rng(0).normal(size=(3, 2, 4, 4))
    model = first_layer_batchnorm((2, 4, 4))
    recompute_batchnorm_statistics(model, X, batch_size=1, shuffle=False)
    # batches: image 0 alone, then images 1 and 2 (a last batch of one joins the one before)
    expected = (X[0].var(axis=(1, 2)) + 2 * X[1:].var(axis=(0, 2, 3))) / 3
    np.testing.assert_allclose(model.layers[0].running_var, expected, rtol=1e-13)


# ---------------------------------------------------------------- fold_batchnorm
def seed_network(dtype=np.float64):
    return Sequential([Dense(32), BatchNorm(), Activation("relu"), Dense(16), BatchNorm(), Activation("relu"),
                       Dense(10), BatchNorm(), Activation("softmax")], SGD(learning_rate=0.1, momentum=0.9),
                      CrossEntropyForSoftMax(), input_shape=64, seed=0, dtype=dtype)


def small_cnn(dtype=np.float64):
    return Sequential([Conv2D(4, 3, padding=1), BatchNorm(), Activation("relu"), MaxPool2D(2),
                       Conv2D(6, 3), BatchNorm(), Activation("relu"), Flatten(), Dense(10), BatchNorm(),
                       Activation("softmax")], SGD(learning_rate=0.05, momentum=0.9), CrossEntropyForSoftMax(),
                      input_shape=(1, 8, 8), seed=0, dtype=dtype)


def as_images(X):
    return X.reshape(-1, 1, 8, 8)


def give_every_batchnorm_random_parameters(model):
    rng = np.random.default_rng(7)
    for layer in model.layers:
        if isinstance(layer, BatchNorm):
            for key in ("gamma", "beta"):
                layer.params[key][:] = rng.normal(size=layer.params[key].shape)


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-12), (np.float32, 2e-5)], ids=["float64", "float32"])
@pytest.mark.parametrize("make, to_X", [(seed_network, lambda X: X), (small_cnn, as_images)], ids=["rows", "images"])
def test_the_folded_model_predicts_what_the_original_does(make, to_X, dtype, tolerance, digits):
    X_train, X_valid, y_train, _ = digits
    model = make(dtype)
    model.fit(to_X(X_train[:400]), y_train[:400], epochs=2, batchsize=50, verbose=0)
    give_every_batchnorm_random_parameters(model)
    folded = fold_batchnorm(model)
    assert not any(isinstance(layer, BatchNorm) for layer in folded.layers)
    assert len(folded.layers) == len(model.layers) - 3
    P, P_folded = model.predict_proba(to_X(X_valid)), folded.predict_proba(to_X(X_valid))
    assert P_folded.dtype == dtype
    np.testing.assert_allclose(P_folded, P, rtol=0, atol=tolerance)
    np.testing.assert_array_equal(folded.predict(to_X(X_valid)), model.predict(to_X(X_valid)))


def test_the_fold_of_one_unit_computed_by_hand():
    model = Sequential([Dense(1), BatchNorm(eps=1e-12), Dense(1)], SGD(), MeanSquaredError(), input_shape=1)
    dense, norm = model.layers[0], model.layers[1]
    dense.set_weights({"W": np.array([[2.0]]), "b": np.array([1.0])})
    norm.set_weights({"gamma": np.array([3.0]), "beta": np.array([0.5]), "running_mean": np.array([1.0]),
                      "running_var": np.array([4.0])})
    folded = fold_batchnorm(model)
    # k = 3 / sqrt(4) = 1.5: W' = 2 * 1.5 = 3, b' = (1 - 1) * 1.5 + 0.5 = 0.5
    np.testing.assert_allclose(folded.layers[0].params["W"], [[3.0]], rtol=1e-12)
    np.testing.assert_allclose(folded.layers[0].params["b"], [0.5], rtol=1e-12)
    assert [type(layer) for layer in folded.layers] == [Dense, Dense]


def test_a_conv_filter_is_scaled_as_a_whole():
    weights = {"W": np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 3, 2, 2), "b": np.array([1.0, -1.0])}
    norm = BatchNorm(eps=1e-12)
    norm.build((2, 5, 5), np.random.default_rng(0), np.float64)
    norm.set_weights({"gamma": np.array([2.0, -1.0]), "beta": np.array([0.0, 3.0]),
                      "running_mean": np.array([1.0, 1.0]), "running_var": np.array([1.0, 4.0])})
    folded = _folded(weights, norm, np.float64)
    np.testing.assert_allclose(folded["W"][0], 2 * weights["W"][0])          # k = 2 / 1
    np.testing.assert_allclose(folded["W"][1], -0.5 * weights["W"][1])       # k = -1 / 2
    np.testing.assert_allclose(folded["b"], [0.0, 4.0])                      # (1 - 1) 2 + 0, (-1 - 1)(-0.5) + 3


def test_batchnorms_that_do_not_follow_a_dense_or_conv2d_stay():
    model = Sequential([BatchNorm(), Dense(8), Activation("relu"), BatchNorm(), Dense(4), BatchNorm(),
                        Dropout(0.2), Dense(3), Activation("softmax")], SGD(), CrossEntropyForSoftMax(),
                       input_shape=5, seed=0)
    X = rows(n=50)
    model.fit(X, np.arange(50) % 3, epochs=3, batchsize=10, verbose=0)
    folded = fold_batchnorm(model)
    assert [type(layer).__name__ for layer in folded.layers] == ["BatchNorm", "Dense", "Activation", "BatchNorm",
                                                                 "Dense", "Dropout", "Dense", "Activation"]
    np.testing.assert_allclose(folded.predict_proba(X), model.predict_proba(X), atol=1e-12)


def test_the_original_is_left_as_it_was_and_shares_no_array_with_the_fold(digits):
    X_train, X_valid, y_train, _ = digits
    model = seed_network()
    model.fit(X_train[:200], y_train[:200].astype(str), epochs=1, verbose=0)
    before, layers = model.get_weights(), list(model.layers)
    P = model.predict_proba(X_valid)
    folded = fold_batchnorm(model)
    assert model.layers == layers and len(model.layers) == 9
    for layer_before, layer_now in zip(before, model.get_weights()):
        for key in layer_before:
            np.testing.assert_array_equal(layer_before[key], layer_now[key])
    for layer in folded.layers:
        for value in layer.params.values():
            value[...] = 0.0                                  # wipe the fold...
    np.testing.assert_array_equal(model.predict_proba(X_valid), P)    # ...the original does not notice
    assert folded.classes_.tolist() == model.classes_.tolist() and folded.classes_ is not model.classes_
    assert folded.optimizer is not model.optimizer and folded.optimizer.state == {}


def test_a_frozen_layer_stays_frozen_and_the_fold_saves_and_exports(digits, tmp_path):
    X_train, X_valid, y_train, _ = digits
    model = small_cnn(np.float32)
    model.fit(as_images(X_train[:200]), y_train[:200], epochs=1, verbose=0)
    model.layers[0].trainable = False
    folded = fold_batchnorm(model)
    assert folded.layers[0].trainable is False and folded.layers[1].trainable is True
    folded.save(tmp_path / "folded.npz")
    np.testing.assert_array_equal(load_model(tmp_path / "folded.npz").predict_proba(as_images(X_valid)),
                                  folded.predict_proba(as_images(X_valid)))
    proto = to_onnx(folded, tmp_path / "folded.onnx")
    assert "BatchNorm" not in " ".join(node.name for node in proto.graph.node)
    session = ort.InferenceSession(str(tmp_path / "folded.onnx"), providers=["CPUExecutionProvider"])
    X = as_images(X_valid).astype(np.float32)
    np.testing.assert_allclose(session.run(None, {"X": X})[0], model.predict_proba(X), atol=1e-5)


def test_a_fold_keeps_other_layers_of_every_kind():
    model = Sequential([Conv2D(4, 3), GroupNorm(2), BatchNorm(), Flatten(), Dense(5), BatchNorm(), Dense(2)],
                       SGD(), MeanSquaredError(), input_shape=(1, 6, 6), seed=0)
    X = np.random.default_rng(0).normal(size=(20, 1, 6, 6))
    model.fit(X, np.random.default_rng(1).normal(size=(20, 2)), epochs=2, batchsize=5, verbose=0)
    folded = fold_batchnorm(model)
    assert [type(layer).__name__ for layer in folded.layers] == ["Conv2D", "GroupNorm", "BatchNorm", "Flatten",
                                                                 "Dense", "Dense"]
    np.testing.assert_allclose(folded.predict_proba(X), model.predict_proba(X), atol=1e-12)


def test_fold_errors_name_the_problem_and_the_fix():
    with pytest.raises(TypeError, match="fold_batchnorm: model must be a deeplearner Sequential, received dict"):
        fold_batchnorm({})
    model = Sequential([Dense(3), SelfTrainingScale(), Dense(2)], SGD(), MeanSquaredError(), input_shape=4)
    with pytest.raises(ValueError, match=r"fold_batchnorm: layer 1 \(SelfTrainingScale\) keeps its weights in plain "
                                         r"attributes .* Derive it from deeplearner\.Layer"):
        fold_batchnorm(model)


def test_the_benchmark_example_runs_quickly_and_reports_both_models(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setattr(sys, "argv", ["benchmark_folding.py"])
    import benchmark_folding
    table = benchmark_folding.main(["--quick", "--runs", "1"])
    out = capsys.readouterr().out
    assert [row["name"] for row in table] == ["CNN", "seed MLP"]
    assert [row["layers"] for row in table] == ["12 -> 9", "9 -> 6"]
    assert all(row["difference"] < 1e-10 and row["original"] > 0 and row["folded"] > 0 for row in table)
    assert "load average (1, 5, 15 min) before:" in out and "speed-up" in out

"""to_onnx: the exported file passes onnx.checker and ONNX Runtime predicts what predict_proba does.

Agreement is checked on trained models (so BatchNorm's running statistics are not the defaults),
in float32 (1e-5) and float64 (1e-10), for batches of 1, 7 and 1000; then tiny graphs computed by
hand, what the file holds, and every error message.
"""

import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from deeplearner import (SGD, Activation, AvgPool2D, BatchNorm, Conv2D, CrossEntropyForSoftMax, Dense, Dropout,
                         Flatten, Layer, MaxPool2D, MeanSquaredError, Sequential, to_onnx)
from deeplearner.export import ExportError
from deeplearner.layers.activations import LeakyReLU, ReLU
from deeplearner.layers.base import as_tuple

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}
BATCH_SIZES = [1, 7, 1000]


def seed_network():
    """The seed notebook's network (on 64 features: scikit-learn's digits)."""
    return [Dense(100), BatchNorm(), Activation("relu"),
            Dense(50), BatchNorm(), Activation("relu"),
            Dense(10), BatchNorm(), Activation("softmax")]


def every_activation():
    # alpha=0.3 has no exact float32 value: ONNX's LeakyRelu, whose alpha is a float32 attribute,
    # would miss the float64 tolerance here.
    return [Dense(32), Activation("relu"), Dropout(0.2),
            Dense(32), Activation(LeakyReLU(alpha=0.3)), Dropout(0.5),
            Dense(32), Activation("sigmoid"),
            Dense(32), Activation("tanh"), BatchNorm(),
            Dense(10), Activation("softmax")]


def cnn():
    """Every image layer, on the digits as (1, 8, 8) images: "same" padding that is uneven (0 rows at
    the top, 1 at the bottom), a non-square kernel, strides, overlapping pools, rows left over."""
    return [Conv2D(6, 3, padding=1), BatchNorm(), Activation("relu"),   # (6, 8, 8)
            MaxPool2D(3, stride=2),                                      # (6, 3, 3): one row and column left over
            Conv2D(8, (2, 3), stride=(2, 1), padding="same"),            # (8, 2, 3); pads: top 0, bottom 1,
                                                                         # left 1, right 1
            Activation("tanh"), AvgPool2D(2, stride=1),                  # (8, 1, 2)
            Flatten(), Dense(10), Activation("softmax")]


# name -> (layers, input_shape)
MODELS = {"seed network": (seed_network, 64), "every activation and Dropout": (every_activation, 64),
          "CNN": (cnn, (1, 8, 8))}
# (model, the model's dtype, the file's dtype): ONNX Runtime has no float64 Conv, so a float64 CNN
# is exported in float32, as the refusal in test_a_float64_cnn_is_refused tells users to.
CASES = [(name, dtype, dtype) for name in ("seed network", "every activation and Dropout")
         for dtype in (np.float32, np.float64)]
CASES += [("CNN", np.float32, np.float32), ("CNN", np.float64, np.float32)]


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def run(path, X):
    return session(path).run(None, {"X": X})[0]


@pytest.fixture(scope="module", params=CASES,
                ids=lambda case: f"{case[0]}-{case[1].__name__}" + ("-as-float32" if case[1] != case[2] else ""))
def exported(request, digits, tmp_path_factory):
    """A model trained for 3 epochs on the digits, its ONNX file, ONNX Runtime's session on it, 1000 samples."""
    name, dtype, file_dtype = request.param
    layers, input_shape = MODELS[name]
    X_train, X_valid, y_train, _ = digits
    X = np.concatenate([X_valid, X_train])[:1000]
    if input_shape != 64:
        X_train, X = X_train.reshape(-1, *input_shape), X.reshape(-1, *input_shape)   # rows of 8x8 pixels
    model = Sequential(layers(), SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(),
                       input_shape=input_shape, seed=0, dtype=dtype)
    model.fit(X_train, y_train, epochs=3, batch_size=100, verbose=0)
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    to_onnx(model, path, dtype=file_dtype)
    return model, path, session(path), X, file_dtype


# ---------------------------------------------------------------- ONNX Runtime agrees with predict_proba
@pytest.mark.parametrize("batch", BATCH_SIZES)
def test_onnx_runtime_predicts_what_predict_proba_does(exported, batch):
    model, _, sess, X, dtype = exported
    P = sess.run(None, {"X": X[:batch].astype(dtype)})[0]
    expected = model.predict_proba(X[:batch])
    assert P.dtype == dtype and P.shape == (batch, 10)
    assert np.abs(P - expected).max() <= TOLERANCE[dtype]
    assert np.array_equal(P.argmax(axis=1), expected.argmax(axis=1))


def test_the_model_was_trained_so_batchnorm_statistics_moved(exported):
    model = exported[0]
    batchnorms = [layer for layer in model.layers if isinstance(layer, BatchNorm)]
    assert batchnorms
    for layer in batchnorms:
        assert not np.allclose(layer.running_mean, 0) and not np.allclose(layer.running_var, 1)


def test_the_file_passes_the_full_check_and_has_a_named_input_with_a_dynamic_batch(exported):
    model, path, sess, _, dtype = exported
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    (X,), (Y,) = proto.graph.input, proto.graph.output
    assert X.name == "X" and Y.name == "Y"
    assert [d.dim_param or d.dim_value for d in X.type.tensor_type.shape.dim] == ["batch", *model.input_shape]
    assert [d.dim_param or d.dim_value for d in Y.type.tensor_type.shape.dim] == ["batch", 10]
    element = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    assert X.type.tensor_type.elem_type == Y.type.tensor_type.elem_type == element
    assert {tensor.data_type for tensor in proto.graph.initializer} == {element}
    assert [opset.version for opset in proto.opset_import] == [17] and proto.ir_version == 8
    assert [entry.name for entry in sess.get_inputs()] == ["X"]


def test_no_number_is_held_in_a_float32_attribute(exported):
    """ONNX attributes such as alpha and epsilon are float32: a float64 export must not rely on one."""
    proto = onnx.load(str(exported[1]))
    floats = [(node.name, a.name) for node in proto.graph.node for a in node.attribute
              if a.type in (onnx.AttributeProto.FLOAT, onnx.AttributeProto.FLOATS)]
    assert floats == []


def test_each_layer_becomes_its_own_nodes(exported):
    model, path, *_ = exported
    proto = onnx.load(str(path))
    ops = [node.op_type for node in proto.graph.node]
    expected = {"Dense": ["Gemm"], "BatchNorm": ["Mul", "Add"], "Dropout": ["Identity"], "relu": ["Relu"],
                "leaky_relu": ["Mul", "Max"], "sigmoid": ["Sigmoid"], "tanh": ["Tanh"], "softmax": ["Softmax"],
                "Conv2D": ["Conv"], "MaxPool2D": ["MaxPool"], "AvgPool2D": ["AveragePool"], "Flatten": ["Flatten"]}
    assert ops == [op for layer in model.layers for op in expected[layer.name]]
    names = [f"{i}.{layer.name}/{op}" for i, layer in enumerate(model.layers) for op in expected[layer.name]]
    assert [node.name for node in proto.graph.node] == names
    assert [node.output[0] for node in proto.graph.node][-1] == "Y"


# ---------------------------------------------------------------- tiny graphs, by hand
def untrained(layers, input_shape, dtype=np.float64, loss=None):
    return Sequential(layers, SGD(learning_rate=0.1), loss or CrossEntropyForSoftMax(),
                      input_shape=input_shape, seed=0, dtype=dtype)


def test_dense_and_softmax_by_hand(tmp_path):
    model = untrained([Dense(2), Activation("softmax")], 2)
    # logits for X = [1, 1]: [0 + 0, ln 3 + 0] -> softmax [1/4, 3/4]; X = [0, 0]: b only, [0, 0] -> [1/2, 1/2]
    model.layers[0].set_weights({"W": np.array([[0.0, np.log(3)], [0.0, 0.0]]), "b": np.zeros(2)})
    to_onnx(model, tmp_path / "m.onnx")
    P = run(tmp_path / "m.onnx", np.array([[1.0, 1.0], [0.0, 0.0]]))
    np.testing.assert_allclose(P, [[0.25, 0.75], [0.5, 0.5]], rtol=0, atol=1e-15)


def test_batchnorm_uses_the_running_statistics_by_hand(tmp_path):
    model = untrained([BatchNorm(eps=1e-5)], 2, loss=MeanSquaredError())
    model.layers[0].set_weights({"gamma": np.array([2.0, 1.0]), "beta": np.array([1.0, -1.0]),
                                 "running_mean": np.array([3.0, 0.0]), "running_var": np.array([4.0 - 1e-5, 1.0])})
    to_onnx(model, tmp_path / "m.onnx")
    # feature 0: 2 * (X - 3) / 2 + 1 = X - 2; feature 1: (X - 0) / sqrt(1 + 1e-5) - 1
    P = run(tmp_path / "m.onnx", np.array([[5.0, 2.0]]))
    np.testing.assert_allclose(P, [[3.0, 2.0 / np.sqrt(1 + 1e-5) - 1.0]], rtol=0, atol=1e-15)


def test_a_constant_feature_keeps_every_digit_of_eps(tmp_path):
    """running_var = 0 (a feature that never varied): Y = gamma (X - mean) / sqrt(eps) + beta.

    ONNX's BatchNormalization holds eps as a float32, 1e-5 * (1 - 2.5e-8): 1e-8 relative off here.
    """
    model = untrained([BatchNorm(eps=1e-5)], 2, loss=MeanSquaredError())
    model.layers[0].set_weights({"gamma": np.array([1.0, 1.0]), "beta": np.zeros(2),
                                 "running_mean": np.zeros(2), "running_var": np.array([0.0, 1.0])})
    to_onnx(model, tmp_path / "m.onnx")
    X = np.array([[1e-3, 1.0]])
    np.testing.assert_allclose(run(tmp_path / "m.onnx", X), [[1e-3 / np.sqrt(1e-5), 1.0 / np.sqrt(1 + 1e-5)]],
                               rtol=1e-15, atol=0)


def test_batchnorm_on_images_normalizes_each_channel():
    layer = BatchNorm()
    layer.build((2, 1, 3), np.random.default_rng(0), np.float64)
    layer.set_weights({"gamma": np.array([1.0, 10.0]), "beta": np.array([0.0, 5.0]),
                       "running_mean": np.array([1.0, 2.0]), "running_var": np.array([1.0, 1.0])})
    layer.eps = 0.0   # so the expected values are exact (the constructor refuses eps=0)
    X = np.arange(6.0).reshape(1, 2, 1, 3)          # channel 0: 0 1 2, channel 1: 3 4 5
    Y = run_layer(layer, X)
    np.testing.assert_array_equal(Y, [[[[-1.0, 0.0, 1.0]], [[15.0, 25.0, 35.0]]]])
    np.testing.assert_array_equal(Y, layer.forward(X, training=False))


def run_layer(layer, X):
    """ONNX Runtime's output, on X, for the nodes of one built layer, in X's dtype."""
    from deeplearner.export.onnx import GraphBuilder
    builder = GraphBuilder(onnx, X.dtype)
    builder.rename_output(builder.emit(layer, "X"), "Y")
    element = onnx.helper.np_dtype_to_tensor_dtype(X.dtype)
    Y_shape = ["batch", *as_tuple(layer.outputshape())]
    graph = onnx.helper.make_graph(builder.nodes, "one layer",
                                   [onnx.helper.make_tensor_value_info("X", element, ["batch", *X.shape[1:]])],
                                   [onnx.helper.make_tensor_value_info("Y", element, Y_shape)],
                                   builder.initializers)
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    proto.ir_version = 8
    onnx.checker.check_model(proto, full_check=True)
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"X": X})[0]


def built(layer, input_shape, dtype=np.float32):
    layer.build(input_shape, np.random.default_rng(0), dtype)
    return layer


def test_conv_by_hand():
    layer = built(Conv2D(1, 2), (1, 3, 3))
    layer.set_weights({"W": np.ones((1, 1, 2, 2)), "b": np.array([1.0])})
    X = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)      # 0 1 2 / 3 4 5 / 6 7 8
    # each output: 1 + the sum of a 2x2 window, e.g. 1 + (0 + 1 + 3 + 4) = 9
    np.testing.assert_array_equal(run_layer(layer, X), [[[[9.0, 13.0], [21.0, 25.0]]]])


def test_conv_pads_go_in_onnx_order_top_left_bottom_right():
    # "same" with stride (2, 1) and a 2x5 kernel on 5x6 pixels: top 0, bottom 1, left 2, right 2.
    layer = built(Conv2D(3, (2, 5), stride=(2, 1), padding="same"), (2, 5, 6))
    assert layer.pads == (0, 1, 2, 2)
    X = np.random.default_rng(0).normal(size=(4, 2, 5, 6)).astype(np.float32)
    Y = run_layer(layer, X)
    assert Y.shape == (4, 3, 3, 6)
    np.testing.assert_allclose(Y, layer.forward(X, training=False), rtol=0, atol=1e-5)


@pytest.mark.parametrize("pool, expected", [
    (MaxPool2D(2, stride=1), [[[[4.0, 5.0], [7.0, 8.0]]]]),     # the largest of each overlapping 2x2 window
    (AvgPool2D(2, stride=1), [[[[2.0, 3.0], [5.0, 6.0]]]]),     # e.g. (0 + 1 + 3 + 4) / 4 = 2
    (MaxPool2D(2), [[[[4.0]]]]),                                # floor mode: the last row and column are dropped
])
def test_pools_by_hand(pool, expected):
    X = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    np.testing.assert_array_equal(run_layer(built(pool, (1, 3, 3)), X), expected)


def test_flatten_unrolls_channel_by_channel_row_by_row():
    X = np.arange(12, dtype=np.float64).reshape(1, 3, 2, 2)
    np.testing.assert_array_equal(run_layer(built(Flatten(), (3, 2, 2)), X), [np.arange(12.0)])


def test_a_float64_model_with_max_pooling_runs_in_float64(tmp_path):
    # MaxPool, unlike Conv and AveragePool, has a float64 kernel in ONNX Runtime's CPU provider.
    model = untrained([MaxPool2D(2), Flatten(), Dense(5), Activation("softmax")], (2, 6, 6))
    to_onnx(model, tmp_path / "m.onnx")
    X = np.random.default_rng(2).normal(size=(7, 2, 6, 6))
    P = run(tmp_path / "m.onnx", X)
    assert P.dtype == np.float64 and np.abs(P - model.predict_proba(X)).max() <= 1e-15


def test_leaky_relu_keeps_negative_values_scaled_by_alpha(tmp_path):
    model = untrained([Activation(LeakyReLU(alpha=0.25))], 4, loss=MeanSquaredError())
    to_onnx(model, tmp_path / "m.onnx")
    P = run(tmp_path / "m.onnx", np.array([[-4.0, -0.0, 0.5, 8.0]]))
    np.testing.assert_array_equal(P, [[-1.0, 0.0, 0.5, 8.0]])


def test_a_float64_model_exports_as_float32_when_asked(tmp_path, digits):
    X_train, X_valid, y_train, _ = digits
    model = untrained(seed_network(), 64)
    model.fit(X_train, y_train, epochs=2, batch_size=100, verbose=0)
    weights = model.get_weights()
    proto = to_onnx(model, tmp_path / "m.onnx", dtype=np.float32)
    assert {tensor.data_type for tensor in proto.graph.initializer} == {onnx.TensorProto.FLOAT}
    P = run(tmp_path / "m.onnx", X_valid.astype(np.float32))
    assert P.dtype == np.float32
    assert np.abs(P - model.predict_proba(X_valid)).max() <= 1e-5
    assert model.dtype == np.float64                       # the model itself is left as it was
    for before, after in zip(weights, model.get_weights()):
        for key in before:
            np.testing.assert_array_equal(before[key], after[key])


def test_the_labels_go_into_the_metadata(tmp_path):
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = np.array(["cat", "dog"])[np.arange(20) % 2]
    model = untrained([Dense(2), Activation("softmax")], 3)
    model.fit(X, y, epochs=1, batch_size=10, verbose=0)
    proto = to_onnx(model, tmp_path / "m.onnx")
    assert {entry.key: entry.value for entry in proto.metadata_props} == {"classes": '["cat", "dog"]'}
    assert session(tmp_path / "m.onnx").get_modelmeta().custom_metadata_map == {"classes": '["cat", "dog"]'}


def test_a_layer_of_your_own_exports_through_its_onnx_nodes(tmp_path):
    class Double(Layer):
        def forward(self, X, training=True):
            return 2 * X

        def backward(self, dY):
            return 2 * dY

        def onnx_nodes(self, builder, X):
            return builder.node("Mul", [X, builder.constant("two", 2.0)])

    model = untrained([Dense(3), Double(), Activation("softmax")], 4)
    to_onnx(model, tmp_path / "m.onnx")
    X = np.random.default_rng(1).normal(size=(5, 4))
    assert np.abs(run(tmp_path / "m.onnx", X) - model.predict_proba(X)).max() <= 1e-15


def test_a_last_layer_that_adds_no_node_still_gives_the_output_Y(tmp_path):
    class Nothing(Layer):
        def forward(self, X, training=True):
            return X

        def backward(self, dY):
            return dY

        def onnx_nodes(self, builder, X):
            return X

    model = untrained([Nothing()], 3, loss=MeanSquaredError())
    proto = to_onnx(model, tmp_path / "m.onnx")
    assert [(node.op_type, list(node.output)) for node in proto.graph.node] == [("Identity", ["Y"])]
    np.testing.assert_array_equal(run(tmp_path / "m.onnx", np.ones((2, 3))), np.ones((2, 3)))


def test_import_deeplearner_does_not_import_onnx():
    code = "import sys, deeplearner; print(sorted(m for m in ('onnx', 'onnxruntime') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_write_replaces_an_old_file_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    to_onnx(untrained([Dense(2), Activation("softmax")], 3), path)
    assert onnx.load(str(path)).graph.node[0].op_type == "Gemm"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


# ---------------------------------------------------------------- errors
class NoExport(Layer):
    def forward(self, X, training=True):
        return X

    def backward(self, dY):
        return dY


class SeedStyle(Layer):
    """Like the seed's BathNorm: no super().__init__(), weights as plain attributes made in setup."""

    def __init__(self):
        self.gamma = None

    def setup(self, optimizer, loss):
        self.gamma = np.ones(self.inputshape)

    def forward(self, X, training=True):
        return self.gamma * X

    def backward(self, dY):
        return dY


class MyDense(Dense):
    def forward(self, X, training=True):
        return super().forward(X, training) * 2


class MyReLU(ReLU):
    def forward(self, X):
        return np.maximum(X, 1)


class MyFunction:
    name = "mine"

    def forward(self, X):
        return X

    def backward(self, X, Y, dY):
        return dY


@pytest.mark.parametrize("layer, message", [
    (NoExport(), r"to_onnx: layer 1 \(NoExport\) cannot be exported: it has no onnx_nodes\(builder, X\) method\. "
                 r"A layer is exportable when it defines onnx_nodes\(self, builder, X\), .* returns the name of its "
                 r"output \(see deeplearner/export/onnx\.py\)\.$"),
    (SeedStyle(), r"layer 1 \(SeedStyle\) cannot be exported: it has no onnx_nodes.* It is a seed-style layer "
                  r"\(its weights are plain attributes, not self\.params\): call super\(\)\.__init__\(\)"),
    (MyDense(4), r"layer 1 \(MyDense\) cannot be exported: MyDense overrides forward but inherits onnx_nodes "
                 r"from Dense, which describes Dense\.forward\. Define onnx_nodes in MyDense too\.$"),
    (Activation(MyReLU()), r"layer 1 \(relu\) cannot be exported: MyReLU overrides forward but inherits "
                           r"onnx_nodes from ReLU"),
    (Activation(MyFunction()), r"layer 1 \(mine\) cannot be exported: its function MyFunction has no "
                               r"onnx_nodes\(builder, X\) method\. An activation function is exportable when"),
], ids=["custom layer", "seed-style layer", "subclass overriding forward", "activation subclass",
        "custom activation function"])
def test_a_layer_that_cannot_be_exported_is_named(tmp_path, layer, message):
    model = untrained([Dense(4), layer, Dense(2), Activation("softmax")], 3)
    with pytest.raises(ExportError, match=message):
        to_onnx(model, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("layers, message", [
    ([Conv2D(2, 3), Flatten()], r"to_onnx: layer 0 \(Conv2D\) cannot be exported: in float64 it needs the ONNX "
                                r"operator Conv, for which ONNX Runtime's CPU provider has no float64 kernel, so "
                                r"the file would not run there\. Export the model in float32: to_onnx\(model, "
                                r"path, dtype=np\.float32\) \(the weights are cast as they are written; the "
                                r"model is left as it is\)\.$"),
    ([MaxPool2D(2), AvgPool2D(2), Flatten()], r"to_onnx: layer 1 \(AvgPool2D\) cannot be exported: in float64 it "
                                              r"needs the ONNX operator AveragePool, .*dtype=np\.float32"),
], ids=["Conv2D", "AvgPool2D"])
def test_a_float64_cnn_is_refused_and_told_to_export_in_float32(tmp_path, layers, message):
    model = untrained([*layers, Dense(3), Activation("softmax")], (1, 8, 8))
    with pytest.raises(ExportError, match=message):
        to_onnx(model, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []
    to_onnx(model, tmp_path / "m.onnx", dtype=np.float32)     # the way out the message names
    X = np.random.default_rng(3).normal(size=(7, 1, 8, 8))
    assert np.abs(run(tmp_path / "m.onnx", X.astype(np.float32)) - model.predict_proba(X)).max() <= 1e-5


@pytest.mark.parametrize("inputs, problem", [
    (lambda builder, X: [X], r"has input size 1 not in range \[min=2, max=3\]"),              # Gemm needs two
    (lambda builder, X: [X, builder.constant("W", np.ones((5, 2)))], r"ShapeInferenceError"),  # X is (batch, 3)
], ids=["validation", "shape inference"])
def test_a_graph_that_fails_the_checker_is_an_error_that_says_so(tmp_path, inputs, problem):
    class Broken(NoExport):
        def onnx_nodes(self, builder, X):
            return builder.node("Gemm", inputs(builder, X))

    with pytest.raises(ExportError, match=r"to_onnx: the graph fails onnx\.checker \(.*" + problem + r".*\)\. If a "
                                          r"layer of your own emitted the node named there, check its onnx_nodes\."):
        to_onnx(untrained([Broken()], 3, loss=MeanSquaredError()), tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_without_onnx_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)           # makes `import onnx` fail
    with pytest.raises(ModuleNotFoundError, match=r'to_onnx needs the onnx package, which is not installed\. '
                                                  r'Install it with: pip install "deeplearner\[onnx\]"'):
        to_onnx(untrained([Dense(2), Activation("softmax")], 3), tmp_path / "m.onnx")


@pytest.mark.parametrize("path, error, message", [
    (123, TypeError, r"to_onnx: path must be a str or os\.PathLike, received 123\. "
                     r"Example: to_onnx\(model, 'model\.onnx'\)\."),
    ("missing/m.onnx", FileNotFoundError, r"to_onnx: the directory '.*missing' does not exist\. Create it first"),
])
def test_a_bad_path_is_a_clear_error(tmp_path, monkeypatch, path, error, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=message):
        to_onnx(untrained([Dense(2), Activation("softmax")], 3), path)


def test_bad_model_and_dtype_are_clear_errors(tmp_path):
    with pytest.raises(TypeError, match=r"to_onnx: model must be a deeplearner Sequential, received Dense\."):
        to_onnx(Dense(3), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match=r"to_onnx: dtype must be None \(the model's\), np\.float32 or np\.float64, "
                                         r"received dtype=<class 'numpy\.float16'>\."):
        to_onnx(untrained([Dense(2), Activation("softmax")], 3), tmp_path / "m.onnx", dtype=np.float16)

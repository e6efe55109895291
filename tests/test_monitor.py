"""LayerMonitor: statistics against a hand computation, crafted activations, training left unchanged."""

import math

import numpy as np
import pytest

from deeplearner import (SGD, Activation, BatchNorm, Callback, CrossEntropyForSoftMax, Dense, Dropout, Layer,
                         LayerMonitor, MeanSquaredError, Sequential)


# The crafted inputs are far from unit scale on purpose; fit's TrainingWarning about it is not under test here.
pytestmark = pytest.mark.filterwarnings("ignore::deeplearner.TrainingWarning")


def fit_once(layers, X, T, probe, input_shape=None, **monitor_options):
    """One step of plain SGD (learning rate 0.1) on the batch (X, T), recorded by a monitor."""
    model = Sequential(layers, SGD(learning_rate=0.1), MeanSquaredError(),
                       input_shape=input_shape or X.shape[1], seed=0)
    monitor = LayerMonitor(probe, every=1, **monitor_options)
    model.fit(X, T, epochs=1, batch_size=len(X), shuffle=False, verbose=0, callbacks=[monitor])
    return model, monitor


# ---------------------------------------------------------------- a tiny network, by hand
def test_statistics_of_a_tiny_network_match_a_hand_computation():
    dense = Dense(2)
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    T = np.zeros((2, 2))
    model = Sequential([dense, Activation("relu")], SGD(learning_rate=0.1), MeanSquaredError(), input_shape=2)
    dense.params["W"][...] = [[1.0, -1.0], [0.0, 1.0]]
    probe = np.array([[1.0, 0.0], [2.0, 0.0], [1.0, 0.5]])
    monitor = LayerMonitor(probe, every=1)
    model.fit(X, T, epochs=1, batch_size=2, shuffle=False, verbose=0, callbacks=[monitor])
    # Forward: Z = X W = [[1, 1], [3, -4]]; relu: Y = [[1, 1], [3, 0]]. MSE over 4 entries:
    # dY = 2 (Y - T) / 4 = [[0.5, 0.5], [1.5, 0]]; through relu dZ = dY (Z > 0) = dY.
    # dW = X^T dZ = [[1*.5 + 3*1.5, 1*.5], [2*.5 - 1*1.5, 2*.5]] = [[5, 0.5], [-0.5, 1]]; db = [2, 0.5].
    assert monitor.steps.tolist() == [1]
    assert monitor.loss.tolist() == [pytest.approx(11 / 4)]                  # (1 + 1 + 9 + 0) / 4
    assert monitor.grad_norms["0 Dense"]["W"][0] == pytest.approx(math.sqrt(25 + 0.25 + 0.25 + 1))
    assert monitor.grad_norms["0 Dense"]["b"][0] == pytest.approx(math.sqrt(4 + 0.25))
    # The step: W - 0.1 dW. ||W_before|| = sqrt(3); b started at 0, so its ratio is undefined.
    assert monitor.update_ratios["0 Dense"]["W"][0] == pytest.approx(0.1 * math.sqrt(26.5) / math.sqrt(3))
    assert np.isnan(monitor.update_ratios["0 Dense"]["b"][0])
    assert "1 relu" not in monitor.grad_norms                               # no parameters
    # After the step W = [[0.5, -1.05], [0.05, 0.9]], b = [-0.2, -0.05]. On the probe:
    # unit 0: 0.5 x1 + 0.05 x2 - 0.2 = 0.3, 0.8, 0.325; unit 1: -1.05 x1 + 0.9 x2 - 0.05 = -1.1, -2.15, -0.65.
    dense_out, relu_out = monitor.outputs["0 Dense"], monitor.outputs["1 relu"]
    assert dense_out["mean"][0] == pytest.approx((0.3 + 0.8 + 0.325 - 1.1 - 2.15 - 0.65) / 6)
    assert relu_out["mean"][0] == pytest.approx((0.3 + 0.8 + 0.325) / 6)
    values = np.array([0.3, 0.8, 0.325, 0, 0, 0])
    assert relu_out["std"][0] == pytest.approx(np.sqrt(np.mean((values - values.mean()) ** 2)))
    # Sorted relu outputs 0, 0, 0, 0.3, 0.325, 0.8: the median is halfway from the 3rd to the 4th.
    assert relu_out["p50"][0] == pytest.approx(0.15)
    # 85th percentile: position 0.85 * 5 = 4.25, a quarter of the way from 0.325 to 0.8.
    assert relu_out["p85"][0] == pytest.approx(0.325 + 0.25 * 0.475)
    assert relu_out["p50_per_unit"][0] == pytest.approx([0.325, 0.0])
    assert relu_out["dead"][0] == 0.5                                       # unit 1 is 0 on every probe row
    assert "dead" not in dense_out and "saturated" not in dense_out
    assert sorted(relu_out["values"][0]) == pytest.approx(sorted(values))   # 6 values, fewer than sample


def test_percentiles_are_numpys_to_the_last_bit():
    """The monitor sorts once instead of calling np.percentile (5-10x faster); the numbers must not change."""
    from deeplearner.monitor import percentiles_of

    rng = np.random.default_rng(0)
    q = (0, 15, 33.3, 50, 85, 99.9, 100)
    for shape in [(7,), (1,), (100, 500), (3, 2)]:
        A = rng.normal(size=shape) * 37.0
        np.testing.assert_array_equal(percentiles_of(A, q), np.moveaxis(np.percentile(A, q, axis=-1), 0, -1))
    assert np.isnan(percentiles_of(np.array([1.0, np.nan, 3.0]), (50,))).all()


# ---------------------------------------------------------------- crafted activations
def test_percentiles_of_crafted_outputs():
    probe = np.arange(101.0).reshape(101, 1) * np.ones((1, 2))             # each unit: 0, 1, ..., 100
    probe[:, 1] *= 2                                                       # unit 1: 0, 2, ..., 200
    _, monitor = fit_once([Activation("relu")], probe[:4], np.zeros((4, 2)), probe,
                          percentiles=(15, 50, 85))
    out = monitor.outputs["0 relu"]
    assert out["p15_per_unit"][0].tolist() == [15, 30]
    assert out["p85_per_unit"][0].tolist() == [85, 170]
    assert out["p50"][0] == pytest.approx(np.median(np.r_[np.arange(101), 2 * np.arange(101)]))


def test_dead_relu_units_are_those_zero_on_every_probe_row():
    probe = np.array([[1.0, -1.0, 0.0, -2.0, 0.0],
                      [2.0, -3.0, 0.0, 0.5, -1.0],
                      [-1.0, -1.0, 0.0, -1.0, 0.0]])
    # unit 0: alive; 1: dead (negative); 2: dead (exactly 0); 3: alive on one row; 4: dead.
    _, monitor = fit_once([Activation("relu")], probe, np.zeros((3, 5)), probe)
    assert monitor.outputs["0 relu"]["dead"][0] == pytest.approx(3 / 5)


@pytest.mark.parametrize("name, inputs, saturated", [
    # sigmoid(4.6) = 0.99005: |y - 0.5| = 0.49005 > 0.49; sigmoid(4.5) = 0.98901 is not saturated.
    ("sigmoid", [10.0, -10.0, 4.6, -4.6, 4.5, -4.5, 0.0, 1.0], 4 / 8),
    # tanh(2.3) = 0.98010 > 0.98; tanh(2.2) = 0.97574 is not.
    ("tanh", [3.0, -2.3, 2.3, 2.2, -2.2, 0.0], 3 / 6),
])
def test_saturated_fraction_of_sigmoid_and_tanh(name, inputs, saturated):
    probe = np.array(inputs).reshape(-1, 2)
    _, monitor = fit_once([Activation(name)], probe, np.zeros_like(probe), probe)
    assert monitor.outputs[f"0 {name}"]["saturated"][0] == pytest.approx(saturated)
    assert "dead" not in monitor.outputs[f"0 {name}"]


class Rows(Layer):
    """(batch, c, h, w) -> (batch, c h w): just enough Flatten for an image model in a test."""

    def outputshape(self):
        return int(np.prod(self.inputshape))

    def forward(self, X, training=True):
        self.shape = X.shape
        return X.reshape(len(X), -1)

    def backward(self, dY):
        return dY.reshape(self.shape)


def test_on_images_a_dead_unit_is_a_channel_zero_at_every_position():
    probe = np.ones((2, 3, 2, 2))             # (batch, channels, height, width)
    probe[:, 1] = -1.0                        # channel 1: negative everywhere -> dead
    probe[:, 2] = -1.0
    probe[1, 2, 1, 1] = 0.0                   # channel 2: negative or 0 everywhere -> dead
    probe[1, 0, :, :] = -5.0                  # channel 0: alive on sample 0 only
    _, monitor = fit_once([Activation("relu"), Rows()], probe, np.zeros((2, 12)), probe, input_shape=(3, 2, 2))
    out = monitor.outputs["0 relu"]
    assert out["dead"][0] == pytest.approx(2 / 3)
    assert out["p50_per_unit"].shape == (1, 3)                             # one column per channel
    assert out["p50_per_unit"][0].tolist() == [0.5, 0.0, 0.0]              # channel 0: four 1s, four 0s


def test_values_keep_evenly_spaced_entries_up_to_sample():
    probe = np.arange(40.0).reshape(20, 2)
    _, monitor = fit_once([Activation("relu")], probe, np.zeros((20, 2)), probe, sample=5)
    assert monitor.outputs["0 relu"]["values"][0].tolist() == [0, 10, 20, 29, 39]   # round(linspace(0, 39, 5))


# ---------------------------------------------------------------- when it records, and what it leaves alone
def classifier(seed=0):
    return Sequential([Dense(8), BatchNorm(), Activation("relu"), Dropout(0.3), Dense(3), Activation("softmax")],
                      SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(), input_shape=4, seed=seed)


def blobs(n=90, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    return rng.normal(size=(n, 4)) + y[:, None], y


def test_a_monitored_run_trains_bit_identically_to_an_unmonitored_one():
    """The probe's training-mode forward moves BatchNorm statistics and draws Dropout masks: both put back."""
    X, y = blobs()
    plain, watched = classifier(), classifier()
    h1 = plain.fit(X, y, X, y, epochs=4, batch_size=16, verbose=0)
    h2 = watched.fit(X, y, X, y, epochs=4, batch_size=16, verbose=0, callbacks=[LayerMonitor(X[:20], every=3)])
    assert h1 == h2
    for a, b in zip(plain.get_weights(), watched.get_weights()):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    assert plain.rng.bit_generator.state == watched.rng.bit_generator.state


def test_records_every_n_steps_counted_across_fit_calls():
    X, y = blobs()
    model, monitor = classifier(), LayerMonitor(X[:10], every=4, layers=[0, -1])
    model.fit(X, y, epochs=2, batch_size=30, verbose=0, callbacks=[monitor])     # steps 1..6
    model.fit(X, y, epochs=2, batch_size=30, verbose=0, callbacks=[monitor])     # steps 7..12
    assert monitor.steps.tolist() == [4, 8, 12]
    assert monitor.names == ["0 Dense", "5 softmax"]
    assert monitor.outputs["5 softmax"]["mean"] == pytest.approx([1 / 3] * 3)  # rows of probabilities
    assert monitor.name_of(5) == monitor.name_of("5 softmax") == "5 softmax"


def test_inference_mode_probe_uses_the_running_statistics():
    X, y = blobs()
    model = classifier()
    monitor = LayerMonitor(X[:30], every=1, layers=[1], training=False)
    model.fit(X, y, epochs=1, batch_size=90, shuffle=False, verbose=0, callbacks=[monitor])
    expected = model.layers[1].forward(model.layers[0].forward(X[:30], False), False)
    assert monitor.outputs["1 BatchNorm"]["mean"][0] == pytest.approx(expected.mean())


class BatchEnds(Callback):
    def __init__(self):
        self.seen = []

    def on_batch_end(self, model, batch, logs):
        self.seen.append((batch, logs["size"], logs["loss"]))


def test_fit_calls_on_batch_end_with_the_batch_number_and_loss():
    X, y = blobs(n=50)
    calls = BatchEnds()
    model = classifier()
    model.fit(X, y, epochs=2, batch_size=20, shuffle=False, verbose=0, callbacks=[calls])
    assert [(batch, size) for batch, size, _ in calls.seen] == [(1, 20), (2, 20), (3, 10)] * 2
    assert all(np.isfinite(loss) for _, _, loss in calls.seen)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs, message", [
    ({"every": 0}, r"LayerMonitor: every must be an integer >= 1 \(record every that many steps\), "
                   r"received every=0\."),
    ({"sample": 0}, r"LayerMonitor: sample must be an integer >= 1 .*received sample=0\."),
    ({"percentiles": (15, 150)}, r"LayerMonitor: percentiles must be numbers in \[0, 100\], e.g. \(15, 50, 85\), "
                                 r"received percentiles=\(15.0, 150.0\)\."),
    ({"percentiles": "abc"}, r"LayerMonitor: percentiles must be numbers in \[0, 100\]"),
    ({"layers": "0"}, r"LayerMonitor: layers must be a list of layer positions \(ints\), e.g. \[0, 2\], "
                      r"received layers='0'\."),
])
def test_constructor_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LayerMonitor(np.zeros((4, 4)), **kwargs)


def test_errors_when_training_begins():
    X, y = blobs()
    with pytest.raises(ValueError, match=r"LayerMonitor: X_probe has 3 features per sample, but the model "
                                         r"expects 4"):
        classifier().fit(X, y, verbose=0, callbacks=[LayerMonitor(X[:, :3])])
    with pytest.raises(ValueError, match=r"LayerMonitor: X_probe needs at least 2 samples \(BatchNorm in "
                                         r"training mode needs two to compute a variance\), received 1\."):
        classifier().fit(X, y, verbose=0, callbacks=[LayerMonitor(X[:1])])
    with pytest.raises(ValueError, match=r"LayerMonitor: layers=\[2, 6\] holds positions \[6\], but the model "
                                         r"has 6 layers \(0 to 5\)\."):
        classifier().fit(X, y, verbose=0, callbacks=[LayerMonitor(X[:5], layers=[2, 6])])
    monitor = LayerMonitor(X[:5], every=1)
    with pytest.raises(ValueError, match=r"LayerMonitor: nothing recorded yet. Pass the monitor to fit"):
        monitor.name_of(0)
    classifier().fit(X, y, epochs=1, verbose=0, callbacks=[monitor])
    with pytest.raises(ValueError, match=r"LayerMonitor: no recorded layer 9; the recorded layers are "
                                         r"\['0 Dense', '1 BatchNorm'"):
        monitor.name_of(9)
    with pytest.raises(ValueError, match=r"LayerMonitor: this monitor already holds the records of another "
                                         r"model. Create one LayerMonitor per model\."):
        classifier().fit(X, y, verbose=0, callbacks=[monitor])


def test_a_convolutional_network_is_monitored_per_channel():
    from deeplearner import Conv2D, Flatten

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 1, 6, 6)), np.arange(20) % 2
    model = Sequential([Conv2D(3, 3), BatchNorm(), Activation("relu"), Flatten(), Dense(2), Activation("softmax")],
                       SGD(learning_rate=0.1), CrossEntropyForSoftMax(), input_shape=(1, 6, 6), seed=0)
    monitor = LayerMonitor(X[:5], every=1)
    model.fit(X, y, epochs=1, batch_size=10, verbose=0, callbacks=[monitor])
    assert monitor.outputs["2 relu"]["p50_per_unit"].shape == (2, 3)        # one column per channel
    # The last record holds the gradient of the last step, which is still in layer.grads.
    assert monitor.grad_norms["0 Conv2D"]["W"][-1] == pytest.approx(np.linalg.norm(model.layers[0].grads["W"]))

"""The traps of a Keras user's and a student's first hour: each is answered, by name, with the fix."""

import argparse
import warnings
from pathlib import Path

import numpy as np
import pytest

import deeplearner
from deeplearner import (SGD, Activation, Adam, AdamW, AvgPool2D, BatchNorm, Conv2D, CrossEntropyForSoftMax, Dense,
                         Dropout, EarlyStopping, Flatten, GroupNorm, InstanceNorm, Layer, LayerNorm, MaxPool2D,
                         MeanSquaredError, ModelCheckpoint, ReduceLROnPlateau, RMSprop, Sequential, TrainingWarning)
from deeplearner.datasets import load_mnist20, to_images
from deeplearner.layers.base import NotBuiltError

ROOT = Path(__file__).resolve().parent.parent
rng = np.random.default_rng(0)


def classifier(n_in=3, n_out=4, *layers):
    return Sequential([*layers, Dense(n_out), Activation("softmax")], SGD(learning_rate=0.1),
                      CrossEntropyForSoftMax(), input_shape=n_in, seed=0)


def image_model(channels=1):
    return Sequential([Conv2D(2, 3), Flatten(), Dense(3), Activation("softmax")], SGD(learning_rate=0.1),
                      CrossEntropyForSoftMax(), input_shape=(channels, 20, 20), seed=0)


@pytest.fixture
def no_training_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingWarning)
        yield


# ---------------------------------------------------------------- 1. no silent split by class
def test_validation_split_on_the_sorted_digits_warns_naming_the_classes():
    """The last fifth of load_mnist20() is 8s and 9s: 500 each of 0..7 train, 4000 * 0.2 / ... = 125 expected."""
    X, y = load_mnist20()
    with pytest.warns(TrainingWarning, match=r"fit: validation_split=0\.2 validates on the last 1000 rows as given, "
                                             r"before any shuffling\. These rows hold the classes 8, 9, which the "
                                             r"4000 training samples never hold .* and none of the classes 0, 1, 2, "
                                             r"3, 4, 5, 6, 7, of which a random split would have put at least 125 "
                                             r"each there\. The rows look sorted by class: shuffle them first .*"
                                             r"train_test_split\(X, y, test_size=0\.2, stratify=y\)"):
        classifier(400, 10).fit(X, y, validation_split=0.2, epochs=1, batch_size=500, verbose=0, threads=1)


def test_validation_split_on_shuffled_digits_is_quiet(no_training_warning):
    X, y = load_mnist20(shuffle=True)
    classifier(400, 10).fit(X, y, validation_split=0.2, epochs=1, batch_size=500, verbose=0, threads=1)


def test_validation_data_with_a_class_the_training_labels_never_hold_warns():
    """Integer labels 0..3 map to units 0..3 even when y lacks one, so y_valid's 3 is accepted: and warned about."""
    X = rng.standard_normal((40, 3))
    with pytest.warns(TrainingWarning, match=r"The validation data \(10 samples\) holds the classes 3, which the 40 "
                                             r"training samples never hold .*stratify=y"):
        classifier().fit(X, np.arange(40) % 3, X[:10], np.arange(10) % 4, verbose=0)


@pytest.mark.parametrize("count, warns", [(20, True), (19, False)])
def test_a_class_missing_from_validation_warns_when_a_random_split_would_hold_5(count, warns):
    """Class 2 has `count` of 40 training rows and 10 validation rows have none: expected count * 10 / 40.

    20 -> 5.0 (warns), 19 -> 4.75 (a small validation set may miss it by chance: quiet).
    """
    y = np.array([2] * count + [0, 1] * 20)[:40]
    y_valid = np.arange(10) % 2                                  # classes 0 and 1 only
    X = rng.standard_normal((40, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TrainingWarning)
        classifier().fit(X, y, X[:10], y_valid, verbose=0)
    messages = [str(w.message) for w in caught if issubclass(w.category, TrainingWarning)]
    assert any("holds none of the classes 2, of which a random split would have put at least 5" in m
               for m in messages) == warns, messages


def test_regression_targets_are_not_checked_for_classes(no_training_warning):
    model = Sequential([Dense(1)], SGD(learning_rate=0.01), MeanSquaredError(), input_shape=3, seed=0)
    X = rng.standard_normal((40, 3))
    model.fit(X, np.arange(40.0), validation_split=0.5, verbose=0)


def test_fit_docstring_states_the_rule():
    doc = Sequential.fit.__doc__
    assert "hold a class that the training labels never do" in doc and "n_valid / n_train >= 5" in doc


# ---------------------------------------------------------------- 2. every constructor answers a Keras spelling
@pytest.mark.parametrize("make, message", [
    (lambda: Dense(10, activation="relu"), r"Dense\(\) got an unexpected keyword argument 'activation'\. An "
                                           r"activation is a layer of its own here: drop activation= and add "
                                           r"Activation\('relu'\) after it, e\.g\. \[Dense\(\.\.\.\), "
                                           r"Activation\('relu'\), \.\.\.\]\. Dense takes units, init, "
                                           r"kernel_regularizer"),
    (lambda: Conv2D(8, 3, activation="relu"), r"Conv2D\(\) got .* add Activation\('relu'\) after it"),
    (lambda: Dense(10, activation=None), r"Drop activation=None: a Dense is linear unless an Activation layer"),
    (lambda: MaxPool2D(2, strides=2), r"MaxPool2D\(\) got an unexpected keyword argument 'strides'\. Did you mean "
                                      r"stride=\? deeplearner spells Keras's strides= as stride=\. MaxPool2D takes "
                                      r"pool_size, stride\.$"),
    (lambda: AvgPool2D(2, strides=2), r"AvgPool2D\(\) got .* Did you mean stride=\?"),
    (lambda: Conv2D(8, 3, strides=2), r"Conv2D\(\) got .* Did you mean stride=\?"),
    (lambda: Adam(lr=0.001), r"Adam\(\) got an unexpected keyword argument 'lr'\. Did you mean learning_rate=\? "
                             r"deeplearner spells Keras's lr= as learning_rate=\. Adam takes learning_rate, beta_1"),
    (lambda: SGD(lr=0.1, momentum=0.9), r"SGD\(\) got .* 'lr'\. Did you mean learning_rate=\?"),
    (lambda: AdamW(epsilon=1e-7), r"AdamW\(\) got .* 'epsilon'\. Did you mean eps=\?"),
    (lambda: RMSprop(decay=1e-6), r"RMSprop\(\) got .* 'decay'\. .*callbacks=\[ExponentialDecay\(0\.95\)\]"),
    (lambda: Adam(beta1=0.9), r"Adam\(\) got .* 'beta1'\. Did you mean beta_1=\?"),
    (lambda: BatchNorm(epsilon=1e-3), r"BatchNorm\(\) got .* 'epsilon'\. Did you mean eps=\?"),
    (lambda: BatchNorm(axis=-1), r"BatchNorm\(\) got .* 'axis'\. BatchNorm has no axis argument"),
    (lambda: Dense(10, kernel_initializer="he_normal"), r"'kernel_initializer'\. Did you mean init=\?"),
    (lambda: Dense(10, input_shape=(4,)), r"'input_shape'\. The model takes the shape of one sample, not a layer: "
                                          r"drop input_shape= here and pass Sequential\(layers, optimizer, loss, "
                                          r"input_shape=\(4,\)\)"),
    (lambda: Conv2D(8, 3, data_format="channels_last"), r"'data_format'\. deeplearner takes images channels first"),
    (lambda: Dropout(0.5, seed=1), r"Dropout\(\) got an unexpected keyword argument 'seed'\. Dropout takes rate\.$"),
    (lambda: Flatten(input_shape=(1, 20, 20)), r"Flatten\(\) got .* Flatten takes no arguments\.$"),
    (lambda: LayerNorm(epsilon=1e-3), r"LayerNorm\(\) got .* Did you mean eps=\?"),
    (lambda: GroupNorm(2, epsilon=1e-3), r"GroupNorm\(\) got .* Did you mean eps=\?"),
    (lambda: InstanceNorm(epsilon=1e-3), r"InstanceNorm\(\) got .* Did you mean eps=\?"),
    (lambda: Activation("relu", name="a"), r"Activation\(\) got .* 'name'\. Layers take no name here"),
    (lambda: Dense(10, activation="relu", use_bias=False), r"'activation'\..* \(Also unknown: use_bias\.\)$"),
])
def test_a_keras_keyword_names_the_deeplearner_spelling(make, message):
    with pytest.raises(TypeError, match=message):
        make()


def test_a_pool_keyword_error_never_names_the_private_base_class():
    with pytest.raises(TypeError) as error:
        MaxPool2D(2, strides=2)
    assert "_Pool2D" not in str(error.value)


def test_a_layer_of_your_own_gets_the_same_answer():
    class Scale(Layer):
        def __init__(self, factor=2.0, **unknown):
            super().__init__(**unknown)
            self.factor = factor

    with pytest.raises(TypeError, match=r"Scale\(\) got an unexpected keyword argument 'factr'\. Did you mean "
                                        r"factor=\? Scale takes factor\.$"):
        Scale(factr=3)


@pytest.mark.parametrize("args, missing", [((), "layers, optimizer, loss"),
                                           (([Dense(2), Activation("softmax")],), "optimizer, loss"),
                                           (([Dense(2), Activation("softmax")], SGD()), "loss")])
def test_sequential_without_optimizer_and_loss_says_how_this_library_takes_them(args, missing):
    with pytest.raises(TypeError, match=rf"Sequential\(\) needs its layers, optimizer and loss at once, missing: "
                                        rf"{missing}\. Write Sequential\(layers, optimizer, loss, "
                                        rf"input_shape=\.\.\.\).*no compile\(\) step"):
        Sequential(*args, input_shape=3)


def test_sequential_unknown_keyword_names_the_fix():
    with pytest.raises(TypeError, match=r"Sequential\(\) got an unexpected keyword argument 'inputshape'\. "
                                        r"Did you mean input_shape=\?"):
        Sequential([Dense(2), Activation("softmax")], SGD(), CrossEntropyForSoftMax(), inputshape=3)


def test_compile_and_add_say_how_this_library_does_them():
    model = classifier()
    with pytest.raises(AttributeError, match=r"Sequential has no compile\(\): a model takes its optimizer and loss "
                                             r"when it is made, Sequential\(layers, optimizer, loss, input_shape=.*"
                                             r"CrossEntropyForSoftMax\(\)"):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(AttributeError, match=r"Sequential has no add\(\): pass all the layers at once"):
        model.add(Dense(3))
    with pytest.raises(AttributeError, match=r"history_ .*model\.history_\['loss'\]"):
        _ = model.history.history
    with pytest.raises(AttributeError, match=r"no predict_classes\(\): predict\(X\) returns the labels here"):
        model.predict_classes(np.zeros((1, 3)))
    assert not hasattr(model, "compile")                        # duck typing still sees no compile
    with pytest.raises(AttributeError, match=r"^'Sequential' object has no attribute 'fitt'$"):
        _ = model.fitt


@pytest.mark.parametrize("name, instead", [
    ("BatchNormalization", "BatchNorm"), ("MaxPooling2D", "MaxPool2D"), ("AveragePooling2D", "AvgPool2D"),
    ("LayerNormalization", "LayerNorm"), ("Convolution2D", "Conv2D"), ("ADAM", "Adam"), ("Rmsprop", "RMSprop"),
    ("adamw", "AdamW"), ("Conv2d", "Conv2D"), ("BatchNorm2d", "BatchNorm"), ("Linear", "Dense"),
    ("SparseCategoricalCrossentropy", "CrossEntropyForSoftMax"),
])
def test_importing_another_librarys_name_names_deeplearners(name, instead):
    with pytest.raises(ImportError, match=rf"^deeplearner has no {name}; its name here is {instead}: from "
                                          rf"deeplearner import {instead}\.$"):
        exec(f"from deeplearner import {name}", {})


@pytest.mark.parametrize("name, instead", [("ReLU", r"Activation\('relu'\)"),
                                           ("GlobalAveragePooling2D", r"(GlobalAvgPool2D|AvgPool2D\(pool_size)")])
def test_a_name_with_no_class_of_its_own_names_what_to_use(name, instead):
    with pytest.raises(ImportError, match=rf"deeplearner has no {name}(: use |; its name here is ){instead}"):
        getattr(deeplearner, name)


def test_other_missing_names_stay_attribute_errors():
    with pytest.raises(AttributeError, match=r"no attribute 'Sequentail'\. Did you mean Sequential\?"):
        _ = deeplearner.Sequentail
    assert not hasattr(deeplearner, "__wrapped__") and getattr(deeplearner, "Nothing", 1) == 1


def test_history_history_is_the_history_itself():
    history = classifier().fit(rng.standard_normal((20, 3)), np.arange(20) % 4, epochs=2, verbose=0)
    assert history.history is history and history.history["loss"] == history["loss"]


def test_predict_says_first_that_it_returns_labels():
    assert "not probabilities" in Sequential.predict.__doc__.splitlines()[0]
    assert "np.argmax(model.predict(X), axis=1)" in Sequential.predict.__doc__
    page = (ROOT / "docs" / "guide" / "keras.md").read_text()
    first_paragraph = page.split("\n\n")[2]                     # after the title and the one-line intro
    assert "**`model.predict(X)` returns the labels, not the probabilities.**" in first_paragraph


# ---------------------------------------------------------------- 3. messages that point the right way
def test_one_image_without_its_batch_axis_asks_for_X_None():
    with pytest.raises(ValueError) as error:
        image_model().predict(np.zeros((1, 20, 20)))             # X[0] of (n, 1, 20, 20)
    assert "pass X[None] (shape (1, 1, 20, 20))" in str(error.value) and "X[:, None]" not in str(error.value)


def test_one_colour_image_without_its_batch_axis_asks_for_X_None_not_another_model():
    with pytest.raises(ValueError) as error:
        image_model(3).predict(np.zeros((3, 20, 20)))
    assert "pass X[None] (shape (1, 3, 20, 20))" in str(error.value)
    assert "build the model" not in str(error.value)


def test_images_without_a_channel_axis_still_ask_for_one():
    with pytest.raises(ValueError, match=r"no channel axis: add one with X\[:, None\]"):
        image_model().predict(np.zeros((5, 20, 20)))


@pytest.mark.parametrize("shape, first, failure, fixed", [
    ((20, 20, 1), Conv2D(4, 3, padding="same"), r"MaxPool2D: pool 2x2 is larger than the input 20x1", r"\(1, 20, 20\)"),
    ((20, 20, 3), Conv2D(4, 5), r"Conv2D: kernel 5x5 is larger than the input 20x3", r"\(3, 20, 20\)"),
])
def test_a_channels_last_input_shape_says_deeplearner_is_channels_first(shape, first, failure, fixed):
    """(20, 20, 1) reads as 20 channels of 20x1 images: the first window that does not fit names the cause."""
    with pytest.raises(ValueError, match=rf"{failure} .* The shape \({shape[0]}, {shape[1]}, {shape[2]}\) looks "
                                         rf"channels-last \(height, width, channels\), as Keras stores images; "
                                         rf"deeplearner takes images channels first: build the model with "
                                         rf"input_shape={fixed} and pass X\.transpose\(0, 3, 1, 2\)\."):
        Sequential([first, MaxPool2D(2), Flatten(), Dense(3), Activation("softmax")],
                   SGD(), CrossEntropyForSoftMax(), input_shape=shape)


def test_a_channels_first_shape_that_fails_gets_no_channels_last_hint():
    with pytest.raises(ValueError) as error:
        Sequential([MaxPool2D(4), Flatten(), Dense(3), Activation("softmax")], SGD(), CrossEntropyForSoftMax(),
                   input_shape=(3, 2, 20))
    assert "channels-last" not in str(error.value)


def test_channels_last_images_of_another_size_are_named_channels_last():
    with pytest.raises(ValueError, match=r"received shape \(2, 28, 28, 1\)\. The shape \(28, 28, 1\) looks "
                                         r"channels-last .* input_shape=\(1, 28, 28\) and pass X\.transpose"):
        image_model().predict(np.zeros((2, 28, 28, 1)))
    with pytest.raises(ValueError, match=r"image model with input_shape=\(1, 20, 20\) and Flatten\(\) before its first "
                                         r"Dense, and pass X\.transpose\(0, 3, 1, 2\)"):
        classifier(400).predict(np.zeros((2, 20, 20, 1)))


def fit_with_validation(callback, validation=True):
    X, y = rng.standard_normal((30, 3)), np.arange(30) % 4
    valid = (X, y) if validation else (None, None)
    classifier().fit(X, y, *valid, epochs=2, verbose=0, callbacks=[callback])


@pytest.mark.parametrize("callback, meant", [
    (lambda: ReduceLROnPlateau(monitor="val_los"), "val_loss"),
    (lambda: EarlyStopping(monitor="val_acc"), "val_accuracy"),
    (lambda: EarlyStopping(monitor="acc"), "accuracy"),
    (lambda: ModelCheckpoint("unused.npz", monitor="val_los", save_best_only=True), "val_loss"),
])
def test_a_monitor_typo_with_validation_data_names_the_key_meant(callback, meant, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=rf"but fit logs only \['accuracy', 'loss', 'lr', 'val_accuracy', "
                                         rf"'val_loss'\]\. Did you mean monitor='{meant}'\?$"):
        fit_with_validation(callback())


def test_a_monitor_typo_without_validation_data_names_both_fixes():
    with pytest.raises(ValueError, match=r"monitor='val_acc', but fit logs only \['accuracy', 'loss', 'lr'\]\. Did "
                                         r"you mean monitor='val_accuracy'\? fit logs it only with validation data\. "
                                         r"Pass validation data to fit"):
        fit_with_validation(EarlyStopping(monitor="val_acc"), validation=False)
    with pytest.raises(ValueError, match=r"monitor='val_loss', .*\['accuracy', 'loss', 'lr'\]\. Pass validation "
                                         r"data to fit \(X_valid, y_valid, validation_data= or validation_split=\), "
                                         r"or monitor one of those\.$"):
        fit_with_validation(EarlyStopping(), validation=False)


@pytest.mark.parametrize("layer, X, missing", [
    (BatchNorm(), np.zeros((4, 3)), "weight 'gamma'"),
    (BatchNorm(), np.zeros((4, 2, 3, 3)), "weight 'gamma'"),
    (Dense(3), np.zeros((4, 3)), "weight 'W'"),
    (Conv2D(3, 3), np.zeros((4, 1, 5, 5)), "attribute 'out_hw'"),
    (MaxPool2D(2), np.zeros((4, 1, 4, 4)), "attribute"),
    (AvgPool2D(2), np.zeros((4, 1, 4, 4)), "attribute"),
    (LayerNorm(), np.zeros((4, 3)), "attribute 'n_groups'"),
    (GroupNorm(2), np.zeros((4, 4, 3, 3)), "attribute 'n_groups'"),
    (InstanceNorm(), np.zeros((4, 4, 3, 3)), "attribute 'n_groups'"),
])
def test_a_layer_used_before_build_names_build_and_sequential(layer, X, missing):
    with pytest.raises(RuntimeError, match=rf"{type(layer).__name__} is not built, so it has no {missing}.* yet: a "
                                           rf"layer creates its weights in build\(input_shape, rng, dtype\).*Put the "
                                           rf"layer in a Sequential model"):
        layer.forward(X)


def test_not_built_is_an_attribute_error_too_so_getattr_defaults_still_work():
    layer = BatchNorm()
    assert isinstance(NotBuiltError("x"), AttributeError)
    assert getattr(layer, "values_per_sample", "default") == "default" and layer.params == {}
    layer.build(3, np.random.default_rng(0), np.float64)
    with pytest.raises(AttributeError) as error:
        _ = layer.no_such_thing
    assert not isinstance(error.value, NotBuiltError)           # once built, a missing attribute is just that


def test_a_built_layer_without_weights_has_a_plain_params_dict():
    layer = Flatten()
    layer.build((1, 2, 2), np.random.default_rng(0), np.float64)
    with pytest.raises(KeyError):
        layer.params["W"]


# ---------------------------------------------------------------- 4. surprises for a student
def test_the_digits_docstrings_warn_that_reshape_transposes_and_point_to_to_images():
    for doc in (deeplearner.datasets.__doc__, load_mnist20.__doc__):
        assert "X.reshape(-1, 1, 20, 20)" in doc and "to_images(X)[:, None]" in doc
    X, y = load_mnist20()
    images, _ = load_mnist20(images=True)
    np.testing.assert_array_equal(to_images(X)[:, None], images)
    np.testing.assert_array_equal(X.reshape(-1, 1, 20, 20), images.transpose(0, 1, 3, 2))   # transposed, silently


@pytest.fixture
def examples(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    import gradients_depth
    import init_scale
    from train_handwritten import split
    return init_scale, gradients_depth, split


def test_init_scale_runs_at_chance_raise_no_training_warning(examples, no_training_warning):
    """std 1e-4 without BatchNorm stays at chance; 5 epochs of 10 steps is enough for fit to warn, unless caught."""
    init_scale, _, _ = examples
    X, y = load_mnist20(shuffle=True)
    data = (X[:1000], X[1000:1500], y[:1000], y[1000:1500])
    curves, _, _ = init_scale.run(1e-4, False, data, 5, 0)
    assert max(curves) < 0.2                                    # the failure the experiment provokes
    assert "on purpose" in init_scale.AT_CHANCE


def test_gradients_depth_without_batchnorm_raises_no_training_warning(examples, no_training_warning):
    _, gradients_depth, split = examples
    data = [part[:1000] for part in split(*load_mnist20())]
    args = argparse.Namespace(activation="sigmoid", depth=10, width=50, seed=0)
    _, history = gradients_depth.run(False, data, args, 5)
    assert max(history["accuracy"]) < 0.2
    assert "on purpose" in gradients_depth.AT_CHANCE


# ---------------------------------------------------------------- 5. the seed notebook's spellings keep working
class SeedScale(Layer):
    """A layer in the seed's style: no super().__init__(), weights made in setup from self.inputshape."""

    def __init__(self):
        pass

    def setup(self, optimizer, loss):
        self.a = np.ones(self.inputshape)

    def forward(self, X, training=True):
        return X * self.a

    def backward(self, dY):
        return dY * self.a

    def outputshape(self):
        return self.inputshape


def test_the_seed_spellings_batchsize_input_dim_and_inputshape_keep_working():
    X, y = rng.standard_normal((30, 3)), np.arange(30) % 4

    def model(**shape):
        return Sequential([SeedScale(), Dense(4), Activation("softmax")], SGD(learning_rate=0.1),
                          CrossEntropyForSoftMax(), seed=0, **shape)

    seed_style, keras_style = model(input_dim=3), model(input_shape=3)
    assert seed_style.layers[0].inputshape == 3 and seed_style.layers[0].a.shape == (3,)
    assert seed_style.fit(X, y, epochs=2, batchsize=8, verbose=0) == keras_style.fit(X, y, epochs=2, batch_size=8,
                                                                                      verbose=0)


def test_one_place_says_the_seed_spellings_work():
    page = (ROOT / "docs" / "guide" / "keras.md").read_text()
    section = page[page.index("The seed notebook's own spellings keep working"):]
    assert all(spelling in section[:600] for spelling in ("batchsize=", "input_dim=", "self.inputshape"))


def test_the_layers_package_and_a_residual_block_answer_keras_names_too():
    from deeplearner import Conv2D, Residual
    with pytest.raises(ImportError, match=r"its name here is BatchNorm"):
        from deeplearner.layers import BatchNormalization  # noqa: F401
    with pytest.raises(TypeError, match=r"add Activation\('relu'\) after it"):
        Residual([Conv2D(8, 3, padding=1)], activation="relu")
    from deeplearner.layers import reference   # a submodule not yet imported still imports  # noqa: F401

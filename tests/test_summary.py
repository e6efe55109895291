"""summary(): what it counts and how it says what it cannot count."""

from deeplearner import SGD, Activation, BatchNorm, CrossEntropyForSoftMax, Dense, Sequential
from helpers import SelfTrainingScale


def summary_lines(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines[0].splitlines()


def test_a_frozen_layer_counts_as_non_trainable():
    model = Sequential([Dense(4), BatchNorm(), Activation("relu"), Dense(2), Activation("softmax")],
                       SGD(), CrossEntropyForSoftMax(), input_shape=3, seed=0)
    model.layers[0].trainable = False
    lines = summary_lines(model)
    # Dense(4) on 3 inputs: 3*4 + 4 = 16 frozen; BatchNorm(4): 8 trained + 8 statistics; Dense(2): 4*2 + 2 = 10.
    assert "Trainable params: 18" in lines and "Non-trainable params: 24" in lines


def test_a_seed_style_layer_is_marked_uncounted_not_zero():
    model = Sequential([Dense(4), SelfTrainingScale(), Dense(2), Activation("softmax")],
                       SGD(), CrossEntropyForSoftMax(), input_shape=3, seed=0)
    lines = summary_lines(model)
    row = next(line for line in lines if "SelfTrainingScale" in line)
    assert row.rstrip("| ").endswith("?")
    assert any(line.startswith("?: a layer that keeps its weights outside self.params") for line in lines)
    assert "Total params: 26" in lines      # 3*4 + 4 and 4*2 + 2: only what can be seen

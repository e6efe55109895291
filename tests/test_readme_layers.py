"""The "Write your own layer" page's examples (docs/guide/own-layer.md) run as printed, and their layers train."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "docs" / "guide" / "own-layer.md"


def layer_examples():
    """The python blocks of the "Write your own layer" page, in order."""
    section = README.read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def run(source):
    namespace = {"__name__": "readme_example"}
    exec(compile(source, str(README), "exec"), namespace)
    return namespace


def test_the_section_has_one_example_per_style():
    blocks = layer_examples()
    assert len(blocks) == 2
    assert "class Scale(Layer)" in blocks[0] and "self.grads" in blocks[0]
    assert "class SeedScale(Layer)" in blocks[1] and "def setup(self, optimizer, loss)" in blocks[1]


def test_the_params_grads_example_checks_and_trains(capsys):
    namespace = run(layer_examples()[0])
    assert namespace["check"].max_error < 1e-8
    history = namespace["history"]
    assert history["val_accuracy"][-1] > 0.9
    assert capsys.readouterr().out.splitlines()[1] == repr(history)   # it prints what the comment says


def test_the_seed_style_example_trains_its_own_weights_to_the_same_numbers():
    first, second = run(layer_examples()[0]), run(layer_examples()[1])
    layer = second["model"].layers[1]
    assert not (layer.a == 1).all() and not (layer.c == 0).all()    # it updated itself inside backward
    assert second["history"] == first["history"]                     # as the page says

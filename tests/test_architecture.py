"""The shape of the code: the layers hold their math, machinery lives in its own packages.

Each rule here is one that the source tree promises its reader (README "The source tree"):
parallelism is spoken of in a handful of lines of ``deeplearner/layers/``; no module reaches
into another file's private members; no subpackage imports the top package; the training step
is written once; a fixed-seed fit on one thread gives the numbers it gave before the core was
reorganized, bit for bit.
"""

import ast
import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

import deeplearner as dl
from deeplearner import registry

PACKAGE = Path(dl.__file__).resolve().parent
SOURCES = sorted(PACKAGE.rglob("*.py"))
PARALLELISM = re.compile(r"split|replica|thread|parallel", re.IGNORECASE)


def lines_about_parallelism(path):
    return [line for line in path.read_text().splitlines() if PARALLELISM.search(line)]


def test_the_layers_speak_of_parallelism_in_at_most_eight_lines_and_batchnorm_in_three():
    counts = {path.name: len(lines_about_parallelism(path)) for path in (PACKAGE / "layers").glob("*.py")}
    assert sum(counts.values()) <= 8, counts
    assert counts["batchnorm.py"] <= 3, lines_about_parallelism(PACKAGE / "layers" / "batchnorm.py")


def test_the_line_count_above_can_fail():
    text = "total = (lambda partial: partial) if self.split is None else self.split.total\n"
    assert PARALLELISM.search(text)


def private_reaches(sources):
    """(file, line, text) for each ``obj._name`` (obj not self/cls) and ``from m import _name`` whose
    private name is not defined in that same file (as a def, a class, a module name or self._name)."""
    defined, uses = defaultdict(set), []
    for path in sources:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined[node.name].add(path)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined[node.id].add(path)
            elif (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
                  and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                defined[node.attr].add(path)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                uses.append((path, node.lineno, ast.unparse(node), node.attr))
            elif isinstance(node, ast.ImportFrom):
                uses += [(path, node.lineno, f"from {node.module} import {alias.name}", alias.name)
                         for alias in node.names if alias.name.startswith("_") and not alias.name.startswith("__")]
    return [(path.name, line, text) for path, line, text, name in uses if path not in defined[name]]


def test_no_module_uses_a_private_member_that_another_file_defines():
    assert private_reaches(SOURCES) == []


def test_the_private_reach_check_can_fail(tmp_path):
    (tmp_path / "a.py").write_text("class A:\n    def _step(self):\n        pass\n")
    (tmp_path / "b.py").write_text("def train(model):\n    return model._step()\n")
    assert [text for _, _, text in private_reaches([tmp_path / "a.py", tmp_path / "b.py"])] == ["model._step"]


def imports_of_the_top_package(path):
    """The imports in ``path`` that bind the top package or a name from its __init__."""
    depth = len(path.relative_to(PACKAGE).parts) - 1         # 0 for deeplearner/x.py, 1 for deeplearner/sub/x.py
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import) and any(alias.name == "deeplearner" for alias in node.names):
            found.append(ast.unparse(node))
        elif isinstance(node, ast.ImportFrom):
            top = node.module == "deeplearner" or (node.level == depth + 1 and node.module is None)
            submodules = {child.stem for child in PACKAGE.iterdir()}
            if top and not all(alias.name in submodules for alias in node.names):
                found.append(ast.unparse(node))
    return found


def test_nothing_inside_the_package_imports_the_top_package():
    inside = [path for path in SOURCES if path.parent != PACKAGE or path.name != "__init__.py"]
    assert {str(path.relative_to(PACKAGE)): imports_of_the_top_package(path) for path in inside
            if imports_of_the_top_package(path)} == {}


def test_the_top_package_import_check_can_fail(tmp_path, monkeypatch):
    bad = PACKAGE / "layers" / "dense.py"
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: "from .. import __version__\nimport deeplearner\n")
    assert imports_of_the_top_package(bad) == ["from .. import __version__", "import deeplearner"]


def test_the_backward_pass_over_the_layers_is_written_once():
    """Only model/step.py runs a loss's backward and then the layers' backwards in reverse."""
    writers = [str(path.relative_to(PACKAGE)) for path in SOURCES
               if re.search(r"loss\w*\.backward\(\)", path.read_text())
               and re.search(r"\.backward\(dY\)", path.read_text())]
    assert writers == ["model/step.py"]


def test_defining_a_layer_optimizer_or_loss_class_registers_it_and_only_deeplearner_s_own_count():
    for name in ("Dense", "BatchNorm", "Conv2D", "MaxPool2D", "SGD", "Adam", "RMSprop", "CrossEntropyForSoftMax",
                 "MeanSquaredError"):
        assert registry.built_in(name) is getattr(dl, name)

    class Mine(dl.Layer):
        pass

    class Dense(dl.Layer):       # a class of yours with a built-in's name does not replace it
        pass

    assert registry.built_in("Mine") is None and registry.built_in("Dense") is dl.Dense


def test_every_public_layer_optimizer_and_loss_is_registered():
    bases = (dl.Layer, dl.Optimizer, dl.Loss)
    public = [getattr(dl, name) for name in dl.__all__]
    classes = [cls for cls in public if isinstance(cls, type) and issubclass(cls, bases) and cls not in bases]
    assert classes and all(registry.built_in(cls.__name__) is cls for cls in classes)


# ---------------------------------------------------------------- the same numbers as before
BEFORE = json.loads((Path(__file__).parent / "data" / "histories_before_the_redesign.json").read_text())


def fixed_seed_runs():
    """The runs of tests/data/histories_before_the_redesign.json, written by the code before the
    core was reorganized (threads and the batch split moved to deeplearner/parallel/)."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    mlp = dl.Sequential([dl.Dense(32), dl.BatchNorm(), dl.Activation("relu"), dl.Dropout(0.2),
                         dl.Dense(10), dl.Activation("softmax")],
                        dl.SGD(learning_rate=0.1, momentum=0.9), dl.CrossEntropyForSoftMax(), input_shape=64, seed=3)
    yield "mlp_bn_dropout_sgd", mlp, mlp.fit(X[:600], y[:600], X[600:800], y[600:800], epochs=3, batch_size=50,
                                             verbose=0, threads=1)
    images = X[:400].reshape(-1, 1, 8, 8)
    cnn = dl.Sequential([dl.Conv2D(4, 3, padding=1), dl.BatchNorm(), dl.Activation("relu"), dl.MaxPool2D(2),
                         dl.Conv2D(6, 3), dl.AvgPool2D(2), dl.Flatten(), dl.Dense(10), dl.Activation("softmax")],
                        dl.Adam(learning_rate=0.01), dl.CrossEntropyForSoftMax(), input_shape=(1, 8, 8), seed=5)
    yield "cnn_bn_adam", cnn, cnn.fit(images[:300], y[:300], images[300:], y[300:400], epochs=2, batch_size=40,
                                      verbose=0, threads=1)
    reg = dl.Sequential([dl.Dense(16), dl.Activation("tanh"), dl.Dense(3)], dl.RMSprop(learning_rate=0.01),
                        dl.MeanSquaredError(), input_shape=64, seed=7)
    T = np.stack([X[:300, 10], X[:300, 20], X[:300, 30]], axis=1)
    yield "regression_rmsprop", reg, reg.fit(X[:300], T, epochs=2, batch_size=32, verbose=0, threads=1)


def blas_kernels():
    from threadpoolctl import threadpool_info
    return [[info["internal_api"], info.get("architecture")] for info in threadpool_info()
            if info["user_api"] == "blas"]


@pytest.mark.parametrize("name, model, history", list(fixed_seed_runs()), ids=lambda value: value
                         if isinstance(value, str) else "")
def test_a_fixed_seed_fit_on_one_thread_gives_the_numbers_it_gave_before(name, model, history):
    before = BEFORE[name]
    weights = [float(np.sum(w, dtype=np.float64)) for layer in model.get_weights() for w in layer.values()]
    expected_weights = [float.fromhex(value) for value in before["weights"]]
    same_kernel = blas_kernels() == BEFORE["blas"]     # another BLAS kernel rounds differently
    for key, values in before["history"].items():
        expected = [float.fromhex(value) for value in values]
        if same_kernel:                                        # bit for bit (nan == nan for regression)
            assert [value.hex() for value in history[key]] == [value.hex() for value in expected], key
        else:
            np.testing.assert_allclose(history[key], expected, rtol=1e-9, err_msg=key)
    if same_kernel:
        assert weights == expected_weights
    else:
        np.testing.assert_allclose(weights, expected_weights, rtol=1e-8)


# ---------------------------------------------------------------- the README's tree is the tree
def readme_tree():
    """The files the README's "The source tree" block lists, as paths below deeplearner/, with their lines."""
    text = (PACKAGE.parent / "README.md").read_text()
    block = text.split("## The source tree", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    listed, folders = {}, []
    for line in block.splitlines()[1:]:                 # the first line is deeplearner/ itself
        depth = (len(line) - len(line.lstrip())) // 2 - 1
        name = line.split()[0]
        folders = folders[:depth]
        if name.endswith("/"):
            folders.append(name.rstrip("/"))
        else:
            listed["/".join([*folders, name])] = line
    return listed


def test_the_readme_tree_lists_every_file_of_the_package_once_with_a_line_each():
    actual = {str(path.relative_to(PACKAGE)) for path in SOURCES if path.name != "__init__.py"}
    actual |= {str(path.relative_to(PACKAGE)) for path in (PACKAGE / "data").iterdir()}
    listed = readme_tree()
    assert set(listed) == actual
    assert all(len(line.split()) > 1 for line in listed.values())   # each with its line

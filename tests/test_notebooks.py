"""Where learners work: every notebook runs in a fresh Jupyter kernel, and fit and the figures look right there.

Each notebook in notebooks/ is executed with nbclient, as CI does, and fails the test on any
error. A notebook written here, as a learner would, checks what Jupyter receives from fit (one
live display, no escape codes), from the plot functions (PNG pictures, with no %matplotlib
inline typed first) and from a model, a layer and a history as cell results.
"""

import json
import os
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def execute(notebook, cwd):
    """Run ``notebook`` in a fresh python3 kernel in ``cwd``; return the seconds it took."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # One BLAS thread unless told otherwise: these networks are small, and on a shared CI machine
    # OpenBLAS's spinning threads made them up to 10 times slower (README, Results).
    env.setdefault("OMP_NUM_THREADS", "1")
    start = time.perf_counter()
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(cwd)}})
    client.execute(env=env)
    return time.perf_counter() - start


def outputs_of(cell):
    return cell.outputs if cell.cell_type == "code" else []


# ---------------------------------------------------------------- the notebooks in notebooks/
def test_there_are_notebooks():
    assert [path.name[:3] for path in NOTEBOOKS] == ["01_", "02_", "03_"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_a_committed_notebook_holds_no_outputs(path):
    """Outputs go stale: the repository keeps notebooks stripped (python notebooks/strip_outputs.py)."""
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name} has outputs: run python notebooks/strip_outputs.py before committing")
        assert "execution" not in cell.metadata


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_a_notebook_runs_in_a_fresh_kernel(path):
    notebook = nbformat.read(path, as_version=4)
    seconds = execute(notebook, path.parent)          # any error in a cell raises CellExecutionError
    print(f"{path.name}: {seconds:.1f} s")
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell in code:
        streams = [output for output in cell.outputs if output.output_type == "stream"]
        # nothing on stderr: no warning nobody expected, no traceback printed by hand
        assert not [output.text for output in streams if output.name == "stderr"], cell.source[:80]
        if cell.source.splitlines()[-1].startswith(("plot_", "axes.")):
            assert any("image/png" in output.get("data", {}) for output in cell.outputs), cell.source[:80]
    assert "\\u001b[" not in json.dumps(nbformat.writes(notebook))   # no terminal escape codes anywhere


# ---------------------------------------------------------------- a learner's session
SESSION = [
    """from deeplearner import Sequential, Dense, BatchNorm, Activation, SGD, CrossEntropyForSoftMax
from deeplearner.datasets import load_digits
from deeplearner.plot import plot_history, plot_digits, plot_confusion_matrix
X, y = load_digits()
model = Sequential([Dense(32), BatchNorm(), Activation("relu"), Dense(10), Activation("softmax")],
                   SGD(learning_rate=0.1, momentum=0.9), CrossEntropyForSoftMax(), input_shape=64, seed=0)""",
    "history = model.fit(X[:500], y[:500], X[1400:], y[1400:], epochs=300, batch_size=500)",
    "plot_history(history)",
    "plot_digits(X[1400:], y[1400:], model.predict(X[1400:]))",
    "plot_confusion_matrix(y[1400:], model.predict(X[1400:]))",
    "model",
    "model.layers[0]",
    "history",
]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in SESSION])
    execute(notebook, tmp_path_factory.mktemp("session"))
    return notebook


def test_a_300_epoch_fit_cell_keeps_to_one_live_display(session):
    """The issue measured 201 outputs for such a cell (190 on stderr) with 712 colour codes."""
    outputs = session.cells[1].outputs
    assert len(outputs) <= 3, [output.output_type for output in outputs]
    displays = [output for output in outputs if output.output_type == "display_data"]
    assert len(displays) == 1
    lines = displays[0].data["text/plain"].splitlines()
    assert len(lines) == 12 and all(line.startswith("Epoch ") for line in lines[:11])
    assert lines[0].startswith("Epoch 1/300 - ") and lines[10].startswith("Epoch 300/300 - ")
    assert lines[11].startswith("100% (300 of 300 epochs) |")
    assert not [output for output in outputs if output.get("name") == "stderr"]


def test_no_escape_codes_or_redraws_are_saved(session):
    saved = nbformat.writes(session)
    assert "\\u001b" not in saved and "\x1b" not in saved and "\\r" not in saved


@pytest.mark.parametrize("cell", [2, 3, 4], ids=["plot_history", "plot_digits", "plot_confusion_matrix"])
def test_every_figure_shows_inline_with_no_magic_typed_first(session, cell):
    assert not any("%matplotlib" in source for source in SESSION)
    (result,) = session.cells[cell].outputs
    assert result.output_type == "execute_result" and "image/png" in result.data
    assert result.data["image/png"].startswith("iVBORw0KGgo")     # base64 of the PNG signature


def test_a_model_shows_as_its_summary_table(session):
    (result,) = session.cells[5].outputs
    # Dense 64*32 + 32, BatchNorm 4*32 (gamma, beta, two running statistics), Dense 32*10 + 10
    assert 2_080 + 128 + 330 == 2_538
    assert result.data["text/plain"] == "Sequential(5 layers, 2,538 parameters, input (64,), output (10,))"
    assert "<table>" in result.data["text/html"] and "Total params: 2,538" in result.data["text/html"]


def test_a_layer_and_a_history_print_usefully(session):
    assert session.cells[6].outputs[0].data["text/plain"] == "Dense(32)"
    assert session.cells[7].outputs[0].data["text/plain"].startswith("History(300 epochs, last: loss=")


def test_strip_outputs_leaves_only_what_a_person_wrote(session, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("strip_outputs", ROOT / "notebooks" / "strip_outputs.py")
    strip_outputs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(strip_outputs)
    path = tmp_path / "session.ipynb"
    nbformat.write(session, path)
    assert strip_outputs.strip(path) is True and strip_outputs.strip(path) is False   # then nothing to do
    stripped = nbformat.read(path, as_version=4)
    assert [cell.source for cell in stripped.cells] == SESSION
    assert all(cell.outputs == [] and cell.execution_count is None and "execution" not in cell.metadata
               for cell in stripped.cells)

"""Every deeplearner.plot figure can show itself as a PNG (Jupyter's way), and a script opens no window.

That Jupyter really shows them, in a kernel, without %matplotlib inline: test_notebooks.py.
"""

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deeplearner import plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("matplotlib")

HISTORY = {"loss": [2.0, 1.0, 0.5], "accuracy": [0.3, 0.6, 0.8]}
FIGURES = {
    "plot_history": lambda: plot.plot_history(HISTORY),
    "plot_digits": lambda: plot.plot_digits(np.eye(64)[:4], [0, 1, 2, 3], [0, 1, 1, 3], n=4, columns=2),
    "plot_confusion_matrix": lambda: plot.plot_confusion_matrix([0, 1, 1], [0, 1, 0]),
}


@pytest.mark.parametrize("name", FIGURES)
def test_each_figure_renders_itself_as_a_png_of_its_size(name):
    figure = FIGURES[name]()
    png = figure._repr_png_()                  # what IPython calls for a cell's result
    assert png[:8] == PNG_SIGNATURE
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")   # the IHDR chunk
    assert (width, height) == tuple(round(inches * 100) for inches in figure.get_size_inches())


def test_the_png_shown_is_the_png_saved(tmp_path):
    figure = plot.plot_history(HISTORY, path=tmp_path / "curves.png")
    assert figure._repr_png_() == (tmp_path / "curves.png").read_bytes()


def test_a_figure_still_pickles():
    figure = pickle.loads(pickle.dumps(plot.plot_history(HISTORY)))
    assert len(figure.axes) == 2 and figure._repr_png_()[:8] == PNG_SIGNATURE


def test_a_script_that_saves_figures_never_loads_pyplot_or_a_gui(tmp_path):
    """Without pyplot no window can open, whatever backend the machine is set to (here TkAgg)."""
    code = ("import sys\n"
            "from deeplearner import plot\n"
            "plot.plot_history({'loss': [1, 0.5], 'accuracy': [0.5, 0.7]}, path='curves.png')\n"
            "plot.plot_digits([[0.0] * 64], [1], path='digits.png')\n"
            "plot.plot_confusion_matrix([0, 1], [0, 0], path='confusion.png')\n"
            "print(sorted(m for m in sys.modules if m.startswith(('matplotlib.pyplot', 'tkinter', 'PyQt'))))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "TkAgg"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert all((tmp_path / name).read_bytes()[:8] == PNG_SIGNATURE
               for name in ("curves.png", "digits.png", "confusion.png"))


def test_a_short_run_gets_whole_epochs_on_its_axis():
    figure = plot.plot_history({"loss": [2.0, 1.0, 0.5, 0.4], "accuracy": [0.3, 0.6, 0.8, 0.9]})
    figure.canvas.draw()
    for axes in figure.axes:
        ticks = [tick for tick in axes.get_xticks() if axes.get_xlim()[0] <= tick <= axes.get_xlim()[1]]
        assert ticks and all(float(tick).is_integer() for tick in ticks), ticks

"""The figure every plot function draws on, and saving it: one place for what they all share.

The figures are built without pyplot (no global figure list, no GUI backend), so they work on a
headless machine and inside tests, and a script that saves them never opens a window. In
Jupyter, a figure that is a cell's result shows inline as a picture, with no ``%matplotlib
inline`` first (figure.py beside this file says how).
"""

from pathlib import Path


def new_figure(figsize):
    """A `NotebookFigure` (a matplotlib Figure that Jupyter shows inline), in no GUI window."""
    try:
        import matplotlib.figure  # noqa: F401 (only the check: figure.py builds on it)
    except ImportError as error:
        raise ImportError("deeplearner.plot needs matplotlib, which is not installed. Install the plot "
                          "extra from the repository root: pip install -e \".[plot]\"") from error
    from .figure import DPI, NotebookFigure   # matplotlib's Figure, shown inline by Jupyter
    return NotebookFigure(figsize=figsize, layout="constrained", dpi=DPI)


def save(figure, path):
    """Save ``figure`` as a PNG at ``path`` (its folder created if missing) when a path is given; return it."""
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=figure.dpi)
    return figure

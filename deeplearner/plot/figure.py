"""`NotebookFigure`: the Figure every `deeplearner.plot` function returns (imported by plot/canvas.py on first use).

A plain matplotlib ``Figure`` made without pyplot, as deeplearner.plot makes them (no GUI window, no global
figure list), shows in Jupyter only as ``<Figure size 1100x400 with 2 Axes>``: IPython learns to
draw figures from ``%matplotlib inline``, which registers pyplot's figures. This subclass carries
its own ``_repr_png_``, the method IPython calls to show an object as a picture, so the figure is
drawn inline as a cell's result with no magic typed first. Outside Jupyter it is an ordinary
Figure: ``savefig`` writes files and no window ever opens.
"""

import io

from matplotlib.figure import Figure

DPI = 100   # the resolution deeplearner.plot saves PNG files at, so the notebook shows the same picture


class NotebookFigure(Figure):
    """A matplotlib Figure that Jupyter shows as a PNG when it is the result of a cell."""

    def _repr_png_(self):
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=DPI)   # rendered by Agg: no window, no pyplot
        return buffer.getvalue()

"""A divergence loses nothing: `DivergenceGuard` keeps the weights of the last finite loss.

When the loss turns NaN or infinite, ``fit`` puts those weights back, so the model still
predicts finite numbers, and raises `TrainingDivergedError` (deeplearner/model/training.py).
"""

import numpy as np

from ..layers import compat


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite; the model was rolled back before the step."""


class DivergenceGuard:
    """Double-buffered copy of every parameter and buffer of ``layers``.

    Before each step ``capture()`` copies the live arrays into ``pending``; once the step's loss
    turned out finite, ``commit()`` makes that copy the ``good`` one. So ``good`` always holds
    the weights (and BatchNorm statistics) that produced the last finite loss, and
    ``restore()`` copies them back. The two buffers are allocated once and swapped, never
    reallocated: a step costs one memory copy of the weights.

    Only arrays that layers update in place are covered (all built-in layers do); a seed-style
    layer that rebinds its arrays inside backward is not rolled back.
    """

    def __init__(self, layers):
        self.live = [array for layer in layers
                     for group in (compat.params_of(layer), compat.buffers_of(layer))
                     for array in group.values()]
        self.good = [array.copy() for array in self.live]
        self.pending = [np.empty_like(array) for array in self.live]
        self.in_step = False   # True from capture() to commit(): the live arrays may be mid-update

    def capture(self):
        for copy, array in zip(self.pending, self.live):
            np.copyto(copy, array)
        self.in_step = True

    def commit(self):
        self.good, self.pending = self.pending, self.good
        self.in_step = False

    def restore(self):
        """Put back the weights that produced the last finite loss."""
        for copy, array in zip(self.good, self.live):
            np.copyto(array, copy)
        self.in_step = False

    def abandon_step(self):
        """After an interruption: if a step was under way, put back the weights from its start."""
        if self.in_step:
            for copy, array in zip(self.pending, self.live):
                np.copyto(array, copy)
            self.in_step = False

    def weights_finite(self):
        """True when no parameter or buffer holds a NaN or an infinity."""
        # A sum is finite when every term is (one cheap pass, no boolean mask); only a sum that
        # is not (a NaN, an inf, or huge values overflowing) needs the exact look.
        with np.errstate(over="ignore", invalid="ignore"):
            return all(np.isfinite(array.sum(dtype=np.float64)) or np.isfinite(array).all()
                       for array in self.live)

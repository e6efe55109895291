"""What keeps a run from failing silently or losing what it learned.

- first_step.py: the first training step checks what every layer returns, and names the layer;
- divergence.py: a NaN or infinite loss rolls the weights back to the last finite one;
- interrupt.py: Ctrl-C stops between two batches;
- diagnostics.py: a run that went nowhere warns with its likely cause (`TrainingWarning`).
"""

from .diagnostics import TrainingWarning
from .divergence import DivergenceGuard, TrainingDivergedError
from .interrupt import deferred_interrupt

__all__ = ["TrainingWarning", "TrainingDivergedError", "DivergenceGuard", "deferred_interrupt"]

"""The model: `Sequential`, its one training step (step.py), its training loop (training.py),
its progress display, its label encoding (targets.py) and its summary table."""

from ..saving import load_model
from .sequential import Sequential

__all__ = ["Sequential", "load_model"]

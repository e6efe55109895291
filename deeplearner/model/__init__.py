"""The model: Sequential, its training loop, its summary table and its file format."""

from .saving import load_model
from .sequential import Sequential

__all__ = ["Sequential", "load_model"]

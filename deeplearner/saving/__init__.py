"""Files: a model saved whole and loaded back (model_file.py), its checks (file_checks.py), atomic writes.

``model.save(path)`` and ``load_model(path)``; ONNX export is in deeplearner/export/.
"""

from .atomic import write_atomically
from .model_file import load_model, save_model

__all__ = ["save_model", "load_model", "write_atomically"]

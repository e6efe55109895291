"""Taking a model elsewhere: ``to_onnx(model, path)`` writes it as ONNX (onnx.py).

Nothing here imports the onnx package until ``to_onnx`` is called.
"""

from .onnx import ExportError, GraphBuilder, to_onnx

__all__ = ["to_onnx", "ExportError", "GraphBuilder"]

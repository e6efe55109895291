"""The version, written only here: pyproject.toml reads it (setuptools dynamic version), and
``deeplearner.__version__`` and the ONNX files' producer_version come from it."""

__version__ = "0.1.0"

"""prism-stream's Python package: the trainer client and the PyTorch PRISM scorer service."""

__version__ = "0.1.0"

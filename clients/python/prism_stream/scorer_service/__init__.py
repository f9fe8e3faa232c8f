"""PyTorch PRISM scorer service: per-example per-matrix gradient norms behind a socket (PROTOCOL.md)."""

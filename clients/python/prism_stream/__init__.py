"""prism-stream's Python package: the trainer client and the PyTorch PRISM scorer service.

Trainer client (this module's exports; torch-free): :class:`TopicReader` over prism.sft / prism.rl,
:func:`build_sequence` (the scorer's ids and target mask), :class:`TrainingHandoff` (exactly-once
checkpoint-then-commit), :func:`publish_model_update`. With the ``hf`` extra: ``prism_stream.hf``
(Trainer callback); with ``torch``: ``prism_stream.torch_loop``, ``prism_stream.rl``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Exports load lazily (PEP 562): the scorer service and the GPU check import this package on hosts
# that have torch but no confluent-kafka, so nothing Kafka-bound may load at package import.
_EXPORTS = {
    "Manifest": "checkpoint",
    "latest_valid_checkpoint": "checkpoint",
    "read_manifest": "checkpoint",
    "weights_sha256": "checkpoint",
    "write_manifest": "checkpoint",
    "CheckpointError": "errors",
    "DecodeError": "errors",
    "PrismClientError": "errors",
    "SchemaError": "errors",
    "SequenceError": "errors",
    "TrainingHandoff": "handoff",
    "IdLog": "id_log",
    "read_id_log": "id_log",
    "OffsetLedger": "ledger",
    "PartitionOffsets": "ledger",
    "publish_model_update": "model_update",
    "Record": "reader",
    "TopicReader": "reader",
    "SchemaRegistry": "schemas",
    "ByteTokenizer": "sequence",
    "HfTokenizer": "sequence",
    "build_sequence": "sequence",
    "load_tokenizer": "sequence",
}

if TYPE_CHECKING:
    from .checkpoint import Manifest, latest_valid_checkpoint, read_manifest, weights_sha256, write_manifest
    from .errors import CheckpointError, DecodeError, PrismClientError, SchemaError, SequenceError
    from .handoff import TrainingHandoff
    from .id_log import IdLog, read_id_log
    from .ledger import OffsetLedger, PartitionOffsets
    from .model_update import publish_model_update
    from .reader import Record, TopicReader
    from .schemas import SchemaRegistry
    from .sequence import ByteTokenizer, HfTokenizer, build_sequence, load_tokenizer


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'prism_stream' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


__version__ = "0.1.0"

__all__ = [
    "ByteTokenizer",
    "CheckpointError",
    "DecodeError",
    "HfTokenizer",
    "IdLog",
    "Manifest",
    "OffsetLedger",
    "PartitionOffsets",
    "PrismClientError",
    "Record",
    "SchemaError",
    "SchemaRegistry",
    "SequenceError",
    "TopicReader",
    "TrainingHandoff",
    "__version__",
    "build_sequence",
    "latest_valid_checkpoint",
    "load_tokenizer",
    "publish_model_update",
    "read_id_log",
    "read_manifest",
    "weights_sha256",
    "write_manifest",
]

"""Typed errors with stable codes (the same codes the TypeScript side uses where they overlap)."""

from __future__ import annotations


class PrismClientError(Exception):
    """Base class: ``code`` is stable and machine-readable, the message says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} [{code}]")
        self.code = code
        self.message = message


class SchemaError(PrismClientError):
    """A schema id or subject that cannot be resolved (SCHEMA_UNKNOWN_ID, SCHEMA_REGISTRY_UNAVAILABLE)."""


class DecodeError(PrismClientError):
    """Bytes that are not a valid record: names the topic, partition and offset when read from Kafka.

    ``raw`` keeps the original value bytes so a caller can dead-letter them untouched.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
        raw: bytes | None = None,
    ) -> None:
        where = f"{topic}[{partition}]@{offset}: " if topic is not None else ""
        super().__init__(code, f"{where}{message}")
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.raw = raw


class SequenceError(PrismClientError):
    """A record that cannot become a training sequence (NO_TARGET_TOKENS, TOKEN_OUT_OF_VOCAB, ...)."""


class CheckpointError(PrismClientError):
    """CHECKPOINT_INVALID, CHECKPOINT_SHA_MISMATCH: a checkpoint folder that must not be used."""

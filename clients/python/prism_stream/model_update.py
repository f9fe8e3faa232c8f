"""Closing the loop: publish a checkpoint as a ``ModelUpdate`` (Avro, key = model id) to
``prism.model-updates``, so ``prism run`` with ``probe.mode: follow`` verifies its sha256 and swaps it in.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from confluent_kafka import Producer

from .checkpoint import MANIFEST_FILE, Manifest, read_manifest, verify_checkpoint, write_manifest
from .errors import PrismClientError
from .schemas import MODEL_UPDATE, SchemaRegistry, encode

MODEL_UPDATES_TOPIC = "prism.model-updates"


def model_update_of(folder: str | Path, manifest: Manifest) -> dict[str, Any]:
    """The ModelUpdate record announcing a checkpoint folder (uri = absolute file:// URI)."""
    return {
        "model_id": manifest.model_id,
        "version": manifest.version,
        "step": manifest.step,
        "uri": Path(folder).resolve().as_uri(),
        "sha256": manifest.sha256,
        "created_at": manifest.created_at,
        "trainer": manifest.trainer,
        "metrics": {k: float(v) for k, v in manifest.metrics.items()},
    }


def publish_model_update(
    checkpoint_dir: str | Path,
    *,
    brokers: str | None = None,
    producer: Producer | None = None,
    model_id: str | None = None,
    step: int | None = None,
    trainer: Literal["sft", "rl"] = "sft",
    metrics: Mapping[str, float] | None = None,
    topic: str = MODEL_UPDATES_TOPIC,
    registry: SchemaRegistry | None = None,
    config: Mapping[str, Any] | None = None,
    timeout_s: float = 30.0,
) -> dict[str, Any]:
    """Publishes ``checkpoint_dir`` (an HF folder with ``*.safetensors``) and returns the ModelUpdate.

    A folder with a ``prism-manifest.json`` is verified against it (sha256) and announced as it is; a
    bare ``save_pretrained`` folder gets a manifest first (``model_id`` and ``step`` required, no
    offsets). The send waits for the broker's acknowledgement (acks=all, idempotent).
    """
    folder = Path(checkpoint_dir)
    if (folder / MANIFEST_FILE).exists():
        manifest = verify_checkpoint(folder, read_manifest(folder))
        if model_id is not None and manifest.model_id != model_id:
            raise PrismClientError(
                "MODEL_ID_MISMATCH", f"{folder} belongs to model id {manifest.model_id}, not {model_id}"
            )
    else:
        if model_id is None or step is None:
            raise PrismClientError(
                "MODEL_UPDATE_INVALID", f"{folder} has no {MANIFEST_FILE}: pass model_id and step"
            )
        manifest = write_manifest(
            folder,
            model_id=model_id,
            step=step,
            trainer=trainer,
            offsets=(),
            consumer_group="none",
            metrics=metrics,
        )
    reg = registry or SchemaRegistry()
    update = model_update_of(folder, manifest)
    value = encode(reg, reg.latest_id(MODEL_UPDATE), update)
    own = producer is None
    if producer is None:
        if brokers is None:
            raise PrismClientError("MODEL_UPDATE_INVALID", "pass brokers or a producer")
        producer = Producer(
            {"bootstrap.servers": brokers, "acks": "all", "enable.idempotence": True, **dict(config or {})}
        )
    failures: list[str] = []
    producer.produce(
        topic,
        key=manifest.model_id.encode("utf-8"),
        value=value,
        on_delivery=lambda e, _m: failures.append(str(e)) if e is not None else None,
    )
    left = producer.flush(timeout_s)
    if own:
        producer.flush(0)
    if left > 0 or failures:
        raise PrismClientError(
            "MODEL_UPDATE_NOT_SENT",
            f"ModelUpdate {manifest.version} to {topic} not acknowledged: {failures or 'timeout'}",
        )
    return update

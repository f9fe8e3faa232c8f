"""Exactly-once training handoff: the checkpoint-then-commit protocol of prism's own trainers.

1. :meth:`TrainingHandoff.resume` finds the newest valid checkpoint (manifest present, sha256 of the
   weights and optimizer state verified), restores the reader's ledger from its ``offsets`` (so the
   reader seeks there and skips ``doneAbove``), and writes a ``start`` line to the id log.
2. :meth:`applied` after each optimizer step: its records count as done (and go to the id log).
3. :meth:`checkpoint_saved` once the trainer has written a checkpoint folder: writes the ledger into
   ``prism-manifest.json`` and fsyncs the folder (:meth:`seal`), and only then commits the group
   offsets and publishes a ModelUpdate (:meth:`after_durable`).

A crash anywhere re-reads from the last durable checkpoint: no record lost (offsets are never
committed ahead of a checkpoint) and, in the surviving lineage, none trained twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from confluent_kafka import Producer

from .checkpoint import Manifest, latest_valid_checkpoint, write_manifest
from .id_log import IdLog, IdLogEntry
from .ledger import OffsetLedger
from .model_update import MODEL_UPDATES_TOPIC, publish_model_update
from .reader import Record, TopicReader

log = logging.getLogger("prism_stream")


class TrainingHandoff:
    def __init__(
        self,
        reader: TopicReader,
        *,
        model_id: str,
        checkpoint_root: str | Path,
        trainer: Literal["sft", "rl"] = "sft",
        id_log: str | Path | None = None,
        publish: bool = True,
        model_updates_topic: str = MODEL_UPDATES_TOPIC,
        producer_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.reader = reader
        self.model_id = model_id
        self.checkpoint_root = Path(checkpoint_root)
        self.trainer: Literal["sft", "rl"] = trainer
        self.id_log = IdLog(id_log) if id_log is not None else None
        self.publish = publish
        self.model_updates_topic = model_updates_topic
        self._producer_config = dict(producer_config or {})
        self._producer: Producer | None = None
        self.resumed_from: tuple[Path, Manifest] | None = None
        #: resume() was called (resumed_from is None then means: no checkpoint, a fresh start)
        self.resumed = False
        self.last_manifest: Manifest | None = None

    # -- start ----------------------------------------------------------------------------------
    def latest(self) -> tuple[Path, Manifest] | None:
        return latest_valid_checkpoint(self.checkpoint_root, self.model_id)

    def resume(self, checkpoint: tuple[Path, Manifest] | None = None) -> tuple[Path, Manifest] | None:
        """Restores the ledger from ``checkpoint`` (default: the newest valid one). Call before reading."""
        found = checkpoint if checkpoint is not None else self.latest()
        self.resumed_from = found
        self.resumed = True
        if found is None:
            self.reader.ledger = OffsetLedger()
            if self.id_log:
                self.id_log.start(0, None)
            return None
        path, manifest = found
        self.reader.ledger = OffsetLedger(manifest.offsets)
        self.last_manifest = manifest
        if self.id_log:
            self.id_log.start(manifest.step, manifest.version)
        log.info(
            "resuming %s from %s (step %d, version %s)", self.model_id, path, manifest.step, manifest.version
        )
        return found

    # -- per step ---------------------------------------------------------------------------------
    def applied(self, records: Iterable[Record], step: int) -> None:
        """The optimizer step ``step`` that used ``records`` has been applied."""
        recs = list(records)
        if self.id_log:
            self.id_log.trained(IdLogEntry(r.id, step, r.topic, r.partition, r.offset) for r in recs)
        for r in recs:
            self.reader.complete(r.topic, r.partition, r.offset)

    def skipped(self, record: Record) -> None:
        """A record that will never be trained (e.g. dead-lettered after a SequenceError) counts as done."""
        self.reader.complete(record.topic, record.partition, record.offset)

    # -- checkpoint -------------------------------------------------------------------------------
    def seal(
        self,
        folder: str | Path,
        step: int,
        *,
        optimizer_file: str | None = None,
        state: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
    ) -> Manifest:
        """Writes the ledger into the folder's manifest and fsyncs everything (the checkpoint is durable)."""
        parent = None
        if self.last_manifest is not None:
            parent = self.last_manifest.version
        elif self.resumed_from is not None:
            parent = str(self.resumed_from[0])
        return write_manifest(
            folder,
            model_id=self.model_id,
            step=step,
            trainer=self.trainer,
            offsets=self.reader.ledger.snapshot(),
            consumer_group=self.reader.group_id,
            parent=parent,
            optimizer_file=optimizer_file,
            state=state,
            metrics=metrics,
        )

    def after_durable(self, folder: str | Path, manifest: Manifest) -> None:
        """Commits the manifest's offsets, then publishes the ModelUpdate."""
        self.last_manifest = manifest
        if not self.reader.commit(manifest.offsets):
            log.warning(
                "offset commit for %s skipped (group membership ended); the next one catches up",
                manifest.version,
            )
        if self.publish:
            if self._producer is None:
                self._producer = Producer(
                    {
                        **self.reader.client_config(),
                        "acks": "all",
                        "enable.idempotence": True,
                        **self._producer_config,
                    }
                )
            publish_model_update(folder, producer=self._producer, topic=self.model_updates_topic)

    def checkpoint_saved(
        self,
        folder: str | Path,
        step: int,
        *,
        optimizer_file: str | None = None,
        state: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
    ) -> Manifest:
        manifest = self.seal(folder, step, optimizer_file=optimizer_file, state=state, metrics=metrics)
        self.after_durable(folder, manifest)
        return manifest

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(10)
            self._producer = None
        self.reader.close()

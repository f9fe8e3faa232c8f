"""Reading a routed topic (``prism.sft`` / ``prism.rl``): decoded ScoredTrajectory records with their
topic, partition and offset, ``read_committed``, auto-commit off (offsets are committed by the
training handoff only after a durable checkpoint).

Bad bytes raise :class:`~prism_stream.errors.DecodeError` naming topic, partition and offset; the
iterator keeps working after it (it is a plain iterator class, not a generator), and the record stays
pending in the ledger until the caller dead-letters it (:meth:`TopicReader.dead_letter`) or marks it
done, so nothing is skipped silently.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from .errors import DecodeError, PrismClientError
from .ledger import OffsetLedger, PartitionOffsets
from .schemas import SCORED_TRAJECTORY, SchemaRegistry, decode


@dataclass(frozen=True)
class Record:
    """One decoded record and where it was read."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: dict[str, Any]
    #: the original value bytes (for dead letters)
    raw: bytes = field(default=b"", repr=False)

    @property
    def trajectory(self) -> dict[str, Any]:
        t: dict[str, Any] = self.value["trajectory"]
        return t

    @property
    def prism(self) -> dict[str, Any]:
        p: dict[str, Any] = self.value["prism"]
        return p

    @property
    def id(self) -> str:
        return str(self.trajectory["id"])


class TopicReader(Iterator[Record]):
    """Iterates decoded records of ``topics`` in consumer group ``group_id``.

    ``ledger`` (an :class:`OffsetLedger`, e.g. restored from a checkpoint manifest) decides where each
    assigned partition starts (its watermark; otherwise the group's committed offset, else
    ``start_from``) and which records are already done (skipped). ``idle_timeout_s`` ends the iteration
    after that long without a record once partitions are assigned (None: never). ``config`` adds
    librdkafka settings (TLS, SASL).
    """

    def __init__(
        self,
        topics: str | Iterable[str],
        *,
        brokers: str,
        group_id: str,
        registry: SchemaRegistry | None = None,
        ledger: OffsetLedger | None = None,
        start_from: str = "earliest",
        idle_timeout_s: float | None = None,
        poll_timeout_s: float = 0.5,
        expect_schema: str | None = SCORED_TRAJECTORY,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self.topics = [topics] if isinstance(topics, str) else list(topics)
        self.brokers = brokers
        self.group_id = group_id
        self.registry = registry or SchemaRegistry()
        self.ledger = ledger if ledger is not None else OffsetLedger()
        self.idle_timeout_s = idle_timeout_s
        self.poll_timeout_s = poll_timeout_s
        self.expect_schema = expect_schema
        self.extra = dict(config or {})
        self.start_from = start_from
        self.skipped_done = 0
        self.stopped = False
        self.assigned = False
        self._consumer: Consumer | None = None

    def _connect(self) -> Consumer:
        conf: dict[str, Any] = {
            "bootstrap.servers": self.brokers,
            "group.id": self.group_id,
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": self.start_from,
            **self.extra,
        }
        consumer = Consumer(conf)
        consumer.subscribe(self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke)
        return consumer

    def _on_assign(self, consumer: Consumer, parts: list[TopicPartition]) -> None:
        for tp in parts:
            progress = self.ledger.get(tp.topic, tp.partition)
            if progress is not None:
                tp.offset = progress.watermark
        consumer.assign(parts)
        self.assigned = self.assigned or len(parts) > 0

    def _on_revoke(self, consumer: Consumer, parts: list[TopicPartition]) -> None:
        # Records delivered but not yet trained are re-read from the watermark by whoever gets them.
        self.ledger.forget_pending()

    def client_config(self) -> dict[str, Any]:
        """Settings a producer next to this reader needs: brokers plus the TLS/SASL keys of ``config``."""
        secure = {k: v for k, v in self.extra.items() if k.startswith(("security.", "sasl.", "ssl."))}
        return {"bootstrap.servers": self.brokers, **secure}

    @property
    def consumer(self) -> Consumer:
        if self._consumer is None:
            self._consumer = self._connect()
        return self._consumer

    def stop(self) -> None:
        """Ends the iteration at the next poll (e.g. from a SIGTERM handler)."""
        self.stopped = True

    def __iter__(self) -> TopicReader:
        return self

    def __next__(self) -> Record:
        idle_since = time.monotonic()
        while not self.stopped:
            msg = self.consumer.poll(self.poll_timeout_s)
            if msg is None:
                if not self.assigned:  # still joining the group: idle time counts from the assignment
                    idle_since = time.monotonic()
                elif self.idle_timeout_s is not None and time.monotonic() - idle_since >= self.idle_timeout_s:
                    raise StopIteration
                continue
            record = self._take(msg)
            if record is not None:
                return record
            idle_since = time.monotonic()
        raise StopIteration

    def _take(self, msg: Message) -> Record | None:
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                return None
            if err.fatal() or not err.retriable():
                raise PrismClientError("KAFKA_ERROR", f"consumer error: {err.str()}")
            return None
        topic, partition, offset = str(msg.topic()), int(msg.partition() or 0), int(msg.offset() or 0)
        if not self.ledger.deliver(topic, partition, offset):
            self.skipped_done += 1
            return None
        raw_key = msg.key()
        key = raw_key.decode("utf-8", "replace") if isinstance(raw_key, bytes) else raw_key
        value = msg.value()
        try:
            record = decode(self.registry, value if isinstance(value, bytes) else None, self.expect_schema)
        except DecodeError as e:
            raise DecodeError(
                e.code,
                e.message,
                topic=topic,
                partition=partition,
                offset=offset,
                raw=value if isinstance(value, bytes) else None,
            ) from e
        return Record(topic, partition, offset, key, record, value if isinstance(value, bytes) else b"")

    def complete(self, topic: str, partition: int, offset: int) -> None:
        """Marks a delivered record done (trained, or dead-lettered)."""
        self.ledger.complete(topic, partition, offset)

    def dead_letter(self, err: DecodeError, producer: Producer, dlq_topic: str = "prism.dlq") -> None:
        """Sends undecodable bytes to the DLQ, waits for the ack, then marks the record done."""
        if err.topic is None or err.partition is None or err.offset is None:
            raise ValueError("dead_letter needs a DecodeError raised by the reader (with its location)")
        self.send_dead_letter(
            producer,
            dlq_topic,
            err.topic,
            err.partition,
            err.offset,
            err.raw,
            err.code,
            err.message,
            "".join(traceback.format_exception(err)),
        )

    def send_dead_letter(
        self,
        producer: Producer,
        dlq_topic: str,
        topic: str,
        partition: int,
        offset: int,
        raw: bytes | None,
        code: str,
        message: str,
        stack: str = "",
    ) -> None:
        """Original bytes to ``dlq_topic`` with KIP-1034 headers and prism.error.code; acked; then done."""
        headers: list[tuple[str, str | bytes | None]] = [
            ("__streams.errors.exception", code.encode()),
            ("__streams.errors.message", message.encode()),
            ("__streams.errors.stacktrace", stack.encode()),
            ("__streams.errors.topic", topic.encode()),
            ("__streams.errors.partition", str(partition).encode()),
            ("__streams.errors.offset", str(offset).encode()),
            ("prism.error.code", code.encode()),
        ]
        failures: list[str] = []
        producer.produce(
            dlq_topic,
            value=raw,
            headers=headers,
            on_delivery=lambda e, _m: failures.append(str(e)) if e is not None else None,
        )
        if producer.flush(30) > 0 or failures:
            raise PrismClientError(
                "DLQ_WRITE_FAILED", f"dead letter to {dlq_topic} not acknowledged: {failures}"
            )
        self.complete(topic, partition, offset)

    def commit(self, offsets: Iterable[PartitionOffsets]) -> bool:
        """Commits the group offsets (synchronously). Returns False when the group membership ended
        (the next checkpoint commits a newer offset; resume uses the manifest anyway)."""
        tps = [TopicPartition(o.topic, o.partition, o.offset) for o in offsets]
        if not tps:
            return True
        try:
            self.consumer.commit(offsets=tps, asynchronous=False)
            return True
        except KafkaException as e:
            kerr = e.args[0] if e.args else None
            if isinstance(kerr, KafkaError) and kerr.fatal():
                raise
            return False

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

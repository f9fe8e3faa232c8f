"""TypeScript producer → Python reader on the real broker: `prism produce` (avsc, Confluent framing,
registry ids) decoded by prism_stream; bad bytes raise a typed error naming the offset and can be
dead-lettered; the reader resumes from a restored ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from confluent_kafka import Producer
from helpers import create_topics, prism, produce_values, raw_messages, trajectory, unique

from prism_stream import DecodeError, OffsetLedger, PartitionOffsets, TopicReader
from prism_stream.schemas import TRAJECTORY

pytestmark = pytest.mark.broker


def test_prism_produce_to_python_reader(brokers: str, tmp_path: Path) -> None:
    topic, dlq = unique("rt-in"), unique("rt-dlq")
    create_topics(brokers, {topic: 1, dlq: 1})
    records = [trajectory(i) for i in range(12)]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    prism("produce", "--in", str(src), "--topic", topic, "--brokers", brokers)
    produce_values(brokers, topic, [("bad", b"\x01not avro")])  # offset 12
    prism("produce", "--in", str(src), "--topic", topic, "--brokers", brokers)  # offsets 13..24

    reader = TopicReader(
        topic, brokers=brokers, group_id=unique("g"), idle_timeout_s=5, expect_schema=TRAJECTORY
    )
    got = []
    with pytest.raises(DecodeError) as err:
        for rec in reader:
            got.append(rec)
            reader.complete(rec.topic, rec.partition, rec.offset)
    assert err.value.code == "DECODE_BAD_MAGIC"
    assert (err.value.topic, err.value.partition, err.value.offset) == (topic, 0, 12)
    assert f"{topic}[0]@12" in str(err.value)
    assert [r.value for r in got] == records  # field for field, created_at as integer ms
    assert [r.offset for r in got] == list(range(12)) and got[0].key == "t-0"
    # Not skipped silently: the watermark stops at the bad record until it is dead-lettered.
    assert reader.ledger.snapshot() == [PartitionOffsets(topic, 0, 12, ())]
    reader.dead_letter(err.value, Producer({"bootstrap.servers": brokers}), dlq)
    rest = list(reader)  # the same iterator goes on after the error
    for rec in rest:
        reader.complete(rec.topic, rec.partition, rec.offset)
    assert [r.offset for r in rest] == list(range(13, 25))
    assert reader.ledger.snapshot() == [PartitionOffsets(topic, 0, 25, ())]
    reader.close()

    [dead] = raw_messages(brokers, dlq, 1)
    headers = {k: v.decode() for k, v in dead.headers()}
    assert dead.value() == b"\x01not avro"
    assert headers["prism.error.code"] == "DECODE_BAD_MAGIC"
    assert (headers["__streams.errors.topic"], headers["__streams.errors.offset"]) == (topic, "12")

    # A restored ledger decides where reading starts and which offsets are already done.
    restored = OffsetLedger([PartitionOffsets(topic, 0, 20, (22,))])
    again = TopicReader(
        topic,
        brokers=brokers,
        group_id=unique("g"),
        idle_timeout_s=5,
        expect_schema=TRAJECTORY,
        ledger=restored,
    )
    assert [r.offset for r in again] == [20, 21, 23, 24]
    assert again.skipped_done == 1
    again.close()

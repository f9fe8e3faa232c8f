"""kill -9 of the Hugging Face SFT example, twice, mid-stream: the id log's surviving lineage has every
record exactly once, offsets are committed up to the end, a bad record went to the DLQ, and every
checkpoint was published as a ModelUpdate."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from helpers import (
    REPO,
    create_topics,
    produce_scored,
    produce_values,
    raw_messages,
    scored,
    unique,
    wait_for,
)

from prism_stream import read_id_log
from prism_stream.checkpoint import latest_valid_checkpoint
from prism_stream.schemas import SchemaRegistry, decode

pytestmark = pytest.mark.broker
EXAMPLE = REPO / "clients" / "python" / "examples" / "sft_hf_trainer.py"


def _start(brokers: str, topics: dict[str, str], out: Path, idle_exit: bool) -> subprocess.Popen[bytes]:
    args = [
        sys.executable,
        str(EXAMPLE),
        "--brokers",
        brokers,
        "--topic",
        topics["sft"],
        "--group",
        topics["group"],
        "--model-id",
        topics["model"],
        "--output-dir",
        str(out / "ckpt"),
        "--id-log",
        str(out / "ids.jsonl"),
        "--save-steps",
        "3",
        "--batch-size",
        "4",
        "--max-seq-len",
        "64",
        "--model-updates-topic",
        topics["updates"],
        "--dlq-topic",
        topics["dlq"],
        "--session-timeout-ms",
        "6000",
    ]
    if idle_exit:
        args += ["--idle-exit-s", "6"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    log = (out / "example.log").open("ab")
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)


def _trained(out: Path) -> int:
    return len(read_id_log(out / "ids.jsonl").entries)


def test_kill9_twice_no_record_lost_or_trained_twice(brokers: str, tmp_path: Path) -> None:
    topics = {k: unique(k) for k in ("sft", "updates", "dlq", "group", "model")}
    create_topics(
        brokers, {topics["sft"]: 2, topics["updates"]: 1, topics["dlq"]: 1}, compact=[topics["updates"]]
    )
    produce_scored(brokers, topics["sft"], [scored(i) for i in range(0, 60)], partitions=2)

    first = _start(brokers, topics, tmp_path, idle_exit=False)
    try:
        # Kill once a checkpoint exists and more was trained after it (uncheckpointed work dies).
        wait_for(
            lambda: latest_valid_checkpoint(tmp_path / "ckpt") is not None and _trained(tmp_path) >= 28,
            "first run to train 28 records past a checkpoint",
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    produce_scored(brokers, topics["sft"], [scored(i) for i in range(60, 120)], partitions=2)

    second = _start(brokers, topics, tmp_path, idle_exit=False)
    try:
        wait_for(
            lambda: len(read_id_log(tmp_path / "ids.jsonl").starts) == 2 and _trained(tmp_path) >= 80,
            "second run to reach 80 trained records",
        )
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait()
    produce_values(brokers, topics["sft"], [("garbage", b"\x00\x00\x00\x00\x63 not a record")])
    produce_scored(brokers, topics["sft"], [scored(i) for i in range(120, 160)], partitions=2)

    third = _start(brokers, topics, tmp_path, idle_exit=True)
    assert third.wait(timeout=240) == 0, (tmp_path / "example.log").read_text()[-4000:]

    reading = read_id_log(tmp_path / "ids.jsonl")
    ids = [e.id for e in reading.entries]
    assert len(reading.starts) == 3
    assert sorted(ids) == sorted(f"t-{i}" for i in range(160)), "every record trained exactly once"
    print(f"surviving lineage: {len(ids)} records; superseded by the two kills: {len(reading.superseded)}")

    [dead] = raw_messages(brokers, topics["dlq"], 1)
    assert dict(dead.headers())["prism.error.code"] == b"SCHEMA_UNKNOWN_ID"

    found = latest_valid_checkpoint(tmp_path / "ckpt", topics["model"])
    assert found is not None
    _path, manifest = found
    c = Consumer({"bootstrap.servers": brokers, "group.id": topics["group"]})
    try:
        committed = c.committed([TopicPartition(topics["sft"], p) for p in (0, 1)], timeout=10)
        ends = [c.get_watermark_offsets(TopicPartition(topics["sft"], p), timeout=10)[1] for p in (0, 1)]
    finally:
        c.close()
    assert [tp.offset for tp in committed] == ends
    assert [o.offset for o in manifest.offsets] == ends

    reg = SchemaRegistry()
    updates = [decode(reg, m.value()) for m in raw_messages(brokers, topics["updates"], 100, timeout_s=8)]
    steps = [u["step"] for u in updates if u["model_id"] == topics["model"]]
    assert manifest.step in steps and manifest.version in {u["version"] for u in updates}

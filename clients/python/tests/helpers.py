"""Test helpers: topics, ScoredTrajectory records, producing them (Python side)."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from prism_stream.schemas import SCORED_TRAJECTORY, SchemaRegistry, encode


def unique(name: str) -> str:
    return f"py-{name}-{uuid.uuid4().hex[:8]}"


def create_topics(brokers: str, topics: dict[str, int], compact: Iterable[str] = ()) -> None:
    admin = AdminClient({"bootstrap.servers": brokers})
    compacted = set(compact)
    futures = admin.create_topics(
        [
            NewTopic(t, n, 1, config={"cleanup.policy": "compact"} if t in compacted else {})
            for t, n in topics.items()
        ]
    )
    for f in futures.values():
        f.result(30)


def scored(i: int, *, task: str | None = None, reward: float = 1.0, route: str = "SFT") -> dict[str, Any]:
    """A ScoredTrajectory with id ``t-<i>`` and a short text conversation (byte tokenizer friendly)."""
    now = int(time.time() * 1000)
    return {
        "trajectory": {
            "id": f"t-{i}",
            "task_id": task or f"task-{i // 4}",
            "env": "test",
            "turns": [
                {"role": "user", "content": f"count to {i % 7}", "token_ids": None, "logprobs": None},
                {
                    "role": "assistant",
                    "content": " ".join(str(k) for k in range(i % 7 + 1)),
                    "token_ids": None,
                    "logprobs": None,
                },
            ],
            "reward": reward,
            "metadata": {},
            "created_at": now,
            "behavior_model_version": None,
        },
        "prism": {
            "gini": 0.5,
            "kurtosis": 3.0,
            "cv": 0.4,
            "l2": 1.0,
            "loss": 2.0,
            "response_tokens": 3,
            "truncated": False,
            "norms": None,
            "metric": "gini",
            "threshold": 0.5,
            "route": route,
            "probe_model_id": "test",
            "probe_model_version": "0",
            "scored_at": now,
            "source_topic": "prism.trajectories",
            "source_partition": 0,
            "source_offset": str(i),
        },
    }


def produce_scored(brokers: str, topic: str, records: Iterable[dict[str, Any]], partitions: int = 1) -> int:
    reg = SchemaRegistry()
    sid = reg.latest_id(SCORED_TRAJECTORY)
    p = Producer({"bootstrap.servers": brokers, "acks": "all", "enable.idempotence": True})
    n = 0
    for r in records:
        tid = r["trajectory"]["id"]
        p.produce(topic, key=tid.encode(), value=encode(reg, sid, r), partition=n % partitions)
        n += 1
    assert p.flush(30) == 0
    return n


REPO = Path(__file__).resolve().parents[3]
PRISM = REPO / "bin" / "prism.mjs"


def prism(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Runs the TypeScript CLI (``node bin/prism.mjs ...``); raises with its output when it fails."""
    proc = subprocess.run(
        ["node", str(PRISM), *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"prism {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def trajectory(i: int, prefix: str = "t") -> dict[str, Any]:
    return {
        "id": f"{prefix}-{i}",
        "task_id": f"{prefix}-task-{i // 4}",
        "env": "test",
        "turns": [
            {"role": "user", "content": f"add {i} and 2", "token_ids": None, "logprobs": None},
            {"role": "assistant", "content": f"{i} + 2 = {i + 2}", "token_ids": None, "logprobs": None},
        ],
        "reward": float(i % 3),
        "metadata": {"n": str(i)},
        "created_at": 1_700_000_000_000 + i,
        "behavior_model_version": None,
    }


def produce_values(brokers: str, topic: str, items: Iterable[tuple[str, bytes]]) -> None:
    p = Producer({"bootstrap.servers": brokers, "acks": "all", "enable.idempotence": True})
    for key, value in items:
        p.produce(topic, key=key.encode(), value=value)
    assert p.flush(30) == 0


def raw_messages(brokers: str, topic: str, expect: int, timeout_s: float = 60) -> list[Any]:
    """Reads ``expect`` raw messages of a topic (read_committed, throwaway group)."""
    c = Consumer(
        {
            "bootstrap.servers": brokers,
            "group.id": unique("raw"),
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    c.subscribe([topic])
    out: list[Any] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(out) < expect and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and m.error() is None:
                out.append(m)
    finally:
        c.close()
    return out


def wait_for(predicate: Callable[[], bool], what: str, timeout_s: float = 180, every_s: float = 0.3) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(every_s)

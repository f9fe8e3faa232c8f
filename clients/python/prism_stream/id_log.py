"""Optional audit log of trained records (JSONL), the format of ``src/trainer/id-log.ts``.

A line per trained record, written when the optimizer step that used it is applied, and a ``start``
line per process start naming the step the lineage resumed from. Entries of a dead lineage
(step > resumed step) are superseded by the start line: :func:`read_id_log` applies that rule.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class IdLogEntry:
    id: str
    step: int
    topic: str
    partition: int
    offset: int


class IdLog:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _write(self, lines: Iterable[dict[str, Any]]) -> None:
        text = "".join(json.dumps(line) + "\n" for line in lines)
        if text:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())

    def start(self, from_step: int, from_version: str | None) -> None:
        self._write(
            [
                {
                    "event": "start",
                    "fromStep": from_step,
                    "fromVersion": from_version,
                    "pid": os.getpid(),
                    "at": int(time.time() * 1000),
                }
            ]
        )

    def trained(self, entries: Iterable[IdLogEntry]) -> None:
        self._write(
            {"id": e.id, "step": e.step, "topic": e.topic, "partition": e.partition, "offset": str(e.offset)}
            for e in entries
        )


@dataclass
class IdLogReading:
    entries: list[IdLogEntry]
    superseded: list[IdLogEntry]
    starts: list[dict[str, Any]]


def read_id_log(path: str | Path) -> IdLogReading:
    """The surviving lineage's trained records; tolerates a torn last line (killed mid-write)."""
    p = Path(path)
    if not p.exists():
        return IdLogReading([], [], [])
    lines = p.read_text(encoding="utf-8").split("\n")
    entries: list[IdLogEntry] = []
    superseded: list[IdLogEntry] = []
    starts: list[dict[str, Any]] = []
    for i, raw in enumerate(lines):
        if raw.strip() == "":
            continue
        try:
            obj = json.loads(raw)
        except ValueError as err:
            if i >= len(lines) - 2:
                break
            raise ValueError(f"id log {p}: line {i + 1} is not JSON") from err
        if obj.get("event") == "start":
            starts.append(obj)
            keep = [e for e in entries if e.step <= obj["fromStep"]]
            superseded.extend(e for e in entries if e.step > obj["fromStep"])
            entries = keep
        else:
            entries.append(
                IdLogEntry(
                    obj["id"], int(obj["step"]), obj["topic"], int(obj["partition"]), int(obj["offset"])
                )
            )
    return IdLogReading(entries, superseded, starts)

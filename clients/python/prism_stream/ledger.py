"""Which input records are done (their optimizer step applied), per partition: a port of
``src/trainer/offsets.ts``.

Records can finish out of order (an RL group window holds some back), so the ledger keeps, per
partition, a contiguous watermark ``offset`` (every delivered record below it is done: the offset to
commit and to seek to on resume) plus ``done_above``, finished offsets above it that a resumed
reader skips. That is what the checkpoint manifest stores (``offsets``) for both languages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PartitionOffsets:
    topic: str
    partition: int
    #: next offset to consume
    offset: int
    #: offsets ≥ offset that are already done, ascending
    done_above: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "partition": self.partition,
            "offset": str(self.offset),
            "doneAbove": [str(o) for o in self.done_above],
        }

    @staticmethod
    def from_json(obj: dict[str, Any]) -> PartitionOffsets:
        return PartitionOffsets(
            topic=str(obj["topic"]),
            partition=int(obj["partition"]),
            offset=int(obj["offset"]),
            done_above=tuple(int(o) for o in obj.get("doneAbove", [])),
        )


@dataclass
class PartitionProgress:
    base: int
    done: set[int] = field(default_factory=set)
    pending: set[int] = field(default_factory=set)
    max_seen: int = -1

    @staticmethod
    def starting_at(start: int, done_above: Iterable[int] = ()) -> PartitionProgress:
        return PartitionProgress(base=start, done={o for o in done_above if o >= start}, max_seen=start - 1)

    def deliver(self, offset: int) -> bool:
        """Registers a delivered record; False when it must be skipped (already done or pending)."""
        if offset < self.base or offset in self.pending:
            return False
        self.max_seen = max(self.max_seen, offset)
        if offset in self.done:
            self._advance()
            return False
        self.pending.add(offset)
        return True

    def complete(self, offset: int) -> None:
        if offset not in self.pending:
            return
        self.pending.discard(offset)
        self.done.add(offset)
        self._advance()

    def _advance(self) -> None:
        nxt = min(self.pending) if self.pending else self.max_seen + 1
        while nxt in self.done:
            nxt += 1
        if nxt > self.base:
            self.base = nxt
        self.done = {o for o in self.done if o >= self.base}

    def forget_pending(self) -> None:
        """Drops delivered-but-unfinished records; they will be re-read."""
        self.pending.clear()
        self.max_seen = self.base - 1

    @property
    def watermark(self) -> int:
        return self.base

    def done_above_watermark(self) -> tuple[int, ...]:
        return tuple(sorted(o for o in self.done if o >= self.base))


class OffsetLedger:
    """Progress over all partitions of the input topic(s)."""

    def __init__(self, restored: Iterable[PartitionOffsets] = ()) -> None:
        self._parts: dict[tuple[str, int], PartitionProgress] = {}
        for r in restored:
            self._parts[(r.topic, r.partition)] = PartitionProgress.starting_at(r.offset, r.done_above)

    def get(self, topic: str, partition: int) -> PartitionProgress | None:
        return self._parts.get((topic, partition))

    def deliver(self, topic: str, partition: int, offset: int) -> bool:
        """A partition unknown to the ledger starts at its first delivered record."""
        key = (topic, partition)
        if key not in self._parts:
            self._parts[key] = PartitionProgress.starting_at(offset)
        return self._parts[key].deliver(offset)

    def complete(self, topic: str, partition: int, offset: int) -> None:
        p = self._parts.get((topic, partition))
        if p is not None:
            p.complete(offset)

    def forget_pending(self) -> None:
        for p in self._parts.values():
            p.forget_pending()

    @property
    def pending_count(self) -> int:
        return sum(len(p.pending) for p in self._parts.values())

    def snapshot(self) -> list[PartitionOffsets]:
        """What a checkpoint manifest stores; sorted by topic, partition."""
        return [
            PartitionOffsets(t, p, prog.watermark, prog.done_above_watermark())
            for (t, p), prog in sorted(self._parts.items())
        ]

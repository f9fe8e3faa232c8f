"""Length bucketing and OOM-driven splitting around batched_norms: a request is never dropped for size."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .model import LoadedProbe
from .norms import NormMethod, batched_norms

# Stable per-sequence error codes (PROTOCOL.md); the TS side maps them onto its typed errors.
ERROR_CODES = ("TOKEN_OUT_OF_VOCAB", "NO_TARGET_TOKENS", "SEQUENCE_TOO_SHORT", "SCORER_OOM", "SCORING_FAILED")


@dataclass(frozen=True)
class SeqIn:
    ids: np.ndarray  # int32 (T,)
    target: np.ndarray  # uint8 (T,), 1 where the token is a target


@dataclass
class SeqOut:
    norms: np.ndarray | None = None  # float32 (7L,)
    loss: float = float("nan")
    targets: int = 0
    error_code: str | None = None
    error_message: str = ""


@dataclass
class BatchStats:
    forward_backward: int = 0
    oom_splits: int = 0
    largest_rows: int = 0
    largest_tokens: int = 0
    extra: dict[str, int] = field(default_factory=dict)


def _validate(seq: SeqIn, vocab: int) -> SeqOut | None:
    if seq.ids.shape[0] < 2:
        return SeqOut(error_code="SEQUENCE_TOO_SHORT", error_message=f"{seq.ids.shape[0]} tokens (need ≥ 2)")
    if seq.ids.size and (int(seq.ids.min()) < 0 or int(seq.ids.max()) >= vocab):
        return SeqOut(error_code="TOKEN_OUT_OF_VOCAB", error_message=f"a token id is outside [0, {vocab})")
    if int(seq.target[1:].sum()) == 0:
        return SeqOut(error_code="NO_TARGET_TOKENS", error_message="no target token at position ≥ 1")
    return None


def buckets(lengths: Sequence[int], max_rows: int, max_tokens: int) -> list[list[int]]:
    """Indices sorted by length, cut into runs of ≤ max_rows rows and ≤ max_tokens padded tokens."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    out: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        if cur and (len(cur) >= max_rows or (len(cur) + 1) * lengths[i] > max_tokens):
            out.append(cur)
            cur = []
        cur.append(i)
    if cur:
        out.append(cur)
    return out


def _pad(probe: LoadedProbe, seqs: list[SeqIn]) -> tuple[torch.Tensor, torch.Tensor]:
    T = max(s.ids.shape[0] for s in seqs)
    ids = np.zeros((len(seqs), T), dtype=np.int64)
    tgt = np.zeros((len(seqs), T), dtype=np.bool_)
    for b, s in enumerate(seqs):
        n = s.ids.shape[0]
        ids[b, :n] = s.ids
        tgt[b, :n] = s.target.astype(np.bool_)
    tgt[:, 0] = False
    return torch.from_numpy(ids).to(probe.device), torch.from_numpy(tgt).to(probe.device)


def _run(probe: LoadedProbe, seqs: list[SeqIn], method: NormMethod, stats: BatchStats) -> list[SeqOut]:
    """One forward/backward; on OOM halves and retries; one sequence that does not fit → SCORER_OOM."""
    res = None
    try:
        ids, tgt = _pad(probe, seqs)
        stats.forward_backward += 1
        stats.largest_rows = max(stats.largest_rows, len(seqs))
        stats.largest_tokens = max(stats.largest_tokens, int(ids.numel()))
        res = batched_norms(probe, ids, tgt, method=method)
    except torch.OutOfMemoryError:
        pass  # handled below: outside the except block the failed pass's tensors can be freed
    if res is None:
        if probe.device.type == "cuda":
            torch.cuda.empty_cache()
        if len(seqs) == 1:
            n = seqs[0].ids.shape[0]
            return [SeqOut(error_code="SCORER_OOM", error_message=f"one sequence of {n} tokens does not fit")]
        stats.oom_splits += 1
        half = len(seqs) // 2
        return _run(probe, seqs[:half], method, stats) + _run(probe, seqs[half:], method, stats)
    norms = res.norms.float().numpy()
    return [
        SeqOut(norms=norms[b], loss=float(res.loss[b]), targets=int(res.targets[b])) for b in range(len(seqs))
    ]


def score_sequences(
    probe: LoadedProbe,
    seqs: Sequence[SeqIn],
    max_rows: int = 16,
    max_tokens: int = 16384,
    method: NormMethod = "auto",
    stats: BatchStats | None = None,
) -> list[SeqOut]:
    """Outcomes in input order; bad sequences get an error code, the rest are scored in length buckets."""
    st = stats or BatchStats()
    outs: list[SeqOut | None] = [_validate(s, probe.vocab_size) for s in seqs]
    good = [i for i, o in enumerate(outs) if o is None]
    for bucket in buckets([seqs[i].ids.shape[0] for i in good], max_rows, max_tokens):
        idx = [good[k] for k in bucket]
        try:
            res = _run(probe, [seqs[i] for i in idx], method, st)
        except RuntimeError as err:  # a failure that is not OOM: the bucket's sequences fail, the rest go on
            res = [SeqOut(error_code="SCORING_FAILED", error_message=str(err)[:500]) for _ in idx]
        for i, o in zip(idx, res, strict=True):
            outs[i] = o
    return [o if o is not None else SeqOut(error_code="SCORING_FAILED") for o in outs]

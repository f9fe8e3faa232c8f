"""Records → padded causal-LM tensors with the assistant-target mask (torch extra)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .sequence import BuiltSequence

IGNORE_INDEX = -100


@dataclass
class LmBatch:
    input_ids: torch.Tensor  # [B, T] long, right-padded
    attention_mask: torch.Tensor  # [B, T] long
    #: input_ids where the token is a target, else -100 (HF causal-LM labels; the model shifts them)
    labels: torch.Tensor


def pad_batch(seqs: Sequence[BuiltSequence], pad_id: int = 0) -> LmBatch:
    width = max(len(s.ids) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    labels = torch.full((len(seqs), width), IGNORE_INDEX, dtype=torch.long)
    for i, s in enumerate(seqs):
        n = len(s.ids)
        row = torch.tensor(s.ids, dtype=torch.long)
        ids[i, :n] = row
        mask[i, :n] = 1
        target = torch.tensor(s.is_target, dtype=torch.bool)
        labels[i, :n] = torch.where(target, row, torch.full_like(row, IGNORE_INDEX))
    return LmBatch(ids, mask, labels)


def token_logprobs(logits: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
    """log π(token[p] | tokens < p) at every position p ≥ 1, aligned to p (position 0 gets 0). [B, T]."""
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    picked = logp.gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    return torch.nn.functional.pad(picked, (1, 0))


def sft_loss(logits: torch.Tensor, batch: LmBatch) -> torch.Tensor:
    """Mean over all targets of -log softmax(logits[p-1])[token[p]] (``src/sequence/loss.ts``)."""
    target = batch.labels != IGNORE_INDEX
    logp = token_logprobs(logits, batch.input_ids)
    return -(logp * target).sum() / target.sum().clamp(min=1)

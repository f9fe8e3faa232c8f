"""The RL loss of ``prism train rl`` in PyTorch: group-relative (GRPO) advantages over a stream
(``src/trainer/advantages.ts``) and the token-level policy-gradient / PPO-clip loss
(``src/trainer/rl-loss.ts``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import torch

T = TypeVar("T")


@dataclass(frozen=True)
class AdvantageOptions:
    group_size: int = 8
    min_group_size: int = 2
    window_s: float = 30.0
    max_pending: int = 1024
    scale_by_std: bool = True
    eps: float = 1e-6
    baseline_alpha: float = 0.05


def group_advantages(rewards: Sequence[float], scale_by_std: bool, eps: float) -> list[float]:
    n = len(rewards)
    mean = sum(rewards) / n
    std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / n)
    return [(r - mean) / (std + eps) if scale_by_std else r - mean for r in rewards]


@dataclass
class RunningBaseline:
    """EMA mean/variance of rewards; the first reward gets advantage 0. State goes into the manifest."""

    alpha: float
    count: int = 0
    mean: float = 0.0
    variance: float = 0.0

    def advantage(self, reward: float, scale_by_std: bool, eps: float) -> float:
        if self.count == 0:
            return 0.0
        centred = reward - self.mean
        return centred / (math.sqrt(self.variance) + eps) if scale_by_std and self.count >= 2 else centred

    def update(self, reward: float) -> None:
        if self.count == 0:
            self.count, self.mean, self.variance = 1, reward, 0.0
            return
        d = reward - self.mean
        self.mean += self.alpha * d
        self.variance = (1 - self.alpha) * (self.variance + self.alpha * d * d)
        self.count += 1

    def state(self) -> dict[str, Any]:
        return {"count": self.count, "mean": self.mean, "variance": self.variance}


@dataclass(frozen=True)
class Released(Generic[T]):
    item: T
    reward: float
    advantage: float
    group_size: int


@dataclass
class _Group(Generic[T]):
    first_at: float
    members: list[tuple[T, float]] = field(default_factory=list)


class GroupWindow(Generic[T]):
    """Holds records of one task_id until the group is complete or expires, then releases them with
    A_i = (r_i - mean_g) / (std_g + eps); a record released alone gets A = r - b (running baseline)."""

    def __init__(self, opts: AdvantageOptions, baseline: dict[str, Any] | None = None) -> None:
        self.opts = opts
        self.groups: dict[str, _Group[T]] = {}
        self.pending = 0
        b = baseline or {}
        self.baseline = RunningBaseline(
            opts.baseline_alpha,
            int(b.get("count", 0)),
            float(b.get("mean", 0.0)),
            float(b.get("variance", 0.0)),
        )

    def push(self, key: str, reward: float, item: T, now: float) -> list[Released[T]]:
        g = self.groups.setdefault(key, _Group(now))
        g.members.append((item, reward))
        self.pending += 1
        out: list[Released[T]] = []
        if self.opts.group_size > 0 and len(g.members) >= self.opts.group_size:
            out += self._release(key)
        while self.pending > self.opts.max_pending:
            out += self._release(next(iter(self.groups)))
        return out

    def expire(self, now: float) -> list[Released[T]]:
        out: list[Released[T]] = []
        for key, g in list(self.groups.items()):
            if now - g.first_at < self.opts.window_s:
                break
            out += self._release(key)
        return out

    def flush(self) -> list[Released[T]]:
        out: list[Released[T]] = []
        for key in list(self.groups):
            out += self._release(key)
        return out

    def _release(self, key: str) -> list[Released[T]]:
        g = self.groups.pop(key)
        self.pending -= len(g.members)
        o = self.opts
        rewards = [r for _, r in g.members]
        if len(g.members) >= max(2, o.min_group_size):
            adv = group_advantages(rewards, o.scale_by_std, o.eps)
            out = [Released(it, r, a, len(g.members)) for (it, r), a in zip(g.members, adv, strict=True)]
        else:
            out = [
                Released(it, r, self.baseline.advantage(r, o.scale_by_std, o.eps), 1) for it, r in g.members
            ]
        for r in rewards:
            self.baseline.update(r)
        return out


def rl_loss(
    logp: torch.Tensor,
    mask: torch.Tensor,
    advantages: torch.Tensor,
    *,
    old_logp: torch.Tensor | None = None,
    old_mask: torch.Tensor | None = None,
    ref_logp: torch.Tensor | None = None,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    kl_coef: float = 0.0,
    aggregation: Literal["token-mean", "seq-mean"] = "token-mean",
) -> tuple[torch.Tensor, float]:
    """(sum, weight): loss = -A·log π per target token, or the PPO-clipped surrogate where behaviour
    logprobs exist, plus β·k3 KL to a reference; summed over tokens ('token-mean', weight = tokens) or
    over per-sequence means ('seq-mean', weight = sequences). Divide the step's sum by its weight."""
    adv = advantages.unsqueeze(1)
    per_token = -(adv * logp)
    if old_logp is not None and old_mask is not None:
        ratio = torch.exp(logp - old_logp)
        clipped = ratio.clamp(1 - clip_low, 1 + clip_high)
        surr = -torch.minimum(ratio * adv, clipped * adv)
        per_token = torch.where(old_mask > 0, surr, per_token)
    if ref_logp is not None and kl_coef != 0:
        d = ref_logp - logp
        per_token = per_token + kl_coef * (torch.exp(d) - d - 1)
    masked = per_token * mask
    if aggregation == "token-mean":
        return masked.sum(), float(mask.sum().item())
    per_seq = masked.sum(1) / mask.sum(1).clamp(min=1)
    return per_seq.sum(), float((mask.sum(1) > 0).sum().item())


def behaviour_logprobs(
    turns: Sequence[dict[str, Any]], length: int
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Behaviour log-probabilities aligned to the sequence positions: the ``logprobs`` of assistant turns
    that carry ``token_ids`` (then the PPO-clipped ratio applies there). None when a turn has no
    ``token_ids`` (positions unknown without re-tokenizing) or no turn has logprobs."""
    old = torch.zeros(length)
    mask = torch.zeros(length)
    pos = 0
    found = False
    for turn in turns:
        ids = turn.get("token_ids")
        if ids is None:
            return None
        lp = turn.get("logprobs")
        if lp is not None and turn["role"] == "assistant":
            for k in range(min(len(ids), max(0, length - pos))):
                old[pos + k] = float(lp[k])
                mask[pos + k] = 1.0
            found = True
        pos += len(ids)
    return (old, mask) if found else None

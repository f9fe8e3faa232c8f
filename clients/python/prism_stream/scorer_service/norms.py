"""Per-example, per-matrix gradient Frobenius norms in one batched forward + backward (pure compute, no I/O).

For a projection Y = A·Wᵀ (+b), one example's weight gradient is Dᵀ·A with D = ∂L/∂Y, and
‖DᵀA‖²_F = sum((A·Aᵀ) ⊙ (D·Dᵀ)) (the ghost-norm identity). A batched backward of Σᵢ Lᵢ yields every
example's own D (examples never mix), so all B·7L norms come from one pass. Weights never require grad:
a forward hook keeps each projection's input A and a tensor hook on its output receives D during the
backward, turns (A, D) into B squared norms at once and lets both go. Per matrix the cheaper formula
is used: ghost iff T·(in+out) < in·out (two TxT Grams), else the materialised per-example product.
The loss is the mean next-token cross-entropy over target positions, from gathered target rows in
chunks that are recomputed in the backward (never BxTxV logits at once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .model import LoadedProbe

NormMethod = Literal["auto", "ghost", "outer"]
# Elements of one intermediate (per-example Gram or product) block; bounds the norm step's extra memory.
BLOCK_ELEMENTS = 1 << 27


@dataclass
class NormResult:
    """norms (B, 7L) float64 on the CPU, loss (B,) float64, targets (B,) int64."""

    norms: torch.Tensor
    loss: torch.Tensor
    targets: torch.Tensor


def choose_method(T: int, d_in: int, d_out: int, method: NormMethod) -> Literal["ghost", "outer"]:
    if method != "auto":
        return method
    return "ghost" if T * (d_in + d_out) < d_in * d_out else "outer"


def _per_example_sq_outer(a: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """‖Dᵢᵀ Aᵢ‖²_F for each i, materialising the product in blocks of examples."""
    B, _, d_in = a.shape
    d_out = d.shape[2]
    step = max(1, BLOCK_ELEMENTS // (d_in * d_out))
    out = torch.empty(B, dtype=torch.float32, device=a.device)
    for s in range(0, B, step):
        prod = torch.bmm(d[s : s + step].transpose(1, 2), a[s : s + step])
        out[s : s + step] = prod.float().pow(2).sum(dim=(1, 2))
    return out


class _GramCache:
    """q/k/v (and gate/up) read one input: its Gram is formed once and reused by the next hook."""

    def __init__(self) -> None:
        self.key: int | None = None
        self.value: torch.Tensor | None = None

    def gram(self, a: torch.Tensor, s: int, e: int) -> torch.Tensor:
        key = hash((id(a), s, e))
        if self.key != key or self.value is None:
            blk = a[s:e]
            self.value = torch.bmm(blk, blk.transpose(1, 2)).float()
            self.key = key
        return self.value

    def clear(self) -> None:
        self.key, self.value = None, None


def _per_example_sq_ghost(a: torch.Tensor, d: torch.Tensor, cache: _GramCache) -> torch.Tensor:
    B, T, _ = a.shape
    step = max(1, BLOCK_ELEMENTS // (T * T))
    out = torch.empty(B, dtype=torch.float32, device=a.device)
    for s in range(0, B, step):
        e = min(B, s + step)
        ga = cache.gram(a, s, e)
        gd = torch.bmm(d[s:e], d[s:e].transpose(1, 2)).float()
        out[s:e] = (ga * gd).sum(dim=(1, 2))
    return out


def _install_hooks(
    projections: list[nn.Linear], sq: torch.Tensor, T: int, method: NormMethod
) -> list[torch.utils.hooks.RemovableHandle]:
    cache = _GramCache()
    handles = []
    for j, lin in enumerate(projections):
        kind = choose_method(T, lin.in_features, lin.out_features, method)

        def fwd(
            _m: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor, j: int = j, kind: str = kind
        ) -> None:
            if not out.requires_grad:
                return
            a = inp[0].detach()

            def bwd(g: torch.Tensor) -> None:
                if kind == "outer":
                    sq[:, j] = _per_example_sq_outer(a, g)
                else:
                    sq[:, j] = _per_example_sq_ghost(a, g, cache)

            out.register_hook(bwd)

        handles.append(lin.register_forward_hook(fwd))
    return handles


def _target_rows(ids: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Row p-1 predicts ids[p] for each target p ≥ 1: (selection mask over T-1, target ids, example)."""
    sel = target[:, 1:].bool()
    sel_targets = ids[:, 1:][sel]
    example = torch.arange(ids.shape[0], device=ids.device)[:, None].expand_as(sel)[sel]
    return sel, sel_targets, example


def chunked_nll(
    head: Callable[[torch.Tensor], torch.Tensor], rows: torch.Tensor, targets: torch.Tensor, chunk: int
) -> torch.Tensor:
    """-log softmax(head(rows))[targets] per row, chunk rows at a time; logits recomputed in the backward."""

    def nll(h: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        logits = head(h).float()
        return torch.logsumexp(logits, dim=-1) - logits.gather(1, t[:, None]).squeeze(1)

    parts = [
        checkpoint(nll, rows[s : s + chunk], targets[s : s + chunk], use_reentrant=False)
        for s in range(0, rows.shape[0], chunk)
    ]
    return torch.cat(parts)


def batched_norms(
    probe: LoadedProbe,
    ids: torch.Tensor,
    target: torch.Tensor,
    method: NormMethod = "auto",
    loss_chunk: int = 2048,
) -> NormResult:
    """ids (B, T) int64, target (B, T) bool on the probe's device, right-padded; one forward + backward."""
    base: Any = getattr(probe.model, "model")  # noqa: B009 (HF decoders: .model and .lm_head)
    head: Any = getattr(probe.model, "lm_head")  # noqa: B009
    B, T = ids.shape
    sq = torch.zeros(B, len(probe.projections), dtype=torch.float32, device=ids.device)
    handles = _install_hooks(probe.projections, sq, T, method)
    try:
        with torch.enable_grad():
            emb = base.embed_tokens(ids).detach().requires_grad_(True)
            # Right padding + causal attention: pads never influence real positions, so no mask is needed
            # and SDPA takes its causal (flash / memory-efficient) kernels.
            hidden = base(inputs_embeds=emb, use_cache=False).last_hidden_state
            sel, tgt, example = _target_rows(ids, target)
            counts = sel.sum(dim=1)
            nll = chunked_nll(head, hidden[:, :-1][sel], tgt, loss_chunk)
            weight = 1.0 / counts.clamp(min=1).to(nll.dtype)
            total = (nll * weight[example]).sum()
            total.backward()
        loss = torch.zeros(B, dtype=torch.float64, device=ids.device)
        loss.index_add_(0, example, (nll.detach() * weight[example]).double())
        return NormResult(sq.double().sqrt().cpu(), loss.cpu(), counts.cpu())
    finally:
        for h in handles:
            h.remove()


def paper_loop_norms(probe: LoadedProbe, ids: torch.Tensor, target: torch.Tensor) -> NormResult:
    """The paper's loop: one trajectory at a time, full logits, weight gradients of the 7L projections."""
    norms, losses, counts = [], [], []
    for p in probe.projections:
        p.weight.requires_grad_(True)
    try:
        for b in range(ids.shape[0]):
            n = int(torch.nonzero(target[b]).max().item()) + 1 if bool(target[b].any()) else ids.shape[1]
            x, m = ids[b : b + 1, :n], target[b : b + 1, 1:n].bool()
            with torch.enable_grad():
                logits = probe.model(input_ids=x, use_cache=False).logits[:, :-1].float()
                logp = torch.log_softmax(logits, dim=-1)
                nll = -logp.gather(2, x[:, 1:, None]).squeeze(2)
                loss = nll[m].mean()
                loss.backward()
            norms.append(torch.stack([p.weight.grad.double().norm() for p in probe.projections]))  # type: ignore[union-attr]
            losses.append(loss.detach().double())
            counts.append(m.sum())
            for p in probe.projections:
                p.weight.grad = None
    finally:
        for p in probe.projections:
            p.weight.requires_grad_(False)
            p.weight.grad = None
    return NormResult(torch.stack(norms).cpu(), torch.stack(losses).cpu(), torch.stack(counts).cpu())

#!/usr/bin/env python3
"""PyTorch side of `prism bench profile` (optional; not run in CI).

The same paper loop as prism_torch.py (per trajectory: one forward, the masked mean next-token loss,
one full backward, the 7L projection-gradient Frobenius norms), on the same model folder and token
ids, first timed without a profiler (`--reps` passes after one warm-up trajectory), then `--profiled`
passes under `torch.profiler.profile` (CPU activity, shapes and FLOPs recorded). Each trajectory's work is
wrapped in `record_function` ranges "forward", "backward" and "norms", so every profiled op is
attributed to the phase range it ran under (the autograd engine runs a CPU graph's backward on the
calling thread, so backward ops nest under "backward").

Output: one JSON object on stdout: versions, threads, the unprofiled and profiled wall times, and
`ops`: per (phase, op name) the summed *self* CPU time (exclusive of child ops, so the ops add up to
the profiled time without double counting), calls and FLOPs (the profiler's estimate, for matmuls).
The phase ranges' own self time is reported as the op "(python between ops)".
"""

from __future__ import annotations

import json
import platform
import time
from collections import defaultdict
from typing import Any

import torch
import transformers
from prism_torch import PROJ, bench_parser, set_threads
from torch.profiler import ProfilerActivity, profile, record_function
from transformers import AutoModelForCausalLM

PHASES = ("forward", "backward", "norms")
Batch = list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def load(
    path: str, attn: str
) -> tuple[Any, list[torch.Tensor], list[torch.nn.Parameter]]:
    model = AutoModelForCausalLM.from_pretrained(
        path, dtype=torch.float32, attn_implementation=attn
    )
    model.train(False)
    proj = [layer.get_submodule(p).weight for layer in model.model.layers for p in PROJ]
    params = [p for p in model.parameters() if p.requires_grad]
    return model, proj, params


def score(
    model: Any,
    proj: list[torch.Tensor],
    params: list[torch.nn.Parameter],
    ids: torch.Tensor,
    tgt: torch.Tensor,
    mask: torch.Tensor,
) -> torch.Tensor:
    """The paper's method for one trajectory, in the three phase ranges."""
    for p in params:
        p.grad = None
    with record_function("forward"):
        logits = model(input_ids=ids).logits[0]
        nll = torch.nn.functional.cross_entropy(logits, tgt, reduction="none")
        loss = (nll * mask).sum() / mask.sum().clamp(min=1)
    with record_function("backward"):
        loss.backward()
    with record_function("norms"):
        norms = torch.stack([w.grad.norm() for w in proj if w.grad is not None])
    return norms


def phase_of(ev: Any) -> str:
    p = ev
    while p is not None:
        if p.name in PHASES:
            return str(p.name)
        p = p.cpu_parent
    return "other"


def aggregate(events: Any) -> list[dict[str, Any]]:
    acc: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for ev in events:
        name = "(python between ops)" if ev.name in PHASES else str(ev.name)
        slot = acc[(phase_of(ev), name)]
        slot[0] += float(ev.self_cpu_time_total) / 1000.0
        slot[1] += 1
        slot[2] += float(ev.flops or 0)
    return [
        {"phase": ph, "name": n, "selfMs": v[0], "calls": int(v[1]), "flops": v[2]}
        for (ph, n), v in acc.items()
    ]


def main() -> None:
    ap = bench_parser("unprofiled timed passes (after one warm-up)")
    ap.add_argument("--profiled", type=int, default=1, help="passes under the profiler")
    ap.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"])
    args = ap.parse_args()

    set_threads(args.threads)
    torch.manual_seed(0)
    with open(args.ids) as f:
        seqs = json.load(f)["sequences"]
    model, proj, params = load(args.model, args.attn)
    batch: Batch = [
        (
            torch.tensor([s["input_ids"]], dtype=torch.long),
            torch.tensor(s["target_ids"], dtype=torch.long),
            torch.tensor(s["target_mask"], dtype=torch.float32),
        )
        for s in seqs
    ]

    def one_pass() -> None:
        for t in batch:
            score(model, proj, params, *t).sum().item()

    score(model, proj, params, *batch[0])  # warm-up (allocator, kernels)
    t0 = time.perf_counter()
    for _ in range(args.reps):
        one_pass()
    wall_ms = 1000 * (time.perf_counter() - t0) / args.reps
    with profile(
        activities=[ProfilerActivity.CPU], record_shapes=True, with_flops=True
    ) as prof:
        t1 = time.perf_counter()
        for _ in range(args.profiled):
            one_pass()
        profiled_ms = 1000 * (time.perf_counter() - t1)
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "python": platform.python_version(),
                "threads": torch.get_num_threads(),
                "interopThreads": torch.get_num_interop_threads(),
                "attention": args.attn,
                "method": "paper loop (prism_torch.py): per trajectory forward + full backward + 7L grad norms",
                "trajectories": len(batch),
                "reps": args.reps,
                "profiledPasses": args.profiled,
                "wallMsPerBatch": wall_ms,
                "profiledWallMs": profiled_ms,
                "ops": aggregate(prof.events()),
            }
        )
    )


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PyTorch side of `prism bench profile` (optional; not run in CI).

One of PyTorch's two ways to the PRISM norms (`--method`), on the same model folder and token ids as
our side, first timed without a profiler (`--reps` passes after one warm-up), then `--profiled` passes
under `torch.profiler.profile` (CPU activity, shapes and FLOPs recorded):
- `loop`: the paper loop of prism_torch.py (per trajectory: one forward, the masked mean next-token
  loss, one full backward, the 7L projection-gradient Frobenius norms);
- `hooks`: hooks_torch.py's way, the project's PyTorch scorer service in process (one forward and
  backward for the whole batch, per-example norms formed in hooks; `pip install -e clients/python[hf]`).
The work runs in `record_function` ranges "forward", "backward" and "norms" (for `hooks` the service's
functions are wrapped in them here, the service itself is unchanged), so every profiled op is
attributed to the innermost phase range it ran under (the autograd engine runs a CPU graph's backward
on the calling thread, so backward ops nest under "backward", and the hooks' norm work under "norms").

Output: one JSON object on stdout: versions, threads, the unprofiled and profiled wall times, and
`ops`: per (phase, op name) the summed *self* CPU time (exclusive of child ops, so the ops add up to
the profiled time without double counting), calls and FLOPs (the profiler's estimate, for matmuls).
The phase ranges' own self time is reported as the op "(python between ops)".
"""

from __future__ import annotations

import functools
import json
import platform
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import torch
import transformers
from torch.profiler import ProfilerActivity, profile, record_function
from transformers import AutoModelForCausalLM

from prism_torch import PROJ, bench_parser, set_threads

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


def loop_side(
    args: Any, seqs: list[dict[str, Any]]
) -> tuple[Callable[[], None], Callable[[], None]]:
    """(warm-up, one pass) of the paper loop."""
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

    return (lambda: score(model, proj, params, *batch[0]).sum().item()), one_pass


def ranged(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """fn, run inside the record_function range `name`."""

    @functools.wraps(fn)
    def wrapped(*a: Any, **k: Any) -> Any:
        with record_function(name):
            return fn(*a, **k)

    return wrapped


def hooks_side(
    args: Any, seqs: list[dict[str, Any]]
) -> tuple[Callable[[], None], Callable[[], None]]:
    """(warm-up, one pass) of hooks_torch.py's way, its phases labelled by wrapping the service's parts."""
    from prism_stream.scorer_service import norms as service
    from prism_stream.scorer_service.batching import score_sequences
    from prism_stream.scorer_service.model import load_probe

    from hooks_torch import to_seq

    probe = load_probe(args.model, device="cpu", dtype="fp32")
    base: Any = getattr(probe.model, "model")  # noqa: B009 (HF decoders: .model and .lm_head)
    base.forward = ranged("forward", base.forward)
    service.chunked_nll = ranged("forward", service.chunked_nll)
    service._per_example_sq_outer = ranged("norms", service._per_example_sq_outer)
    service._per_example_sq_ghost = ranged("norms", service._per_example_sq_ghost)
    torch.Tensor.backward = ranged("backward", torch.Tensor.backward)  # type: ignore[method-assign]
    items = [to_seq(s) for s in seqs]
    rows, tokens = len(items), 1 << 40  # one pass of the whole batch, as hooks_torch.py

    def run(part: list[Any]) -> None:
        bad = [
            o.error_code
            for o in score_sequences(probe, part, max_rows=rows, max_tokens=tokens)
            if o.error_code
        ]
        if bad:
            raise SystemExit(f"scoring failed: {bad}")

    return (lambda: run(items[:1])), (lambda: run(items))


METHODS = {
    "loop": "paper loop (prism_torch.py): per trajectory forward + full backward + 7L grad norms",
    "hooks": "hooks (hooks_torch.py, prism_stream.scorer_service): one batched forward + backward, per-example norms in hooks",
}


def main() -> None:
    ap = bench_parser("unprofiled timed passes (after one warm-up)")
    ap.add_argument("--profiled", type=int, default=1, help="passes under the profiler")
    ap.add_argument(
        "--attn",
        default="sdpa",
        choices=["sdpa", "eager"],
        help="loop only (hooks: sdpa)",
    )
    ap.add_argument("--method", default="loop", choices=sorted(METHODS))
    args = ap.parse_args()

    set_threads(args.threads)
    torch.manual_seed(0)
    with open(args.ids) as f:
        seqs = json.load(f)["sequences"]
    warm, one_pass = (hooks_side if args.method == "hooks" else loop_side)(args, seqs)
    warm()  # allocator, kernels
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
                "attention": "sdpa" if args.method == "hooks" else args.attn,
                "way": args.method,
                "method": METHODS[args.method],
                "trajectories": len(seqs),
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

#!/usr/bin/env python3
"""PyTorch comparator for `prism bench torch` (optional; not run in CI).

Runs the PRISM paper's per-trajectory method with Hugging Face transformers on CPU, on the same
model folder and the same token ids as prism-stream's tfjs scorer: for every trajectory, one
forward, the masked mean next-token loss over its assistant targets, one full backward (every
weight gets a gradient, as in the paper), then the Frobenius norm of the gradient of each of the
7L projection matrices (layer-major q, k, v, o, gate, up, down).

Input (--ids): JSON written by `prism bench torch`:
  {"sequences": [{"input_ids": [...], "target_ids": [...], "target_mask": [...]}, ...]}
where position t predicts target_ids[t] and counts iff target_mask[t] == 1 (already trimmed).
Output: one JSON object on stdout (timings, versions, norms, losses).
"""
import argparse
import json
import platform
import time

import torch
import transformers
from transformers import AutoModelForCausalLM

PROJ = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
        "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def bench_parser(reps_help: str) -> argparse.ArgumentParser:
    """The arguments every script here takes (prism_torch, hooks_torch, profile_torch): one definition."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--reps", type=int, default=1, help=reps_help)
    return ap


def set_threads(n: int) -> None:
    """n intra-op threads and one inter-op thread, as our side runs (TF_NUM_INTEROP_THREADS=1)."""
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set


def main() -> None:
    ap = bench_parser("timed passes over all trajectories (after one warm-up trajectory)")
    ap.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"])
    args = ap.parse_args()

    set_threads(args.threads)
    torch.manual_seed(0)

    with open(args.ids) as f:
        seqs = json.load(f)["sequences"]
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32, attn_implementation=args.attn)
    model.train(False)
    layers = model.model.layers
    proj = [layer.get_submodule(p).weight for layer in layers for p in PROJ]
    params = [p for p in model.parameters() if p.requires_grad]

    tensors = [(torch.tensor([s["input_ids"]], dtype=torch.long),
                torch.tensor(s["target_ids"], dtype=torch.long),
                torch.tensor(s["target_mask"], dtype=torch.float32)) for s in seqs]

    def score(ids, tgt, mask):
        for p in params:
            p.grad = None
        logits = model(input_ids=ids).logits[0]
        nll = torch.nn.functional.cross_entropy(logits, tgt, reduction="none")
        loss = (nll * mask).sum() / mask.sum().clamp(min=1)
        loss.backward()  # the paper's method: a full backward, every weight's gradient
        norms = torch.stack([w.grad.norm() for w in proj])
        return loss.detach(), norms

    score(*tensors[0])  # warm-up (allocator, kernels)
    norms_out, losses = [], []
    t0 = time.perf_counter()
    c0 = time.process_time()
    for r in range(args.reps):
        for t in tensors:
            loss, norms = score(*t)
            if r == 0:
                losses.append(float(loss))
                norms_out.append([float(x) for x in norms])
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    n = len(tensors) * args.reps
    print(json.dumps({
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "interopThreads": torch.get_num_interop_threads(),
        "attention": args.attn,
        "mklEnabled": torch.backends.mkl.is_available(),
        "trajectories": n,
        "msPerTrajectory": 1000 * wall / n,
        "cpuMsPerTrajectory": 1000 * cpu / n,
        "trajectoriesPerSec": n / wall,
        "tokens": sum(len(s["input_ids"]) for s in seqs) * args.reps,
        "losses": losses,
        "norms": norms_out,
    }))


if __name__ == "__main__":
    main()

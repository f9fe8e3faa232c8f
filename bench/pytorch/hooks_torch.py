#!/usr/bin/env python3
"""PyTorch's batched per-example norms from hooks, on the same input as prism_torch.py (optional bench tool).

The other PyTorch way to get PRISM norms (issue 14 item 4 asks for the faster of the two): one forward and
backward per batch with hooks on every projection, per-example norms by the ghost-norm identity or the
materialised product, no weight gradients. It is the project's own PyTorch scorer service
(prism_stream.scorer_service, issue 18), called in process: `pip install -e clients/python[hf]`.

Input (--ids) and output: as prism_torch.py (the same JSON on stdout; norms in the same layer-major order).
"""

import json
import platform
import time

import numpy as np
import torch
import transformers
from prism_stream.scorer_service.batching import SeqIn, score_sequences
from prism_stream.scorer_service.model import load_probe
from prism_torch import bench_parser, set_threads


def to_seq(s: dict[str, list[int]]) -> SeqIn:
    """prism_torch.py's (input_ids, target_ids, target_mask) as the service's tokens and target flags."""
    ids = np.array([*s["input_ids"], s["target_ids"][-1]], dtype=np.int32)
    target = np.zeros(ids.shape[0], dtype=np.uint8)
    target[1:] = np.array(s["target_mask"], dtype=np.uint8)
    return SeqIn(ids=ids, target=target)


def main() -> None:
    args = bench_parser("timed passes over the batch (after one warm-up pass)").parse_args()
    set_threads(args.threads)

    with open(args.ids) as f:
        seqs = [to_seq(s) for s in json.load(f)["sequences"]]
    probe = load_probe(args.model, device="cpu", dtype="fp32")
    rows = len(seqs)
    tokens = (
        1 << 40
    )  # no token cap: one pass of the whole batch, as our scorer's batched row
    score_sequences(probe, seqs[:1], max_rows=rows, max_tokens=tokens)  # warm-up
    t0 = time.perf_counter()
    c0 = time.process_time()
    out = []
    for _ in range(args.reps):
        out = score_sequences(probe, seqs, max_rows=rows, max_tokens=tokens)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    bad = [o.error_code for o in out if o.error_code is not None]
    if bad:
        raise SystemExit(f"scoring failed: {bad}")
    n = rows * args.reps
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "python": platform.python_version(),
                "threads": torch.get_num_threads(),
                "implementation": "hooks (prism_stream.scorer_service)",
                "trajectories": n,
                "msPerTrajectory": 1000 * wall / n,
                "cpuMsPerTrajectory": 1000 * cpu / n,
                "trajectoriesPerSec": n / wall,
                "losses": [o.loss for o in out],
                "norms": [
                    [float(x) for x in (o.norms if o.norms is not None else [])]
                    for o in out
                ],
            }
        )
    )


if __name__ == "__main__":
    main()

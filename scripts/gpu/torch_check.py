#!/usr/bin/env python3
"""GPU check of the PyTorch PRISM scorer service (issue 18): the service's batched path vs the paper's loop.

    python3 scripts/gpu/torch_check.py --out $OUT --budget-s 300            # on the H200
    python3 scripts/gpu/torch_check.py --out /tmp/tc --device cpu --smoke   # CPU smoke test

Random-init Qwen-shaped models built by transformers from their configs on the device (0.5B, 1.5B: Qwen2.5
shapes; 8B: Qwen3-8B shape), T = 2048 and 8192, fp32 and bf16, smallest first. Per row: trajectories/s and
tokens/s of the service path (prism_stream.scorer_service.batching.score_sequences: length buckets, one
forward+backward with hook norms, OOM splits) and of the paper's loop (one trajectory at a time, weight
gradients of the 7L projections), same weights, token ids, B and T, timed with CUDA events after one
untimed warm-up; peak GPU memory; counted TFLOP/s against reference peaks; bf16-vs-fp32 relative norm
error and the Gini ranking's Spearman correlation and top/bottom-half agreement. The budget is a hard
deadline (SIGALRM): rows not reached are recorded as "skipped: time budget" — never estimated. The JSON
is rewritten after every row, so a kill still leaves results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))

import numpy as np
import torch
from prism_stream.scorer_service.batching import BatchStats, SeqIn, score_sequences
from prism_stream.scorer_service.model import (
    PROJECTIONS,
    Dtype,
    LoadedProbe,
    ProbeIdentity,
    prepare,
    set_matmul_precision,
)
from prism_stream.scorer_service.norms import choose_method, paper_loop_norms

# Reference peaks from ../shared/notes/gpu-device.md (H200): not measured by this script.
PEAK_TFLOPS = {"fp32": 67.0, "bf16": 790.0}
QWEN_VOCAB = 151936
MODELS: dict[str, dict[str, Any]] = {
    "0.5B": dict(
        model_type="qwen2",
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        tie_word_embeddings=True,
    ),
    "1.5B": dict(
        model_type="qwen2",
        hidden_size=1536,
        intermediate_size=8960,
        num_hidden_layers=28,
        num_attention_heads=12,
        num_key_value_heads=2,
        tie_word_embeddings=True,
    ),
    "8B": dict(
        model_type="qwen3",
        hidden_size=4096,
        intermediate_size=12288,
        num_hidden_layers=36,
        num_attention_heads=32,
        num_key_value_heads=8,
        head_dim=128,
        tie_word_embeddings=False,
    ),
}
SMOKE_MODELS: dict[str, dict[str, Any]] = {
    "smoke-qwen2": dict(
        model_type="qwen2",
        hidden_size=64,
        intermediate_size=160,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=True,
        vocab_size=512,
    ),
}
# Trajectories per row (same B for both paths).
ROWS_B = {2048: 8, 8192: 2}


class BudgetExceeded(Exception):
    pass


def _alarm(_sig: int, _frame: object) -> None:
    raise BudgetExceeded()


class Report:
    def __init__(self, out: Path, meta: dict[str, Any]) -> None:
        self.path = out / "torch_check.json"
        self.doc: dict[str, Any] = {"meta": meta, "rows": [], "agreement": [], "errors": []}
        self.write()

    def write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.doc, indent=1))
        os.replace(tmp, self.path)

    def add(self, key: str, row: dict[str, Any]) -> None:
        self.doc[key].append(row)
        self.write()
        print(json.dumps(row), flush=True)


def build_model(spec: dict[str, Any], device: torch.device, seed: int) -> torch.nn.Module:
    from transformers import AutoConfig, AutoModelForCausalLM

    kw = dict(spec)
    kind = kw.pop("model_type")
    kw.setdefault("vocab_size", QWEN_VOCAB)
    cfg = AutoConfig.for_model(kind, max_position_embeddings=32768, **kw)
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32, attn_implementation="sdpa")
    return model


def make_probe(model: torch.nn.Module, device: torch.device, dtype: Dtype) -> LoadedProbe:
    set_matmul_precision(dtype)
    projections = prepare(model, device, dtype)
    cfg: Any = model.config
    identity = ProbeIdentity("random-init", "seed")
    return LoadedProbe(
        model, projections, identity, int(cfg.vocab_size), int(cfg.num_hidden_layers), dtype, device
    )


def make_data(B: int, T: int, vocab: int, seed: int) -> list[SeqIn]:
    """B trajectories of exactly T tokens; the second half (the "response") is the target."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(B):
        ids = rng.integers(0, vocab, size=T, dtype=np.int32)
        tgt = np.zeros(T, dtype=np.uint8)
        tgt[T // 2 :] = 1
        out.append(SeqIn(ids, tgt))
    return out


def flops(cfg: Any, T: int, B: int, path: str) -> float:
    """Counted FLOPs (src/scorer/flops.ts convention: matmuls only, attention over the full TxT block)."""
    L, d, V = cfg.num_hidden_layers, cfg.hidden_size, cfg.vocab_size
    H = cfg.num_attention_heads
    hd = getattr(cfg, "head_dim", None) or d // H
    kv = cfg.num_key_value_heads * hd
    dims = [
        (d, H * hd),
        (d, kv),
        (d, kv),
        (H * hd, d),
        (d, cfg.intermediate_size),
        (d, cfg.intermediate_size),
        (cfg.intermediate_size, d),
    ]
    P = L * sum(i * o for i, o in dims)
    attn = 4 * L * T * T * H * hd
    M = T // 2  # target rows
    if path == "service":
        head = 2 * M * d * V
        norms = 0.0
        for i, o in dims:
            norms += (
                2 * T * i * o
                if choose_method(T, i, o, "auto") == "outer"
                else 2 * T * T * (i + o) + 2 * T * T
            )
        per = (2 * T * P + attn + head) + (2 * T * P + 2 * attn + 2 * head) + L * norms
    else:
        head = 2 * T * d * V
        per = (2 * T * P + attn + head) + (2 * T * P + 2 * attn + head) + 2 * T * P
    return float(B * per)


def timed(device: torch.device, fn: Any) -> tuple[float, Any]:
    if device.type == "cuda":
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        res = fn()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / 1000.0, res
    t0 = time.perf_counter()
    res = fn()
    return time.perf_counter() - t0, res


def run_path(
    probe: LoadedProbe, data: list[SeqIn], path: str, stats: BatchStats | None = None
) -> tuple[float, np.ndarray, int]:
    """(seconds, norms (B, 7L), peak bytes) after one untimed warm-up on the first trajectory."""
    dev = probe.device

    def service() -> np.ndarray:
        outs = score_sequences(probe, data, max_rows=len(data), max_tokens=1 << 30, stats=stats)
        bad = [o.error_code for o in outs if o.error_code]
        if bad:
            raise RuntimeError(f"service path: {bad[0]}")
        return np.stack([o.norms for o in outs])  # type: ignore[misc]

    def loop() -> np.ndarray:
        ids = torch.from_numpy(np.stack([s.ids for s in data]).astype(np.int64)).to(dev)
        tgt = torch.from_numpy(np.stack([s.target for s in data]).astype(np.bool_)).to(dev)
        return paper_loop_norms(probe, ids, tgt).norms.float().numpy()

    fn = service if path == "service" else loop
    warm = data[:1]
    if path == "service":
        score_sequences(probe, warm, max_rows=1, max_tokens=1 << 30)
    else:
        ids = torch.from_numpy(warm[0].ids[None].astype(np.int64)).to(dev)
        paper_loop_norms(probe, ids, torch.from_numpy(warm[0].target[None].astype(np.bool_)).to(dev))
    if dev.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    secs, norms = timed(dev, fn)
    peak = torch.cuda.max_memory_allocated() if dev.type == "cuda" else 0
    return secs, norms, peak


def gini(x: np.ndarray) -> np.ndarray:
    s = np.sort(x, axis=1)
    n = s.shape[1]
    j = np.arange(1, n + 1)
    return 2 * (s * j).sum(1) / (n * s.sum(1)) - (n + 1) / n


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    if len(a) < 2 or ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def agreement(name: str, T: int, f32: np.ndarray, b16: np.ndarray) -> dict[str, Any]:
    rel = np.abs(b16.astype(np.float64) - f32) / np.maximum(np.abs(f32), 1e-30)
    g32, g16 = gini(f32.astype(np.float64)), gini(b16.astype(np.float64))
    half32, half16 = g32 > np.median(g32), g16 > np.median(g16)
    return {
        "model": name,
        "T": T,
        "trajectories": int(f32.shape[0]),
        "norm_rel_err_median": float(np.median(rel)),
        "norm_rel_err_max": float(rel.max()),
        "gini_abs_err_max": float(np.abs(g32 - g16).max()),
        "gini_spearman": spearman(g32, g16),
        "gini_half_agreement": float((half32 == half16).mean()),
    }


def row_result(
    name: str, cfg: Any, dtype: str, T: int, B: int, probe: LoadedProbe
) -> tuple[dict[str, Any], Any]:
    data = make_data(B, T, int(cfg.vocab_size), seed=T + B)
    row: dict[str, Any] = {"model": name, "dtype": dtype, "T": T, "B": B}
    norms = None
    for path in ("service", "paper_loop"):
        stats = BatchStats()
        failure = None
        try:
            secs, n, peak = run_path(probe, data, path, stats)
        except (torch.OutOfMemoryError, RuntimeError) as err:
            oom = isinstance(err, torch.OutOfMemoryError) or "OOM" in str(err)
            failure = "oom" if oom else f"failed: {str(err)[:300]}"
        if failure is not None:  # outside the except block, so the failed pass's tensors can be freed
            if device_is_cuda(probe):
                torch.cuda.empty_cache()
            row[path] = {"status": failure}
            continue
        f = flops(cfg, T, B, path)
        row[path] = {
            "status": "ok",
            "seconds": secs,
            "traj_per_s": B / secs,
            "tokens_per_s": B * T / secs,
            "peak_gpu_mib": peak / 2**20,
            "counted_tflop": f / 1e12,
            "tflops": f / secs / 1e12,
            "fraction_of_peak": f / secs / 1e12 / PEAK_TFLOPS[dtype],
        }
        if path == "service":
            row[path]["forward_backward_passes"] = stats.forward_backward
            row[path]["oom_splits"] = stats.oom_splits
        if path == "service":
            norms = n
        elif norms is not None:
            row["service_vs_loop_max_rel_diff"] = float(
                np.max(np.abs(norms - n) / np.maximum(np.abs(n), 1e-30))
            )
    if row.get("service", {}).get("status") == "ok" and row.get("paper_loop", {}).get("status") == "ok":
        row["speedup_service_vs_loop"] = row["paper_loop"]["seconds"] / row["service"]["seconds"]
    return row, norms


def device_is_cuda(probe: LoadedProbe) -> bool:
    return probe.device.type == "cuda"


def agreement_set(n: int, T: int, vocab: int, seed: int) -> list[SeqIn]:
    """n trajectories of varied lengths in [T/4, T], targets = second half, for the bf16-vs-fp32 ranking."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        L = int(rng.integers(T // 4, T + 1))
        tgt = np.zeros(L, dtype=np.uint8)
        tgt[L // 2 :] = 1
        out.append(SeqIn(rng.integers(0, vocab, size=L, dtype=np.int32), tgt))
    return out


def agreement_norms(probe: LoadedProbe, data: list[SeqIn]) -> np.ndarray | None:
    outs = score_sequences(probe, data, max_rows=8, max_tokens=16384)
    if any(o.error_code for o in outs):
        return None
    return np.stack([o.norms for o in outs])  # type: ignore[misc]


def plan(smoke: bool) -> list[tuple[str, dict[str, Any], list[int]]]:
    if smoke:
        return [(n, s, [64, 128]) for n, s in SMOKE_MODELS.items()]
    return [(n, s, [2048, 8192]) for n, s in MODELS.items()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget-s", type=float, default=300.0)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--smoke", action="store_true", help="tiny model, T=64/128, B=2 (CPU test of the script)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(
            "torch_check: CUDA requested but torch.cuda.is_available() is False — refusing to report CPU "
            "numbers as GPU numbers",
            file=sys.stderr,
        )
        return 2
    t_start = time.monotonic()
    meta = {
        "what": "issue 18 torch scorer service vs the paper's loop",
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or "cpu",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "budget_s": args.budget_s,
        "smoke": args.smoke,
        "projections": list(PROJECTIONS),
        "torch_compile": "not used",
        "reference_peaks_tflops": PEAK_TFLOPS,
        "flop_convention": "src/scorer/flops.ts (matmuls, full TxT attention)",
        "command": " ".join(sys.argv),
    }
    try:
        import transformers

        meta["transformers"] = transformers.__version__
    except ImportError as err:
        print(f"torch_check: transformers is required ({err})", file=sys.stderr)
        return 2
    rep = Report(out, meta)
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(max(1, int(args.budget_s)))
    todo = [(n, s, dt, T) for n, s, Ts in plan(args.smoke) for dt in ("fp32", "bf16") for T in Ts]
    done: set[tuple[str, str, int]] = set()
    try:
        for name, spec, Ts in plan(args.smoke):
            try:
                run_model(rep, name, spec, Ts, device, args, done)
            except BudgetExceeded:
                raise
            except Exception as err:  # one model's failure must not lose the others' rows
                rep.add("errors", {"model": name, "error": repr(err)[:500]})
    except BudgetExceeded:
        rep.doc["errors"].append(
            {"budget": f"stopped at {time.monotonic() - t_start:.1f} s (budget {args.budget_s} s)"}
        )
    finally:
        signal.alarm(0)
    for name, _s, dt, T in todo:
        if (name, dt, T) not in done:
            rep.doc["rows"].append({"model": name, "dtype": dt, "T": T, "status": "skipped: time budget"})
    rep.doc["meta"]["elapsed_s"] = time.monotonic() - t_start
    rep.write()
    return 0


def run_model(
    rep: Report,
    name: str,
    spec: dict[str, Any],
    Ts: list[int],
    device: torch.device,
    args: argparse.Namespace,
    done: set[tuple[str, str, int]],
) -> None:
    try:
        model = build_model(spec, device, args.seed)
    except torch.OutOfMemoryError:
        rep.add("errors", {"model": name, "error": "oom building the model"})
        return
    cfg: Any = model.config
    fp32_norms: dict[int, Any] = {}
    # A dedicated set of varied lengths for the Gini ranking (0.5B / 1.5B / smoke: cheap enough).
    aset = (
        None
        if name == "8B"
        else agreement_set(
            8 if args.smoke else 48, 64 if args.smoke else 1024, int(cfg.vocab_size), args.seed + 7
        )
    )
    try:
        for dtype in ("fp32", "bf16"):
            probe = make_probe(model, device, dtype)  # bf16: the same weights, cast
            if aset is not None:
                an = agreement_norms(probe, aset)
                if dtype == "fp32":
                    fp32_norms[-1] = an
                elif an is not None and fp32_norms.get(-1) is not None:
                    rep.add(
                        "agreement",
                        {
                            **agreement(name, -1, fp32_norms[-1], an),
                            "T": "varied 1/4..1 of max",
                            "max_T": 64 if args.smoke else 1024,
                        },
                    )
            for T in Ts:
                B = 2 if args.smoke else (1 if name == "8B" and T == 8192 else ROWS_B[T])
                row, norms = row_result(name, cfg, dtype, T, B, probe)
                done.add((name, dtype, T))
                if dtype == "fp32" and norms is not None:
                    fp32_norms[T] = norms
                elif norms is not None and T in fp32_norms:
                    rep.add("agreement", agreement(name, T, fp32_norms[T], norms))
                rep.add("rows", row)
    finally:
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    raise SystemExit(main())

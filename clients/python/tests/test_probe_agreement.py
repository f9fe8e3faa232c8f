"""transformers save_pretrained folders (fp32 and bf16) load in the tfjs probe, and `prism score` computes
the same loss as PyTorch on the same sequences (the shared mask and loss definition)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers import prism, trajectory
from transformers import AutoModelForCausalLM

from prism_stream.batching import pad_batch, sft_loss
from prism_stream.sequence import build_sequence, load_tokenizer


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_tfjs_probe_loss_equals_pytorch(tmp_path: Path, dtype: torch.dtype) -> None:
    base = tmp_path / "base"
    prism("model", "init", "--preset", "tiny", "--seed", "11", "--out", str(base))
    folder = tmp_path / "saved"
    AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32).to(dtype).save_pretrained(folder)
    records = [trajectory(i) for i in range(3)]
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    prism(
        "score",
        "--model",
        str(folder),
        "--in",
        str(src),
        "--out",
        str(out),
        "--max-seq-len",
        "64",
        "--backend",
        "cpu",
        timeout=240,
    )
    scored = {json.loads(line)["id"]: json.loads(line)["prism"] for line in out.read_text().splitlines()}

    model = AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.float32
    )  # bf16 weights read as fp32, like tfjs
    tok = load_tokenizer(folder)
    for r in records:
        seq = build_sequence(r["turns"], tokenizer=tok, vocab_size=264, max_seq_len=64)
        batch = pad_batch([seq])
        with torch.no_grad():
            loss = sft_loss(model(input_ids=batch.input_ids).logits, batch).item()
        assert scored[r["id"]]["response_tokens"] == seq.target_count
        assert scored[r["id"]]["loss"] == pytest.approx(loss, rel=1e-4)

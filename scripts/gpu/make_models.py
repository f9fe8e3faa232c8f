"""Write the GPU check's transformers-made probe models (random init from a seed) into a folder.

Run by scripts/gpu/run on the GPU host (nothing this size travels: a 0.5 B model is 2 GB in fp32):

    python3 scripts/gpu/make_models.py --out DIR [--seed 1] [--only m060-llama,m500-qwen2] [--device cuda]

Folder names sort smallest first; gpu-check.mjs benches them in that order.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

MODELS: dict[str, dict[str, Any]] = {
    # ~60 M parameters: a Llama with a 32k vocabulary (33 M of it in the untied embeddings and head).
    "m060-llama": {
        "model_type": "llama",
        "vocab_size": 32000,
        "hidden_size": 512,
        "intermediate_size": 1536,
        "num_hidden_layers": 8,
        "num_attention_heads": 8,
        "num_key_value_heads": 8,
    },
    # ~0.5 B parameters: exactly the Qwen2.5-0.5B shape (GQA 14/2, q/k/v bias, 151,936 vocabulary, tied
    # embeddings), the same shape as torch_check.py's "0.5B", so the two rows compare like for like.
    "m500-qwen2": {
        "model_type": "qwen2",
        "vocab_size": 151936,
        "hidden_size": 896,
        "intermediate_size": 4864,
        "num_hidden_layers": 24,
        "num_attention_heads": 14,
        "num_key_value_heads": 2,
        "tie_word_embeddings": True,
    },
    # A few-MB model for testing this script on a CPU.
    "test-llama": {
        "model_type": "llama",
        "vocab_size": 512,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
    },
}


def write_model(name: str, out: Path, seed: int, device: str) -> dict[str, Any]:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    spec = dict(MODELS[name])
    model_type = spec.pop("model_type")
    spec.setdefault("tie_word_embeddings", False)
    config = AutoConfig.for_model(
        model_type,
        **spec,
        max_position_embeddings=4096,
    )
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    params = sum(p.numel() for p in model.parameters())
    folder = out / name
    tmp = out / f"{name}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    model.to("cpu").save_pretrained(tmp, safe_serialization=True)
    # Readers wait for NAME to appear: rename only once every file is written.
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    return {
        "name": name,
        "parameters": params,
        "seconds": round(time.perf_counter() - t0, 2),
        "dir": str(folder),
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", default="m060-llama,m500-qwen2")
    ap.add_argument(
        "--device",
        default="auto",
        help="where to run the random init (auto: cuda if present)",
    )
    args = ap.parse_args(argv)
    import torch

    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    args.out.mkdir(parents=True, exist_ok=True)
    written = [
        write_model(n, args.out, args.seed, device) for n in args.only.split(",") if n
    ]
    print(json.dumps({"models": written, "init_device": device}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

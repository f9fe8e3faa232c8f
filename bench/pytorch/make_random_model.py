#!/usr/bin/env python3
"""Random-init Hugging Face model folders for the memory/speed grid of `prism bench torch --model DIR`.

Written by transformers itself (config.json + model.safetensors, fp32), so both sides read the same
folder. Shapes:
  m60   ~60 M Llama: hidden 512, 8 layers, 8 heads (4 kv), intermediate 1408, vocab 32000
  q05b  Qwen2-0.5B-shaped: hidden 896, 24 layers, 14 heads, 2 kv heads, intermediate 4864, vocab 151936
Usage: python3 make_random_model.py {m60|q05b} OUT_DIR [--seed N]
"""
import argparse

import torch
from transformers import (
    AutoModelForCausalLM,
    LlamaConfig,
    PretrainedConfig,
    Qwen2Config,
)


def config_for(shape: str) -> PretrainedConfig:
    if shape == "m60":
        return LlamaConfig(hidden_size=512, num_hidden_layers=8, num_attention_heads=8, num_key_value_heads=4,
                           intermediate_size=1408, vocab_size=32000, max_position_embeddings=4096,
                           tie_word_embeddings=False)
    if shape == "q05b":
        return Qwen2Config(hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                           intermediate_size=4864, vocab_size=151936, max_position_embeddings=32768,
                           tie_word_embeddings=True, rope_theta=1000000.0, rms_norm_eps=1e-6)
    raise SystemExit(f"unknown shape {shape}; use m60 or q05b")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("shape")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    model = AutoModelForCausalLM.from_config(config_for(args.shape), dtype=torch.float32)
    model.save_pretrained(args.out, safe_serialization=True)
    print(f"{args.out}: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters")


if __name__ == "__main__":
    main()

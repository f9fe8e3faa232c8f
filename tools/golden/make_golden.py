#!/usr/bin/env python3
"""Golden fixtures for prism-stream's tfjs Llama-family model (tests/unit/model-golden.test.ts).

For each tiny random config it writes tests/fixtures/golden/<name>/:
  model/            a Hugging Face model folder (config.json + safetensors, in the dtype/sharding named below)
  logits.safetensors  fp32 logits of transformers' *ForCausalLM for each sequence ("logits.0", "logits.1", ...)
  expected.json     token ids, target masks, per-sequence loss, per-projection gradient norms, versions
and tests/fixtures/golden/tokenizer-bpe/ with a small byte-level BPE tokenizer.json and the ids the Rust
`tokenizers` library gives for a few strings.

The reference runs from the saved folder (so bf16/fp16 rounding is included), in fp32, eager attention.

Run (in a private venv, not in the repo):
  python3 -m venv /work/.venv-golden
  /work/.venv-golden/bin/pip install torch transformers safetensors
  /work/.venv-golden/bin/python tools/golden/make_golden.py
"""
import json
import platform
import shutil
import sys
from pathlib import Path

import safetensors
import tokenizers
import torch
import transformers
from safetensors.torch import save_file
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoModelForCausalLM, LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config

ROOT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "golden"
PROJ = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
        "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]

COMMON = dict(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-6,
              max_position_embeddings=128, tie_word_embeddings=False)

CASES = [
    # name, config, dtype on disk, max shard size (None = single file), sequence lengths
    ("llama", LlamaConfig(**COMMON, rope_theta=10000.0), torch.float32, None, [16, 11]),
    # head_dim 16 with theta 1e4 and original context 1024 puts rotary frequencies in all three llama3 bands.
    ("llama3-rope-tied-bf16", LlamaConfig(**{**COMMON, "hidden_size": 64, "intermediate_size": 128,
                                             "tie_word_embeddings": True, "max_position_embeddings": 4096},
                                          rope_theta=10000.0,
                                          rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                        "high_freq_factor": 4.0,
                                                        "original_max_position_embeddings": 1024}),
     torch.bfloat16, None, [20, 9]),
    ("qwen2-sharded", Qwen2Config(**COMMON, rope_theta=1000000.0), torch.float32, "40KB", [16, 12]),
    # Explicit head_dim (16) ≠ hidden/heads (8): q_proj maps 32 → 64.
    ("qwen3-fp16", Qwen3Config(**COMMON, head_dim=16, rope_theta=1000000.0), torch.float16, None, [14, 10]),
    ("mistral-sliding", MistralConfig(**COMMON, head_dim=8, sliding_window=5, rope_theta=10000.0),
     torch.float32, None, [16, 7]),
]


def randomize(model, gen):
    """Non-trivial weights: projections N(0, 0.15²), biases and norm weights perturbed, so every path matters."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.15 * torch.randn(p.shape, generator=gen))


def projection_grad_norms(model, ids, mask):
    model.zero_grad()
    logits = model(input_ids=ids.unsqueeze(0)).logits[0]
    loss = masked_loss(logits, ids, mask)
    loss.backward()
    norms = []
    for layer in model.model.layers:
        for proj in PROJ:
            mod = layer.get_submodule(proj)
            norms.append(float(mod.weight.grad.norm()))
    return norms


def masked_loss(logits, ids, mask):
    """Mean over targets p (mask[p] == 1, p >= 1) of -log softmax(logits[p-1])[ids[p]] (HF's shifted CE)."""
    labels = torch.where(torch.tensor(mask, dtype=torch.bool), ids, torch.full_like(ids, -100))
    return torch.nn.functional.cross_entropy(logits[:-1].float(), labels[1:], ignore_index=-100)


def make_case(name, config, dtype, shard, lengths, seed):
    out = ROOT / name
    if out.exists():
        shutil.rmtree(out)
    (out / "model").mkdir(parents=True)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    config._attn_implementation = "eager"
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    randomize(model, gen)
    model.to(dtype).save_pretrained(out / "model", max_shard_size=shard or "1GB", safe_serialization=True)
    # Reference: reload what is on disk, compute in fp32.
    ref = AutoModelForCausalLM.from_pretrained(out / "model", dtype=torch.float32, attn_implementation="eager")
    ref.eval()
    seqs, masks, losses, logits_out = [], [], [], {}
    for i, n in enumerate(lengths):
        ids = torch.randint(0, config.vocab_size, (n,), generator=gen)
        # Targets: the second half of the sequence, as an assistant turn after a prompt would be.
        mask = [1 if p >= n // 2 else 0 for p in range(n)]
        with torch.no_grad():
            logits = ref(input_ids=ids.unsqueeze(0)).logits[0].float()
        logits_out[f"logits.{i}"] = logits.contiguous()
        losses.append(float(masked_loss(logits, ids, mask)))
        seqs.append(ids.tolist())
        masks.append(mask)
    grad_norms = projection_grad_norms(ref, torch.tensor(seqs[0]), masks[0])
    save_file(logits_out, str(out / "logits.safetensors"), metadata={"format": "pt"})
    files = sorted(p.name for p in (out / "model").iterdir())
    expected = {
        "name": name, "model_type": config.model_type, "dtype": str(dtype).replace("torch.", ""),
        "files": files, "input_ids": seqs, "target_mask": masks, "loss": losses,
        "grad_norms_seq0": grad_norms, "versions": versions(),
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"{name}: {files}")
    return out


BPE_CORPUS = [
    "Hello world! The quick brown fox jumps over the lazy dog.",
    "def add(a, b):\n    return a + b\n",
    "Search for 'red shoes' and click [Buy Now] 12345 times.",
    "Grüße aus Köln — naïve café, 東京, 🙂 emoji.",
] * 20

# Qwen2's pre-tokenizer split pattern (a regex the JS library must translate from Oniguruma).
QWEN_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
                r"|\s+(?!\S)|\s+")

BPE_SAMPLES = [
    "Hello world!",
    "def add(a, b):\n    return a + b",
    "Grüße aus Köln — 東京 🙂",
    "<|im_start|>assistant\nclick[Buy Now]<|im_end|>",
    "   leading spaces and trailing   ",
    "",
]


def make_tokenizer():
    out = ROOT / "tokenizer-bpe"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=296, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(BPE_CORPUS, trainer)
    tok.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 128, "eos_token": "<|im_end|>"}) + "\n")
    samples = [{"text": s, "ids": tok.encode(s, add_special_tokens=False).ids} for s in BPE_SAMPLES]
    (out / "expected.json").write_text(json.dumps({"vocab_size": tok.get_vocab_size(), "samples": samples,
                                                   "versions": versions()}, indent=1) + "\n")
    print(f"tokenizer-bpe: vocab {tok.get_vocab_size()}")
    return out


def versions():
    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "safetensors": safetensors.__version__, "tokenizers": tokenizers.__version__}


def main():
    torch.set_num_threads(1)
    tok_dir = make_tokenizer()
    for i, (name, config, dtype, shard, lengths) in enumerate(CASES):
        out = make_case(name, config, dtype, shard, lengths, seed=1000 + i)
        if name.startswith("qwen2"):
            # A model folder with a tokenizer.json exercises loadTokenizer's HF path (chatml format).
            for f in ("tokenizer.json", "tokenizer_config.json"):
                shutil.copy(tok_dir / f, out / "model" / f)
    total = sum(p.stat().st_size for p in ROOT.rglob("*") if p.is_file())
    print(f"total fixture size: {total / 1024:.0f} KiB")
    if total > 2 * 1024 * 1024:
        sys.exit("fixtures exceed 2 MB")


if __name__ == "__main__":
    main()

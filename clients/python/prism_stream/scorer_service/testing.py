"""Test helpers: a clear failure without torch/transformers, tiny models written by transformers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

try:
    import torch
    import transformers
except ImportError as err:  # CI installs them (.ci/run); say what to do instead of a bare ImportError
    raise RuntimeError(
        f"the torch scorer service tests need torch and transformers ({err}); "
        "install them with: python3 -m pip install './clients/python[hf,dev]'"
    ) from err

ARCHS: dict[str, dict[str, Any]] = {
    "llama": {"model_type": "llama"},
    "qwen2": {"model_type": "qwen2"},
    "qwen3": {"model_type": "qwen3", "head_dim": 16},
    "mistral": {"model_type": "mistral", "sliding_window": 4096},
}


def write_tiny(folder: Path, arch: str = "llama", seed: int = 0, vocab: int = 264) -> Path:
    """A random-init model written by transformers (save_pretrained: config.json + model.safetensors)."""
    spec = dict(ARCHS[arch])
    kind = spec.pop("model_type")
    cfg = transformers.AutoConfig.for_model(
        kind,
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=172,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        **spec,
    )
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    model.save_pretrained(folder)
    return folder


def random_batch(
    B: int, lengths: list[int], vocab: int, seed: int = 0, pad: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and target masks; targets are random positions ≥ 1 (at least one per row)."""
    g = torch.Generator().manual_seed(seed)
    T = max(lengths)
    ids = torch.full((B, T), pad, dtype=torch.long)
    tgt = torch.zeros((B, T), dtype=torch.bool)
    for b, n in enumerate(lengths):
        ids[b, :n] = torch.randint(0, vocab, (n,), generator=g)
        tgt[b, 1:n] = torch.rand(n - 1, generator=g) > 0.4
        tgt[b, n - 1] = True
    return ids, tgt

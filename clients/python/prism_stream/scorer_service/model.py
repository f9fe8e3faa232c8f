"""Loading a probe model folder (Hugging Face layout) and finding its 7 projections per layer."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn

Dtype = Literal["fp32", "tf32", "bf16"]
PROJECTIONS: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class ModelLoadError(Exception):
    """The folder cannot be loaded as a causal LM with q/k/v/o/gate/up/down projections."""

    code = "MODEL_LOAD_FAILED"


@dataclass(frozen=True)
class ProbeIdentity:
    model_id: str
    version: str


@dataclass
class LoadedProbe:
    model: nn.Module
    projections: list[nn.Linear]
    identity: ProbeIdentity
    vocab_size: int
    num_layers: int
    dtype: Dtype
    device: torch.device


def torch_dtype(dtype: Dtype) -> torch.dtype:
    return torch.bfloat16 if dtype == "bf16" else torch.float32


def default_dtype(device: torch.device) -> Dtype:
    return "bf16" if device.type == "cuda" else "fp32"


def set_matmul_precision(dtype: Dtype) -> None:
    """fp32 means true fp32 products (no TF32); tf32 allows TF32 tensor cores for fp32 products."""
    torch.backends.cuda.matmul.allow_tf32 = dtype == "tf32"
    torch.backends.cudnn.allow_tf32 = dtype == "tf32"
    torch.set_float32_matmul_precision("high" if dtype == "tf32" else "highest")


def weights_sha256(folder: Path) -> str:
    """As src/trainer/checkpoint/sha.ts: per *.safetensors file, name ‖ 0x00 ‖ u64-LE size ‖ bytes."""
    h = hashlib.sha256()
    for name in sorted(n for n in os.listdir(folder) if n.endswith(".safetensors")):
        size = (folder / name).stat().st_size
        h.update(name.encode() + b"\x00" + size.to_bytes(8, "little"))
        with open(folder / name, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def probe_identity(folder: Path) -> ProbeIdentity:
    """A prism checkpoint's manifest (modelId, version), else the folder name and sha-<12 hex>."""
    manifest = folder / "prism-manifest.json"
    if manifest.is_file():
        try:
            m = json.loads(manifest.read_text())
            if isinstance(m.get("modelId"), str) and isinstance(m.get("version"), str):
                return ProbeIdentity(m["modelId"], m["version"])
        except (OSError, ValueError):
            pass
    return ProbeIdentity(folder.resolve().name, f"sha-{weights_sha256(folder)[:12]}")


def find_projections(model: nn.Module) -> list[nn.Linear]:
    """Layer by layer: q, k, v, o (self_attn) then gate, up, down (mlp) — the PRISM vector's order."""
    base = getattr(model, "model", None)
    layers = getattr(base, "layers", None)
    if layers is None:
        raise ModelLoadError("the model has no .model.layers (expected a Llama/Qwen/Mistral-style decoder)")
    out: list[nn.Linear] = []
    for i, layer in enumerate(layers):
        for name in PROJECTIONS:
            parent = layer.self_attn if name in PROJECTIONS[:4] else layer.mlp
            mod = getattr(parent, name, None)
            if not isinstance(mod, nn.Linear):
                raise ModelLoadError(f"layer {i} has no nn.Linear {name}")
            out.append(mod)
    return out


def prepare(model: nn.Module, device: torch.device, dtype: Dtype) -> list[nn.Linear]:
    """Frozen weights (no weight gradient is ever formed), eval mode, on the device."""
    model.to(device=device, dtype=torch_dtype(dtype))
    model.eval()
    model.requires_grad_(False)
    return find_projections(model)


def load_probe(
    folder: str | Path, device: str | torch.device = "cpu", dtype: Dtype | None = None
) -> LoadedProbe:
    """Loads an HF folder (incl. `prism model init` ones) with SDPA attention."""
    from transformers import AutoModelForCausalLM

    path = Path(folder)
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"{path} has no config.json (expected a Hugging Face model folder)")
    dev = torch.device(device)
    dt: Dtype = dtype or default_dtype(dev)
    set_matmul_precision(dt)
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype(dt), attn_implementation="sdpa")
    except Exception as err:  # transformers raises many kinds
        raise ModelLoadError(f"cannot load {path}: {err}") from err
    projections = prepare(model, dev, dt)
    cfg = model.config
    return LoadedProbe(
        model=model,
        projections=projections,
        identity=probe_identity(path),
        vocab_size=int(cfg.vocab_size),
        num_layers=int(cfg.num_hidden_layers),
        dtype=dt,
        device=dev,
    )

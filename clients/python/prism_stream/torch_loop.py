"""The exactly-once handoff for a plain PyTorch loop (``torch`` extra): atomic checkpoints in prism's
own layout, ``<root>/step-NNNNNNNNN/`` (HF weights + ``trainer_state/optimizer.pt`` + manifest), and
restore from the newest valid one.

    handoff = TrainingHandoff(reader, model_id="my-rl", checkpoint_root=root, trainer="rl")
    step, state = restore_checkpoint(handoff, model, optimizer)   # also seeks the reader
    for record in reader: ... optimizer.step(); step += 1; handoff.applied(records, step)
        if step % 50 == 0: save_checkpoint(handoff, model, optimizer, step)   # durable → commit → publish
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from .checkpoint import Manifest, fsync_tree
from .errors import CheckpointError
from .handoff import TrainingHandoff

OPTIMIZER_FILE = "trainer_state/optimizer.pt"


def step_folder_name(step: int) -> str:
    return f"step-{step:09d}"


def _save_weights(model: torch.nn.Module, folder: Path) -> None:
    save_pretrained = getattr(model, "save_pretrained", None)
    if callable(save_pretrained):
        save_pretrained(folder)
    else:
        save_file(
            {k: v.detach().contiguous() for k, v in model.state_dict().items()},
            str(folder / "model.safetensors"),
        )


def save_checkpoint(
    handoff: TrainingHandoff,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    step: int,
    *,
    state: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    keep: int = 3,
) -> Manifest:
    """Temp folder → weights, optimizer, manifest (fsynced) → rename; then commit and publish."""
    root = handoff.checkpoint_root
    root.mkdir(parents=True, exist_ok=True)
    final = root / step_folder_name(step)
    if final.exists():
        raise CheckpointError(
            "CHECKPOINT_INVALID", f"checkpoint {final} already exists; refusing to overwrite"
        )
    tmp = root / f".tmp-{step_folder_name(step)}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "trainer_state").mkdir(parents=True)
    try:
        _save_weights(model, tmp)
        torch.save(optimizer.state_dict(), tmp / OPTIMIZER_FILE)
        manifest = handoff.seal(tmp, step, optimizer_file=OPTIMIZER_FILE, state=state, metrics=metrics)
        os.replace(tmp, final)
        fsync_tree(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    handoff.after_durable(final, manifest)
    for old in sorted(root.glob("step-*"))[: -max(1, keep)]:
        shutil.rmtree(old, ignore_errors=True)
    return manifest


def restore_checkpoint(
    handoff: TrainingHandoff, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None
) -> tuple[int, dict[str, Any]]:
    """Loads the newest valid checkpoint into ``model``/``optimizer`` and restores the reader's ledger.
    Returns (step, the manifest's small JSON ``state``); (0, {}) when there is none."""
    for leftover in handoff.checkpoint_root.glob(".tmp-step-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    found = handoff.resume()
    if found is None:
        return 0, {}
    path, manifest = found
    weights: dict[str, torch.Tensor] = {}
    for name in manifest.weight_files:
        weights.update(load_file(str(path / name)))
    result = model.load_state_dict(weights, strict=False)
    tied = {k for k in result.missing_keys if k.endswith("lm_head.weight")}
    if result.unexpected_keys or set(result.missing_keys) - tied:
        raise CheckpointError(
            "CHECKPOINT_INVALID",
            f"{path} does not fit the model: missing {result.missing_keys}, "
            f"unexpected {result.unexpected_keys}",
        )
    if optimizer is not None and manifest.optimizer is not None:
        optimizer.load_state_dict(torch.load(path / manifest.optimizer.file, weights_only=True))
    return manifest.step, dict(manifest.state)

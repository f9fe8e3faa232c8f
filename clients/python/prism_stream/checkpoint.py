"""Checkpoint manifests (``prism-manifest.json``, format ``prism-checkpoint/1``) and the weights sha256.

The format is the one ``src/trainer/checkpoint/`` writes; it is documented once, for both
languages, in clients/python/README.md ("Checkpoint manifest"). A checkpoint is an HF model folder
(``config.json`` + ``*.safetensors``) plus the manifest; trainer state may sit next to it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import CheckpointError
from .ledger import PartitionOffsets

MANIFEST_FILE = "prism-manifest.json"
MANIFEST_FORMAT = "prism-checkpoint/1"
_SHA = re.compile(r"^[0-9a-f]{64}$")


def weight_files(folder: str | Path) -> list[str]:
    """Top-level ``*.safetensors`` files, byte-wise ascending (what the sha256 covers)."""
    names = [p.name for p in Path(folder).iterdir() if p.is_file() and p.name.endswith(".safetensors")]
    return sorted(names, key=lambda n: n.encode("utf-8"))


def weights_sha256(folder: str | Path, files: Iterable[str] | None = None) -> str:
    """For each weight file in byte-wise name order: utf8(name) ‖ 0x00 ‖ uint64-LE(size) ‖ contents."""
    d = Path(folder)
    names = sorted(files, key=lambda n: n.encode("utf-8")) if files is not None else weight_files(d)
    h = hashlib.sha256()
    for name in names:
        path = d / name
        h.update(name.encode("utf-8"))
        h.update(b"\x00")
        h.update(path.stat().st_size.to_bytes(8, "little"))
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def version_of(step: int, sha256: str) -> str:
    """``<step>-<first 8 hex of the sha256>``, e.g. ``120-3fa2b1c0``."""
    return f"{step}-{sha256[:8]}"


@dataclass(frozen=True)
class OptimizerRef:
    file: str
    sha256: str
    step: int


@dataclass(frozen=True)
class Manifest:
    model_id: str
    version: str
    step: int
    trainer: Literal["sft", "rl"]
    created_at: int
    sha256: str
    weight_files: tuple[str, ...]
    offsets: tuple[PartitionOffsets, ...]
    consumer_group: str
    parent: str | None = None
    optimizer: OptimizerRef | None = None
    state: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "modelId": self.model_id,
            "version": self.version,
            "step": self.step,
            "trainer": self.trainer,
            "createdAt": self.created_at,
            "sha256": self.sha256,
            "weightFiles": list(self.weight_files),
            "offsets": [o.to_json() for o in self.offsets],
            "consumerGroup": self.consumer_group,
            "parent": self.parent,
        }
        if self.optimizer is not None:
            out["optimizer"] = {
                "file": self.optimizer.file,
                "sha256": self.optimizer.sha256,
                "step": self.optimizer.step,
            }
        out["state"] = dict(self.state)
        out["metrics"] = {k: float(v) for k, v in self.metrics.items()}
        return out

    @staticmethod
    def from_json(obj: Mapping[str, Any], where: str = "manifest") -> Manifest:
        try:
            if obj["format"] != MANIFEST_FORMAT:
                raise ValueError(f"format {obj['format']!r} is not {MANIFEST_FORMAT}")
            if not _SHA.match(str(obj["sha256"])):
                raise ValueError("sha256 is not 64 lowercase hex digits")
            if obj["trainer"] not in ("sft", "rl"):
                raise ValueError(f"trainer {obj['trainer']!r} is not sft or rl")
            opt = obj.get("optimizer")
            return Manifest(
                model_id=str(obj["modelId"]),
                version=str(obj["version"]),
                step=int(obj["step"]),
                trainer=obj["trainer"],
                created_at=int(obj["createdAt"]),
                sha256=str(obj["sha256"]),
                weight_files=tuple(str(n) for n in obj["weightFiles"]),
                offsets=tuple(PartitionOffsets.from_json(o) for o in obj["offsets"]),
                consumer_group=str(obj["consumerGroup"]),
                parent=None if obj.get("parent") is None else str(obj["parent"]),
                optimizer=None
                if opt is None
                else OptimizerRef(str(opt["file"]), str(opt["sha256"]), int(opt["step"])),
                state=dict(obj.get("state", {})),
                metrics={str(k): float(v) for k, v in obj.get("metrics", {}).items()},
            )
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError("CHECKPOINT_INVALID", f"{where} is malformed: {err}") from err


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: str | Path) -> None:
    """fsync every file under ``folder``, then the folders themselves (a rename then survives power loss)."""
    root = Path(folder)
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            _fsync(Path(dirpath) / name)
        _fsync(Path(dirpath))
    _fsync(root.parent)


def write_manifest(
    folder: str | Path,
    *,
    model_id: str,
    step: int,
    trainer: Literal["sft", "rl"],
    offsets: Iterable[PartitionOffsets],
    consumer_group: str,
    parent: str | None = None,
    optimizer_file: str | None = None,
    optimizer_step: int | None = None,
    state: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
) -> Manifest:
    """Hashes the weights, writes ``prism-manifest.json`` atomically and fsyncs the whole folder.

    When this returns the checkpoint is durable: only then may group offsets be committed.
    ``optimizer_file`` is relative to the folder (e.g. ``optimizer.pt``).
    """
    d = Path(folder)
    files = weight_files(d)
    if not files:
        raise CheckpointError(
            "CHECKPOINT_INVALID", f"{d} has no *.safetensors weight file (use safe_serialization)"
        )
    sha = weights_sha256(d, files)
    opt = None
    if optimizer_file is not None:
        opt = OptimizerRef(
            optimizer_file,
            file_sha256(d / optimizer_file),
            step if optimizer_step is None else optimizer_step,
        )
    manifest = Manifest(
        model_id=model_id,
        version=version_of(step, sha),
        step=step,
        trainer=trainer,
        created_at=int(time.time() * 1000),
        sha256=sha,
        weight_files=tuple(files),
        offsets=tuple(offsets),
        consumer_group=consumer_group,
        parent=parent,
        optimizer=opt,
        state=dict(state or {}),
        metrics=dict(metrics or {}),
    )
    tmp = d / f".{MANIFEST_FILE}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(manifest.to_json(), indent=2) + "\n", encoding="utf-8")
    _fsync(tmp)
    os.replace(tmp, d / MANIFEST_FILE)
    fsync_tree(d)
    return manifest


def read_manifest(folder: str | Path) -> Manifest:
    path = Path(folder) / MANIFEST_FILE
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise CheckpointError(
            "CHECKPOINT_INVALID", f"checkpoint {folder} has no readable {MANIFEST_FILE}"
        ) from err
    except ValueError as err:
        raise CheckpointError(
            "CHECKPOINT_INVALID", f"checkpoint {folder}: {MANIFEST_FILE} is not JSON"
        ) from err
    return Manifest.from_json(obj, str(path))


def verify_checkpoint(folder: str | Path, manifest: Manifest | None = None) -> Manifest:
    """Reads the manifest and recomputes the weights (and optimizer) sha256; raises on any mismatch."""
    m = manifest or read_manifest(folder)
    actual = weights_sha256(folder)
    if actual != m.sha256:
        raise CheckpointError(
            "CHECKPOINT_SHA_MISMATCH",
            f"checkpoint {folder}: sha256 over weight files is {actual}, expected {m.sha256}",
        )
    if m.optimizer is not None and file_sha256(Path(folder) / m.optimizer.file) != m.optimizer.sha256:
        raise CheckpointError(
            "CHECKPOINT_SHA_MISMATCH", f"checkpoint {folder}: optimizer state sha256 mismatch"
        )
    return m


def latest_valid_checkpoint(root: str | Path, model_id: str | None = None) -> tuple[Path, Manifest] | None:
    """The newest (highest step) sub-folder of ``root`` with a valid, verified manifest (of ``model_id``).

    Works for HF Trainer ``checkpoint-N`` folders and prism's ``step-NNNNNNNNN`` folders alike; broken
    or unfinished ones (no manifest yet: the process died before the save completed) are skipped.
    """
    r = Path(root)
    if not r.is_dir():
        return None
    found: list[tuple[int, Path, Manifest]] = []
    for sub in r.iterdir():
        if not sub.is_dir() or not (sub / MANIFEST_FILE).exists():
            continue
        try:
            m = read_manifest(sub)
            if model_id is not None and m.model_id != model_id:
                continue
            found.append((m.step, sub, m))
        except CheckpointError:
            continue
    for _step, sub, m in sorted(found, key=lambda x: x[0], reverse=True):
        try:
            return sub, verify_checkpoint(sub, m)
        except (CheckpointError, OSError):
            continue
    return None

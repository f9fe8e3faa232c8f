"""The offset ledger (port of src/trainer/offsets.ts) and the checkpoint manifest, without Kafka."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from prism_stream import OffsetLedger, PartitionOffsets
from prism_stream.checkpoint import (
    MANIFEST_FILE,
    latest_valid_checkpoint,
    read_manifest,
    weights_sha256,
    write_manifest,
)
from prism_stream.errors import CheckpointError


def test_watermark_waits_for_the_oldest_pending_record() -> None:
    ledger = OffsetLedger()
    for o in (10, 11, 12, 13):
        assert ledger.deliver("t", 0, o)
    ledger.complete("t", 0, 12)
    ledger.complete("t", 0, 13)
    assert ledger.snapshot() == [PartitionOffsets("t", 0, 10, (12, 13))]
    ledger.complete("t", 0, 10)
    assert ledger.snapshot() == [PartitionOffsets("t", 0, 11, (12, 13))]
    ledger.complete("t", 0, 11)
    assert ledger.snapshot() == [PartitionOffsets("t", 0, 14, ())]


def test_restored_ledger_skips_done_offsets_and_redelivers_the_rest() -> None:
    ledger = OffsetLedger([PartitionOffsets("t", 1, 5, (7,))])
    assert ledger.deliver("t", 1, 4) is False  # below the watermark: done
    assert ledger.deliver("t", 1, 5) is True
    assert ledger.deliver("t", 1, 6) is True
    assert ledger.deliver("t", 1, 7) is False  # done above the watermark
    assert ledger.deliver("t", 1, 8) is True
    for o in (5, 6, 8):
        ledger.complete("t", 1, o)
    assert ledger.snapshot() == [PartitionOffsets("t", 1, 9, ())]


def test_forget_pending_rewinds_to_the_watermark() -> None:
    ledger = OffsetLedger()
    ledger.deliver("t", 0, 0)
    ledger.deliver("t", 0, 1)
    ledger.complete("t", 0, 0)
    ledger.forget_pending()
    assert ledger.snapshot() == [PartitionOffsets("t", 0, 1, ())]
    assert ledger.deliver("t", 0, 1) is True


def _weights(folder: Path, seed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    save_file({"w": torch.randn(4, 4)}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text("{}")
    (folder / "optimizer.pt").write_bytes(b"state")


def test_manifest_matches_the_typescript_format(tmp_path: Path) -> None:
    _weights(tmp_path / "checkpoint-3", 1)
    m = write_manifest(
        tmp_path / "checkpoint-3",
        model_id="m",
        step=3,
        trainer="sft",
        offsets=[PartitionOffsets("prism.sft", 0, 12, (14,))],
        consumer_group="g",
        optimizer_file="optimizer.pt",
        metrics={"loss": 1.5},
    )
    raw = json.loads((tmp_path / "checkpoint-3" / MANIFEST_FILE).read_text())
    # The keys (and nothing else) of src/trainer/checkpoint/manifest.ts, offsets as decimal strings.
    assert set(raw) == {
        "format",
        "modelId",
        "version",
        "step",
        "trainer",
        "createdAt",
        "sha256",
        "weightFiles",
        "offsets",
        "consumerGroup",
        "parent",
        "optimizer",
        "state",
        "metrics",
    }
    assert raw["format"] == "prism-checkpoint/1"
    assert raw["offsets"] == [{"topic": "prism.sft", "partition": 0, "offset": "12", "doneAbove": ["14"]}]
    assert raw["version"] == f"3-{m.sha256[:8]}"
    assert raw["sha256"] == weights_sha256(tmp_path / "checkpoint-3")
    assert read_manifest(tmp_path / "checkpoint-3") == m


def test_latest_valid_checkpoint_skips_corrupted_and_unfinished(tmp_path: Path) -> None:
    for step in (2, 4):
        _weights(tmp_path / f"checkpoint-{step}", step)
        write_manifest(
            tmp_path / f"checkpoint-{step}",
            model_id="m",
            step=step,
            trainer="sft",
            offsets=[],
            consumer_group="g",
            optimizer_file="optimizer.pt",
        )
    _weights(tmp_path / "checkpoint-6", 6)  # died before the manifest: not a checkpoint
    found = latest_valid_checkpoint(tmp_path, "m")
    assert found is not None and found[1].step == 4
    with (tmp_path / "checkpoint-4" / "model.safetensors").open("r+b") as f:
        f.seek(-1, 2)
        f.write(b"\x7f")
    found = latest_valid_checkpoint(tmp_path, "m")
    assert found is not None and found[1].step == 2
    assert latest_valid_checkpoint(tmp_path, "other") is None


def test_a_folder_without_weights_is_refused(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    with pytest.raises(CheckpointError) as err:
        write_manifest(tmp_path / "c", model_id="m", step=1, trainer="sft", offsets=[], consumer_group="g")
    assert err.value.code == "CHECKPOINT_INVALID"

"""PrismTrainerCallback bookkeeping without a broker (the reader connects lazily, on first read)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from transformers import TrainerControl, TrainerState

from prism_stream import PartitionOffsets, TopicReader, TrainingHandoff
from prism_stream.checkpoint import write_manifest
from prism_stream.errors import CheckpointError
from prism_stream.hf import PrismStreamDataset, PrismTrainerCallback, prism_training_args
from prism_stream.sequence import ByteTokenizer


def _setup(tmp_path: Path) -> tuple[TrainingHandoff, PrismTrainerCallback]:
    reader = TopicReader("t", brokers="127.0.0.1:1", group_id="g")
    handoff = TrainingHandoff(reader, model_id="m", checkpoint_root=tmp_path, publish=False)
    stream = PrismStreamDataset(handoff, tokenizer=ByteTokenizer(), vocab_size=264, max_seq_len=32)
    return handoff, PrismTrainerCallback(handoff, stream)


def _checkpoint(tmp_path: Path, step: int) -> Path:
    folder = tmp_path / f"checkpoint-{step}"
    folder.mkdir()
    save_file({"w": torch.ones(2)}, str(folder / "model.safetensors"))
    write_manifest(
        folder,
        model_id="m",
        step=step,
        trainer="sft",
        consumer_group="g",
        offsets=[PartitionOffsets("t", 0, 40, (42,))],
    )
    return folder


def test_train_begin_restores_the_ledger_of_the_checkpoint_the_trainer_resumed(tmp_path: Path) -> None:
    _checkpoint(tmp_path, 3)
    handoff, callback = _setup(tmp_path)
    args = prism_training_args(tmp_path, use_cpu=True)
    callback.on_train_begin(args, TrainerState(global_step=3), TrainerControl())
    assert handoff.reader.ledger.snapshot() == [PartitionOffsets("t", 0, 40, (42,))]


def test_train_begin_refuses_a_trainer_step_that_is_not_the_ledger_step(tmp_path: Path) -> None:
    _checkpoint(tmp_path, 3)
    handoff, callback = _setup(tmp_path)
    handoff.resume()  # newest valid: step 3
    with pytest.raises(CheckpointError):
        callback.on_train_begin(
            prism_training_args(tmp_path, use_cpu=True), TrainerState(global_step=5), TrainerControl()
        )
    with pytest.raises(ValueError, match="ignore_data_skip"):
        callback.on_train_begin(
            prism_training_args(tmp_path, use_cpu=True, ignore_data_skip=False),
            TrainerState(global_step=3),
            TrainerControl(),
        )

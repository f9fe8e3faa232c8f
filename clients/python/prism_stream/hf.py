"""Hugging Face ``Trainer`` integration (``hf`` extra): a streaming dataset over a routed topic, a
collator with the scorer's target mask, and :class:`PrismTrainerCallback`, which restores the ledger
on train begin, marks records done after each optimizer step, writes the ledger into every checkpoint
the Trainer saves (``checkpoint-N/prism-manifest.json``), and commits offsets and publishes a
ModelUpdate only after that.

Usage (see examples/sft_hf_trainer.py)::

    handoff = TrainingHandoff(reader, model_id="my-sft", checkpoint_root=out_dir, id_log=...)
    resume = handoff.resume()                      # newest valid checkpoint-N, or None
    stream = PrismStreamDataset(handoff, tokenizer=tok, vocab_size=V, max_seq_len=512)
    trainer = PrismTrainer(model=model, args=prism_training_args(out_dir, ...), train_dataset=stream,
                      data_collator=stream.collate, callbacks=[PrismTrainerCallback(handoff, stream)])
    trainer.train(resume_from_checkpoint=str(resume[0]) if resume else None)
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from confluent_kafka import Producer
from transformers import Trainer, TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from .batching import pad_batch
from .checkpoint import verify_checkpoint
from .errors import CheckpointError, DecodeError, SequenceError
from .handoff import TrainingHandoff
from .reader import Record
from .sequence import BuiltSequence, TurnTokenizer, build_sequence

log = logging.getLogger("prism_stream")


class PrismStreamDataset(torch.utils.data.IterableDataset[dict[str, Any]]):
    """Decoded records → sequences. Undecodable records and records without a trainable sequence are
    dead-lettered (``dlq_topic``) and count as done; nothing is dropped silently."""

    def __init__(
        self,
        handoff: TrainingHandoff,
        *,
        tokenizer: TurnTokenizer | None,
        vocab_size: int,
        max_seq_len: int,
        dlq_topic: str = "prism.dlq",
        pad_id: int = 0,
    ) -> None:
        super().__init__()
        self.handoff = handoff
        self.tokenizer = tokenizer
        self.vocab_size = vocab_size
        self.max_seq_len = max_seq_len
        self.dlq_topic = dlq_topic
        self.pad_id = pad_id
        #: records of each collated batch, oldest first; popped when its optimizer step is applied
        self.in_flight: deque[list[Record]] = deque()
        self.dead_letters = 0
        self._producer: Producer | None = None

    def _dlq(self) -> Producer:
        if self._producer is None:
            self._producer = Producer({**self.handoff.reader.client_config(), "acks": "all"})
        return self._producer

    def __iter__(self) -> Iterator[dict[str, Any]]:
        reader = self.handoff.reader
        while True:
            try:
                rec = next(reader)
            except StopIteration:
                return
            except DecodeError as err:
                log.error("dead-lettering undecodable record: %s", err)
                reader.dead_letter(err, self._dlq(), self.dlq_topic)
                self.dead_letters += 1
                continue
            try:
                seq = build_sequence(
                    rec.trajectory["turns"],
                    tokenizer=self.tokenizer,
                    vocab_size=self.vocab_size,
                    max_seq_len=self.max_seq_len,
                )
            except SequenceError as err:
                log.error(
                    "dead-lettering %s %s[%d]@%d: %s", rec.id, rec.topic, rec.partition, rec.offset, err
                )
                reader.send_dead_letter(
                    self._dlq(),
                    self.dlq_topic,
                    rec.topic,
                    rec.partition,
                    rec.offset,
                    rec.raw,
                    err.code,
                    err.message,
                )
                self.dead_letters += 1
                continue
            yield {"seq": seq, "record": rec}

    def collate(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        seqs: list[BuiltSequence] = [f["seq"] for f in features]
        self.in_flight.append([f["record"] for f in features])
        b = pad_batch(seqs, self.pad_id)
        return {"input_ids": b.input_ids, "attention_mask": b.attention_mask, "labels": b.labels}


def prism_training_args(output_dir: str | Path, **overrides: Any) -> TrainingArguments:
    """TrainingArguments the handoff needs: a streaming dataset (max_steps), no data skipping on resume
    (the ledger seeks), no column removal, no gradient accumulation across the callback's bookkeeping."""
    args: dict[str, Any] = {
        "output_dir": str(output_dir),
        "max_steps": 10**9,
        "ignore_data_skip": True,
        "remove_unused_columns": False,
        "dataloader_num_workers": 0,
        "gradient_accumulation_steps": 1,
        "save_strategy": "steps",
        "report_to": "none",
        # accelerate's batch dispatcher raises on an empty iterable dataset; plain sharding stops.
        "accelerator_config": {"dispatch_batches": False},
    }
    args.update(overrides)
    return TrainingArguments(**args)


class PrismTrainer(Trainer):
    """``Trainer`` that ends training when the stream ends (idle timeout or ``reader.stop()``).

    transformers' loop keeps polling an exhausted iterable dataset until ``max_steps``; this stops it,
    so the epoch ends and :class:`PrismTrainerCallback` writes the final checkpoint. A stream that never
    ends needs no subclass: a plain ``Trainer`` with the callback keeps the exactly-once protocol.
    """

    def get_batch_samples(self, epoch_iterator: Any, num_batches: int, device: Any) -> Any:
        batches, num_items = super().get_batch_samples(epoch_iterator, num_batches, device)
        if len(batches) < num_batches:
            self.control.should_training_stop = True
        return batches, num_items


class PrismTrainerCallback(TrainerCallback):
    """Restore on train begin, mark done on step end, write the ledger on save, commit after save.

    On train begin the ledger comes from the checkpoint the Trainer resumed from (``checkpoint-N`` with
    N = the restored global step; its manifest and sha256 are verified), unless ``handoff.resume()`` was
    called before (the recommended way: it picks the newest *valid* checkpoint to pass to ``train``).
    """

    def __init__(self, handoff: TrainingHandoff, stream: PrismStreamDataset) -> None:
        self.handoff = handoff
        self.stream = stream
        self.last_saved_step = -1
        self.last_loss: float | None = None

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if not args.ignore_data_skip:
            raise ValueError(
                "set TrainingArguments(ignore_data_skip=True): the prism ledger seeks; "
                "skipping batches would lose records"
            )
        if args.gradient_accumulation_steps != 1 or args.dataloader_num_workers != 0:
            raise ValueError(
                "PrismTrainerCallback needs gradient_accumulation_steps=1 and dataloader_num_workers=0"
            )
        if not self.handoff.resumed:
            # Restore the ledger from the checkpoint the Trainer itself resumed from (verified).
            folder = Path(str(args.output_dir)) / f"checkpoint-{state.global_step}"
            self.handoff.resume((folder, verify_checkpoint(folder)) if state.global_step > 0 else None)
        resumed = self.handoff.resumed_from
        expected = resumed[1].step if resumed is not None else 0
        if state.global_step != expected:
            raise CheckpointError(
                "CHECKPOINT_INVALID",
                f"Trainer resumed at step {state.global_step} but the ledger at step {expected}: pass "
                "resume_from_checkpoint=handoff.resume()[0] (the newest valid prism checkpoint)",
            )
        self.last_saved_step = state.global_step

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        # The dataloader may have collated one batch ahead: the oldest one is this step's.
        if self.stream.in_flight:
            self.handoff.applied(self.stream.in_flight.popleft(), state.global_step)

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        if logs and "loss" in logs:
            self.last_loss = float(logs["loss"])

    def on_epoch_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        # The stream ended (idle timeout or stop()): checkpoint what was trained since the last save.
        if state.global_step > self.last_saved_step:
            control.should_save = True

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        folder = Path(str(args.output_dir)) / f"checkpoint-{state.global_step}"
        optimizer = "optimizer.pt" if (folder / "optimizer.pt").exists() else None
        metrics = {"loss": self.last_loss} if self.last_loss is not None else {}
        manifest = self.handoff.checkpoint_saved(
            folder, state.global_step, optimizer_file=optimizer, metrics=metrics
        )
        self.last_saved_step = state.global_step
        log.info("checkpoint %s durable, offsets committed, ModelUpdate sent", manifest.version)

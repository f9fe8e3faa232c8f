"""Continuous RL in plain PyTorch on prism.rl, exactly once, with the loss of `prism train rl`:
group-relative (GRPO) advantages over records sharing a task_id (running baseline for lone records),
token-level policy gradient on assistant tokens (PPO-clipped ratio where turns carry behaviour
logprobs), token-mean aggregation, AdamW with global-norm clipping.

    python clients/python/examples/rl_torch.py --brokers 127.0.0.1:19092 \
        --init-model ./models/probe --output-dir .prism/py-rl --model-id py-rl

Checkpoints go to <output-dir>/step-NNNNNNNNN/ every --save-steps steps (atomically; the manifest holds
the offset ledger and the running baseline); then the group offsets are committed and a ModelUpdate
is published. Records held in a group window are not done yet, so a checkpoint stores them as the
watermark plus `doneAbove`: kill it at any time and restart, nothing is lost or trained twice.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

import torch
from confluent_kafka import Producer
from transformers import AutoModelForCausalLM

from prism_stream import (
    DecodeError,
    SequenceError,
    TopicReader,
    TrainingHandoff,
    build_sequence,
    load_tokenizer,
)
from prism_stream.batching import pad_batch, token_logprobs
from prism_stream.reader import Record
from prism_stream.rl import AdvantageOptions, GroupWindow, Released, behaviour_logprobs, rl_loss
from prism_stream.sequence import BuiltSequence, TurnTokenizer
from prism_stream.torch_loop import restore_checkpoint, save_checkpoint

log = logging.getLogger("prism_stream.rl")
Item = tuple[Record, BuiltSequence]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--brokers", default=os.environ.get("PRISM_KAFKA_BROKERS", "127.0.0.1:19092"))
    p.add_argument("--topic", default="prism.rl")
    p.add_argument("--group", default="prism-py-rl")
    p.add_argument("--model-id", default="py-rl")
    p.add_argument("--init-model", type=Path, required=True, help="HF model folder to start from")
    p.add_argument("--output-dir", type=Path, default=Path(".prism/py-rl"))
    p.add_argument("--id-log", type=Path)
    p.add_argument("--save-steps", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-seq-len", type=int, default=512)
    p.add_argument("--lr", type=float, default=1e-6)
    p.add_argument("--group-size", type=int, default=8)
    p.add_argument("--window-s", type=float, default=30.0)
    p.add_argument("--clip", type=float, default=0.2)
    p.add_argument(
        "--idle-exit-s", type=float, help="stop (flush, checkpoint, commit, exit) after this long idle"
    )
    p.add_argument("--session-timeout-ms", type=int, default=45000)
    p.add_argument("--model-updates-topic", default="prism.model-updates")
    p.add_argument("--dlq-topic", default="prism.dlq")
    return p.parse_args(argv)


class RlTrainer:
    def __init__(self, a: argparse.Namespace) -> None:
        self.a = a
        self.reader = TopicReader(
            a.topic,
            brokers=a.brokers,
            group_id=a.group,
            idle_timeout_s=a.idle_exit_s,
            config={"session.timeout.ms": a.session_timeout_ms},
        )
        self.handoff = TrainingHandoff(
            self.reader,
            model_id=a.model_id,
            checkpoint_root=a.output_dir,
            trainer="rl",
            id_log=a.id_log,
            model_updates_topic=a.model_updates_topic,
        )
        self.model = AutoModelForCausalLM.from_pretrained(a.init_model, dtype=torch.float32)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=a.lr, weight_decay=0.01)
        self.step, state = restore_checkpoint(self.handoff, self.model, self.optimizer)
        opts = AdvantageOptions(group_size=a.group_size, window_s=a.window_s)
        self.window: GroupWindow[Item] = GroupWindow(opts, state.get("baseline"))
        self.tokenizer: TurnTokenizer | None = load_tokenizer(a.init_model)
        self.vocab = int(self.model.config.vocab_size)
        self.dlq = Producer({**self.reader.client_config(), "acks": "all"})
        self.last_saved = self.step

    def dead_letter(self, rec: Record, code: str, message: str) -> None:
        log.error("dead-lettering %s %s[%d]@%d: %s", rec.id, rec.topic, rec.partition, rec.offset, message)
        self.reader.send_dead_letter(
            self.dlq, self.a.dlq_topic, rec.topic, rec.partition, rec.offset, rec.raw, code, message
        )

    def train_step(self, batch: list[Released[Item]]) -> float:
        seqs = [r.item[1] for r in batch]
        b = pad_batch(seqs)
        logits = self.model(input_ids=b.input_ids, attention_mask=b.attention_mask).logits
        logp = token_logprobs(logits, b.input_ids)
        mask = (b.labels != -100).float()
        old = torch.zeros_like(logp)
        old_mask = torch.zeros_like(logp)
        for i, r in enumerate(batch):
            got = behaviour_logprobs(r.item[0].trajectory["turns"], len(seqs[i].ids))
            if got is not None:
                old[i, : len(seqs[i].ids)], old_mask[i, : len(seqs[i].ids)] = got
        adv = torch.tensor([r.advantage for r in batch], dtype=torch.float32)
        total, weight = rl_loss(
            logp,
            mask,
            adv,
            old_logp=old,
            old_mask=old_mask * mask,
            clip_low=self.a.clip,
            clip_high=self.a.clip,
        )
        loss = total / max(weight, 1.0)
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.step += 1
        self.handoff.applied([r.item[0] for r in batch], self.step)
        if self.step % self.a.save_steps == 0:
            self.checkpoint(float(loss.item()))
        return float(loss.item())

    def checkpoint(self, loss: float | None = None) -> None:
        if self.step == self.last_saved:
            return
        save_checkpoint(
            self.handoff,
            self.model,
            self.optimizer,
            self.step,
            state={"baseline": self.window.baseline.state()},
            metrics={"loss": loss} if loss is not None else {},
        )
        self.last_saved = self.step

    def admit(self, rec: Record) -> list[Released[Item]]:
        reward = rec.trajectory.get("reward")
        if reward is None:
            self.dead_letter(rec, "MISSING_REWARD", "RL needs a reward")
            return []
        try:
            seq = build_sequence(
                rec.trajectory["turns"],
                tokenizer=self.tokenizer,
                vocab_size=self.vocab,
                max_seq_len=self.a.max_seq_len,
            )
        except SequenceError as err:
            self.dead_letter(rec, err.code, err.message)
            return []
        now = time.monotonic()
        return self.window.push(
            str(rec.trajectory["task_id"]), float(reward), (rec, seq), now
        ) + self.window.expire(now)

    def run(self) -> None:
        ready: list[Released[Item]] = []
        while True:
            try:
                rec = next(self.reader)
            except StopIteration:
                break
            except DecodeError as err:
                self.reader.dead_letter(err, self.dlq, self.a.dlq_topic)
                continue
            ready += self.admit(rec)
            while len(ready) >= self.a.batch_size:
                self.train_step(ready[: self.a.batch_size])
                ready = ready[self.a.batch_size :]
        ready += self.window.flush()
        for i in range(0, len(ready), self.a.batch_size):
            self.train_step(ready[i : i + self.a.batch_size])
        self.checkpoint()
        self.handoff.close()


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr
    )
    trainer = RlTrainer(a)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: finishing with a checkpoint", signum)
        trainer.reader.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    trainer.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Continuous SFT of a small Llama with the Hugging Face Trainer on prism.sft, exactly once.

    python clients/python/examples/sft_hf_trainer.py --brokers 127.0.0.1:19092 \
        --init-model ./models/probe --output-dir .prism/py-sft --model-id py-sft

Reads prism.sft (read_committed, group --group), trains, and every --save-steps steps the Trainer
saves checkpoint-N/; the prism callback writes the offset ledger into checkpoint-N/prism-manifest.json,
fsyncs, commits the group offsets, then publishes a ModelUpdate to prism.model-updates (so
`prism run` with probe.mode follow and probe.followModelId = --model-id swaps it in). Kill it at any
time (even kill -9) and start it again: it resumes from the newest valid checkpoint, and the id log
(--id-log) shows no record lost or trained twice. SIGTERM/SIGINT: final checkpoint, commit, exit 0.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

import torch
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

from prism_stream import SchemaRegistry, TopicReader, TrainingHandoff
from prism_stream.hf import PrismStreamDataset, PrismTrainer, PrismTrainerCallback, prism_training_args
from prism_stream.sequence import BYTE_VOCAB_SIZE, load_tokenizer


def tiny_llama(folder: Path, seed: int) -> Path:
    """The shape of `prism model init --preset tiny` (byte tokenizer), random-initialised by transformers."""
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=BYTE_VOCAB_SIZE,
        hidden_size=64,
        intermediate_size=172,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=1024,
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
    )
    config.update({"prism_tokenizer": "byte"})  # prism's byte tokenizer (src/tokenizer/byte.ts)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--brokers", default=os.environ.get("PRISM_KAFKA_BROKERS", "127.0.0.1:19092"))
    p.add_argument("--topic", default="prism.sft")
    p.add_argument("--group", default="prism-py-sft")
    p.add_argument("--model-id", default="py-sft")
    p.add_argument(
        "--init-model", type=Path, help="HF model folder to start from (default: a random tiny Llama)"
    )
    p.add_argument("--output-dir", type=Path, default=Path(".prism/py-sft"))
    p.add_argument("--id-log", type=Path, help="JSONL audit log of trained records")
    p.add_argument("--save-steps", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-seq-len", type=int, default=512)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument(
        "--idle-exit-s", type=float, help="stop (checkpoint, commit, exit) after this long with no record"
    )
    p.add_argument("--model-updates-topic", default="prism.model-updates")
    p.add_argument("--dlq-topic", default="prism.dlq")
    p.add_argument(
        "--registry-url", help="Confluent-compatible Schema Registry (default: bundled registry.json)"
    )
    p.add_argument("--no-publish", action="store_true", help="do not send ModelUpdates")
    p.add_argument("--session-timeout-ms", type=int, default=45000, help="consumer group session timeout")
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr
    )
    a.output_dir.mkdir(parents=True, exist_ok=True)
    reader = TopicReader(
        a.topic,
        brokers=a.brokers,
        group_id=a.group,
        idle_timeout_s=a.idle_exit_s,
        registry=SchemaRegistry(url=a.registry_url) if a.registry_url else None,
        config={"session.timeout.ms": a.session_timeout_ms},
    )
    handoff = TrainingHandoff(
        reader,
        model_id=a.model_id,
        checkpoint_root=a.output_dir,
        trainer="sft",
        id_log=a.id_log,
        publish=not a.no_publish,
        model_updates_topic=a.model_updates_topic,
    )
    resume = handoff.resume()
    init = a.init_model if a.init_model is not None else a.output_dir / "init-model"
    if a.init_model is None and not (init / "config.json").exists():
        tiny_llama(init, a.seed)
    model = AutoModelForCausalLM.from_pretrained(init, dtype=torch.float32)
    config = json.loads((init / "config.json").read_text(encoding="utf-8"))
    stream = PrismStreamDataset(
        handoff,
        tokenizer=load_tokenizer(init),
        vocab_size=int(config["vocab_size"]),
        max_seq_len=a.max_seq_len,
        dlq_topic=a.dlq_topic,
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("prism_stream").info("signal %d: finishing with a checkpoint", signum)
        reader.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    args = prism_training_args(
        a.output_dir,
        per_device_train_batch_size=a.batch_size,
        learning_rate=a.lr,
        save_steps=a.save_steps,
        logging_steps=max(1, a.save_steps // 2),
        use_cpu=not torch.cuda.is_available(),
        seed=a.seed,
        disable_tqdm=True,
        save_total_limit=3,
        lr_scheduler_type="constant",
    )
    trainer = PrismTrainer(
        model=model,
        args=args,
        train_dataset=stream,
        data_collator=stream.collate,
        callbacks=[PrismTrainerCallback(handoff, stream)],
    )
    trainer.train(resume_from_checkpoint=str(resume[0]) if resume else None)
    handoff.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

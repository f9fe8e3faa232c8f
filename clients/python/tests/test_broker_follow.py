"""A PyTorch checkpoint published with publish_model_update is verified and adopted by
`prism run --set probe.mode=follow` (tfjs probe): outputs carry the new probe version. Both a
transformers save_pretrained folder in fp32 and one in bf16 are adopted (they load in the tfjs probe)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
import torch
from helpers import PRISM, REPO, create_topics, prism, produce_values, trajectory, unique
from transformers import AutoModelForCausalLM

from prism_stream import TopicReader, publish_model_update
from prism_stream.batching import pad_batch, sft_loss
from prism_stream.schemas import TRAJECTORY, SchemaRegistry, encode
from prism_stream.sequence import ByteTokenizer, build_sequence

pytestmark = pytest.mark.broker


def _trained_copy(base: Path, out: Path, dtype: torch.dtype, seed: int) -> Path:
    """One SGD step of the base model with PyTorch, saved by transformers in ``dtype``."""
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    seqs = [
        build_sequence(trajectory(i)["turns"], tokenizer=ByteTokenizer(), vocab_size=264, max_seq_len=64)
        for i in range(4)
    ]
    batch = pad_batch(seqs)
    loss = sft_loss(model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits, batch)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p -= 0.5 * p.grad
    model.to(dtype).save_pretrained(out)
    return out


def test_pytorch_checkpoints_are_followed_by_prism_run(brokers: str, tmp_path: Path) -> None:
    t = {k: unique(k) for k in ("in", "sft", "rl", "dlq", "updates", "group")}
    model_id = unique("follow")
    create_topics(
        brokers, {t["in"]: 1, t["sft"]: 1, t["rl"]: 1, t["dlq"]: 1, t["updates"]: 1}, compact=[t["updates"]]
    )
    base = tmp_path / "base"
    prism("model", "init", "--preset", "tiny", "--seed", "7", "--out", str(base))
    sets = {
        "topics.trajectories": t["in"],
        "topics.sft": t["sft"],
        "topics.rl": t["rl"],
        "topics.dlq": t["dlq"],
        "topics.modelUpdates": t["updates"],
        "probe.mode": "follow",
        "probe.followModelId": model_id,
        "scorer.maxSeqLen": "64",
        "scorer.path": "batched",
        "batch.size": "4",
        "batch.maxWaitMs": "300",
        "arbitration.warmup": "4",
        "consumer.sessionTimeoutMs": "10000",
        "consumer.heartbeatIntervalMs": "1000",
    }
    args = [
        "node",
        str(PRISM),
        "run",
        "--brokers",
        brokers,
        "--group",
        t["group"],
        "--model",
        str(base),
        "--http-port",
        "0",
    ]
    for k, v in sets.items():
        args += ["--set", f"{k}={v}"]
    log = (tmp_path / "run.log").open("wb")
    run = subprocess.Popen(
        args, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PRISM_LOG_LEVEL": "info"}
    )
    reg = SchemaRegistry()
    tid = reg.latest_id(TRAJECTORY)
    reader = TopicReader([t["sft"], t["rl"]], brokers=brokers, group_id=unique("out"), idle_timeout_s=2)
    sent = 0

    def versions_until(version: str | None, rounds: int = 60) -> set[str]:
        """Produces micro-batches until an output carries ``version`` (None: any output); returns the
        versions seen."""
        nonlocal sent
        seen: set[str] = set()
        for _ in range(rounds):
            assert run.poll() is None, (tmp_path / "run.log").read_text()[-4000:]
            produce_values(
                brokers,
                t["in"],
                [(f"x-{sent + i}", encode(reg, tid, trajectory(sent + i, "x"))) for i in range(4)],
            )
            sent += 4
            for rec in reader:
                seen.add(rec.prism["probe_model_version"])
            if (version is None and seen) or version in seen:
                return seen
        raise AssertionError(
            f"no output with probe version {version} (seen {seen}):\n"
            + (tmp_path / "run.log").read_text()[-4000:]
        )

    try:
        first = versions_until(None)  # the frozen start model
        fp32 = _trained_copy(base, tmp_path / "fp32", torch.float32, 1)
        update = publish_model_update(fp32, brokers=brokers, model_id=model_id, step=1, topic=t["updates"])
        assert update["uri"] == fp32.resolve().as_uri() and update["version"].startswith("1-")
        assert update["version"] not in first
        versions_until(update["version"])

        bf16 = _trained_copy(base, tmp_path / "bf16", torch.bfloat16, 2)
        update2 = publish_model_update(bf16, brokers=brokers, model_id=model_id, step=2, topic=t["updates"])
        versions_until(update2["version"])
    finally:
        reader.close()
        run.send_signal(signal.SIGTERM)
        rc = run.wait(timeout=60)
    assert rc == 0, (tmp_path / "run.log").read_text()[-4000:]

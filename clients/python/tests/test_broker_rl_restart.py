"""The plain-PyTorch RL example: kill -9 while records sit in GRPO group windows, restart; the id log's
surviving lineage has every record once and the checkpoints keep the running baseline."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, create_topics, prism, produce_scored, scored, unique, wait_for

from prism_stream import read_id_log
from prism_stream.checkpoint import latest_valid_checkpoint

pytestmark = pytest.mark.broker
EXAMPLE = REPO / "clients" / "python" / "examples" / "rl_torch.py"


def _start(brokers: str, t: dict[str, str], out: Path, idle_exit: bool) -> subprocess.Popen[bytes]:
    args = [
        sys.executable,
        str(EXAMPLE),
        "--brokers",
        brokers,
        "--topic",
        t["rl"],
        "--group",
        t["group"],
        "--model-id",
        t["model"],
        "--init-model",
        str(out / "init"),
        "--output-dir",
        str(out / "ckpt"),
        "--id-log",
        str(out / "ids.jsonl"),
        "--save-steps",
        "2",
        "--batch-size",
        "4",
        "--group-size",
        "4",
        "--max-seq-len",
        "64",
        "--session-timeout-ms",
        "6000",
        "--model-updates-topic",
        t["updates"],
        "--dlq-topic",
        t["dlq"],
    ]
    if idle_exit:
        args += ["--idle-exit-s", "5"]
    log = (out / "rl.log").open("ab")
    return subprocess.Popen(
        args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )


def test_rl_example_kill9_and_restart(brokers: str, tmp_path: Path) -> None:
    t = {k: unique(k) for k in ("rl", "updates", "dlq", "group", "model")}
    create_topics(brokers, {t["rl"]: 2, t["updates"]: 1, t["dlq"]: 1}, compact=[t["updates"]])
    prism("model", "init", "--preset", "tiny", "--seed", "3", "--out", str(tmp_path / "init"))
    # Groups of 4 by task_id, spread over 2 partitions: groups complete out of offset order.
    produce_scored(
        brokers, t["rl"], [scored(i, reward=float(i % 3), route="RL") for i in range(48)], partitions=2
    )

    first = _start(brokers, t, tmp_path, idle_exit=False)
    try:
        wait_for(
            lambda: (
                latest_valid_checkpoint(tmp_path / "ckpt") is not None
                and len(read_id_log(tmp_path / "ids.jsonl").entries) >= 20
            ),
            "RL run to train 20 records",
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    produce_scored(
        brokers, t["rl"], [scored(i, reward=float(i % 3), route="RL") for i in range(48, 64)], partitions=2
    )
    second = _start(brokers, t, tmp_path, idle_exit=True)
    assert second.wait(timeout=240) == 0, (tmp_path / "rl.log").read_text()[-4000:]

    reading = read_id_log(tmp_path / "ids.jsonl")
    assert sorted(e.id for e in reading.entries) == sorted(f"t-{i}" for i in range(64))
    found = latest_valid_checkpoint(tmp_path / "ckpt", t["model"])
    assert found is not None
    manifest = found[1]
    # The running baseline went through the manifests (every record folded in at least once).
    assert manifest.trainer == "rl" and manifest.state["baseline"]["count"] >= 64
    assert [o.offset for o in manifest.offsets] == [32, 32] and all(
        not o.done_above for o in manifest.offsets
    )

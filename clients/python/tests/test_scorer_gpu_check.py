"""scripts/gpu/torch_check.py on the CPU (--smoke): rows, agreement, incremental JSON and the time budget."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from prism_stream.scorer_service.testing import torch  # noqa: F401 (clear failure without torch)

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "gpu" / "torch_check.py"


def _run(out: Path, budget: float) -> dict[str, Any]:
    args = ["--out", str(out), "--device", "cpu", "--smoke", "--budget-s", str(budget)]
    subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        check=True,
        capture_output=True,
        timeout=600,
    )
    doc: dict[str, Any] = json.loads((out / "torch_check.json").read_text())
    return doc


def test_smoke_run_measures_both_paths_and_bf16_agreement(tmp_path: Path) -> None:
    doc = _run(tmp_path, 300)
    rows = doc["rows"]
    assert [(r["dtype"], r["T"]) for r in rows] == [("fp32", 64), ("fp32", 128), ("bf16", 64), ("bf16", 128)]
    for r in rows:
        for path in ("service", "paper_loop"):
            assert r[path]["status"] == "ok" and r[path]["traj_per_s"] > 0 and r[path]["counted_tflop"] > 0
        if r["dtype"] == "fp32":
            assert r["service_vs_loop_max_rel_diff"] < 1e-4
    ag = doc["agreement"]
    assert ag and all(0 < a["norm_rel_err_max"] < 0.1 and -1 <= a["gini_spearman"] <= 1 for a in ag)
    assert doc["meta"]["device"] and doc["meta"]["budget_s"] == 300


def test_rows_past_the_budget_are_recorded_as_skipped_never_estimated(tmp_path: Path) -> None:
    doc = _run(tmp_path, 1)
    skipped = [r for r in doc["rows"] if r.get("status") == "skipped: time budget"]
    assert len(skipped) == 4 - sum(1 for r in doc["rows"] if "service" in r)
    assert all("service" not in r for r in skipped)

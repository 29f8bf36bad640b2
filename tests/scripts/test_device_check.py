"""The GPU check script, dry-run on the CPU: every stage runs and the summary is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_device_check_dry_run(tmp_path):
    out = tmp_path / "check"
    env = dict(os.environ, PYTHON=sys.executable)  # this interpreter, wherever its environment lives
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "device_check.sh"), str(out), "--dry-run"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    stages = {s["stage"]: s["exit"] for s in results["stages"]}
    assert stages == {"environment": 0, "gpu_tests": 0, "bench_losses": 0, "bench_training": 0}
    assert {row["case"] for row in results["bench_losses"]} >= {"auraloss-mrstft", "mrstft"}
    assert "| stage | exit | seconds | command |" in (out / "summary.md").read_text()
    with tarfile.open(out / "logs.tar.gz") as tar:
        assert "logs/bench_training.log" in tar.getnames()

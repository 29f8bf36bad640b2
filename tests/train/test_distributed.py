"""Two processes under torchrun (gloo, CPU) end with identical parameters, equal to one process
training on the same data with twice the per-process batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from earshot.train.engine import train

WORKER = Path(__file__).with_name("_ddp_worker.py")
TORCHRUN = Path(sys.executable).with_name("torchrun")


def _run(cmd, env, timeout=300):
    """Run in a new session so that a timeout kills torchrun's workers too."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    assert proc.returncode == 0, err[-3000:]


def test_two_processes_end_identical(tmp_path, toy_config):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    _run([str(TORCHRUN), "--standalone", "--nproc_per_node", "2", str(WORKER),
          str(tmp_path / "ddp"), str(tmp_path / "ddp"), "6", "4"], env)
    r0 = torch.load(tmp_path / "ddp.rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "ddp.rank1.pt", weights_only=True)
    for k in r0["state"]:
        assert torch.equal(r0["state"][k], r1["state"][k]), k
    assert r0["metrics"] == r1["metrics"]                    # validation averaged over both ranks
    # one process, batch 8 = the union of the two ranks' batches of 4
    cfg = toy_config(train__steps=6, train__batch_size=8, recipe__train_items=64, recipe__valid_items=16)
    one = train(cfg, tmp_path / "one")
    for k, v in one.models["model"].state_dict().items():
        assert torch.allclose(r0["state"][k], v, atol=1e-6), k
    assert one.metrics["l1"] == pytest.approx(r0["metrics"]["l1"], rel=1e-5)
    first = r0["state"]["net.0.weight"]
    assert not torch.equal(first, torch.zeros_like(first))

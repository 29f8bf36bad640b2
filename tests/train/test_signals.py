"""A real `earshot train` process: SIGTERM saves a checkpoint and exits cleanly; kill -9 in the
middle of a save leaves the previous checkpoint loadable and the run resumable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from earshot.train.checkpoint import DELAY_ENV, latest_checkpoint, list_checkpoints
from earshot.train.engine import train

QUIET = ["train.progress=false", "train.tensorboard=false", "train.num_examples=0", "train.accelerator=cpu",
         "train.val_every=0", "recipe.train_items=48", "recipe.valid_items=8"]


def _start(args, env_extra=None):
    env = dict(os.environ, OMP_NUM_THREADS="1", **(env_extra or {}))
    return subprocess.Popen([sys.executable, "-m", "earshot.cli.main", "train", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, proc, timeout=120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"process ended early ({proc.returncode}): {proc.stderr.read()}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("timed out")


def test_sigterm_checkpoints_and_exits_cleanly(tmp_path):
    run = tmp_path / "run"
    proc = _start(["toy", "--run-dir", str(run), "train.steps=100000", "train.ckpt_every=0",
                   "train.log_every=1", *QUIET])
    _wait_for(lambda: (run / "metrics.csv").exists() and len((run / "metrics.csv").read_text().splitlines()) > 4, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "continue with: earshot train --resume" in err
    (step, path), = list_checkpoints(run)
    assert 1 <= step < 100000 and path.name == f"step-{step:08d}.pt"
    state = latest_checkpoint(run)[1]
    assert state["step"] == step and state["config"]["train"]["steps"] == 100000
    # the interrupted run continues from where it stopped
    from earshot.train.engine import load_run_config

    cfg = load_run_config(run, {"train.steps": str(step + 2)})
    assert train(cfg, run, resume=True).step == step + 2


def test_kill_9_during_save_keeps_the_last_good_checkpoint(tmp_path, toy_config):
    run = tmp_path / "run"
    train(toy_config(train__steps=3), run)                   # a good checkpoint at step 3
    before = latest_checkpoint(run)[1]
    proc = _start(["--resume", str(run), "train.steps=6"], {DELAY_ENV: "60"})
    ckpt_dir = run / "checkpoints"
    _wait_for(lambda: any(p.name.endswith(".tmp") for p in ckpt_dir.iterdir()), proc)
    time.sleep(0.2)
    proc.kill()                                              # SIGKILL while the save sleeps before the rename
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert [s for s, _ in list_checkpoints(run)] == [3]      # no half-written step-6 file under its name
    assert any(p.name.endswith(".tmp") for p in ckpt_dir.iterdir())
    path, state = latest_checkpoint(run)
    assert state["step"] == 3
    assert all(torch.equal(v, before["models"]["model"][k]) for k, v in state["models"]["model"].items())
    from earshot.train.engine import load_run_config

    result = train(load_run_config(run, {"train.steps": "6"}), run, resume=True)
    assert result.step == 6 and [s for s, _ in list_checkpoints(run)] == [3, 6]
    assert not any(p.name.endswith(".tmp") for p in ckpt_dir.iterdir())   # the stale temp file is gone


@pytest.mark.slow
def test_preemption_of_the_process_group_with_workers_resumes_exactly(tmp_path, toy_config):
    """A scheduler signals the whole process group (the main process and its DataLoader workers).

    Workers start by forkserver here (Python 3.14's default on Linux): they do not inherit the
    engine's Python handler, so before the workers ignored the signals they died with the group
    (and the forkserver too): exit status 1, no checkpoint. With fork they inherit the handler.
    """
    run, steps = tmp_path / "run", 40
    args = ["train.num_workers=2", "train.batch_size=4", "recipe.train_items=160", "train.log_every=1",
            "train.ckpt_every=0"]   # one epoch: the workers start once
    code = ("import multiprocessing as mp, sys; mp.set_start_method('forkserver', force=True); "
            "from earshot.cli.main import main; sys.exit(main(sys.argv[1:]))")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", code, "train", "toy", "--run-dir", str(run),
                             f"train.steps={steps}", *QUIET, *args], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: (run / "metrics.csv").exists() and len((run / "metrics.csv").read_text().splitlines()) > 12, proc)
    os.killpg(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "killed by signal" not in err
    (stopped, _), = list_checkpoints(run)
    assert 1 <= stopped < steps
    from earshot.train.engine import load_run_config

    resumed = train(load_run_config(run), run, resume=True)
    same = {k.replace(".", "__"): v for k, v in (a.split("=") for a in args)}
    whole = train(toy_config(train__steps=steps, recipe__valid_items=8, **same), tmp_path / "whole")
    assert resumed.step == steps
    for k, v in whole.models["model"].state_dict().items():
        assert torch.equal(v, resumed.models["model"].state_dict()[k]), k

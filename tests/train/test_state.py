"""TrainState and verified checkpoints: exact resume with the gradient balancer, every RNG
state saved, corrupt checkpoints refused with a fallback, metrics.csv without replayed steps."""

from __future__ import annotations

import csv
import logging
import random

import numpy as np
import pytest
import torch

from earshot.errors import ConfigError
from earshot.train.checkpoint import (checksum_path, latest_checkpoint, list_checkpoints, load_checkpoint,
                                      rng_state, set_rng_state)
from earshot.train.engine import train


def _train_rows(run_dir, name="l1"):
    with open(run_dir / "metrics.csv") as f:
        return [int(r["step"]) for r in csv.DictReader(f) if r["split"] == "train" and r["name"] == name]


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_is_exact_with_the_gradient_balancer(tmp_path, toy_config):
    cfg = toy_config(train__steps=10, train__balancer="true", train__loss_weights__mse=1.0, train__batch_size=4,
                     recipe__train_items=16, train__schedule="cosine")
    whole = train(cfg, tmp_path / "a")
    train(cfg, tmp_path / "b", stop_after=5)
    saved = latest_checkpoint(tmp_path / "b")[1]
    balancer = saved["runner"]["balancer"]
    assert set(balancer["count"]) == {"l1", "mse"} and balancer["count"]["l1"] > 1   # the averages are saved
    resumed = train(cfg, tmp_path / "b", resume=True)
    assert _same(whole.models["model"].state_dict(), resumed.models["model"].state_dict())
    sa, sb = latest_checkpoint(tmp_path / "a")[1], latest_checkpoint(tmp_path / "b")[1]
    assert sa["runner"] == sb["runner"]


def test_checkpoint_holds_and_restores_every_random_state():
    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    saved = rng_state()
    expected = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)])
    torch.manual_seed(9), np.random.seed(9), random.seed(9)
    set_rng_state(saved)
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1])
    assert [random.random() for _ in range(3)] == expected[2]


def test_a_corrupt_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, toy_config, caplog):
    cfg = toy_config(train__steps=6, train__ckpt_every=3, train__batch_size=4, recipe__train_items=16)
    whole = train(cfg, tmp_path / "a")
    train(cfg, tmp_path / "b", stop_after=6)
    (_, good), (_, newest) = list_checkpoints(tmp_path / "b")
    assert checksum_path(newest).is_file()
    data = bytearray(newest.read_bytes())
    data[len(data) // 2] ^= 0x01                    # one flipped bit, somewhere in the weights
    newest.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="checksum mismatch"):
        load_checkpoint(newest)
    with caplog.at_level(logging.WARNING, logger="earshot.train"):
        path, state = latest_checkpoint(tmp_path / "b")
    assert path == good and state["step"] == 3
    assert "checksum mismatch" in caplog.text
    # resuming runs steps 4-6 again from the good checkpoint and ends where the whole run did
    newest.unlink()
    resumed = train(cfg, tmp_path / "b", resume=True)
    assert _same(whole.models["model"].state_dict(), resumed.models["model"].state_dict())


def test_a_checkpoint_without_checksum_loads_with_a_warning(tmp_path, toy_config, caplog):
    train(toy_config(train__steps=1), tmp_path / "r")
    (_, path), = list_checkpoints(tmp_path / "r")
    checksum_path(path).unlink()
    with caplog.at_level(logging.WARNING, logger="earshot.train"):
        assert load_checkpoint(path)["step"] == 1
    assert "unverified" in caplog.text


def test_metrics_csv_does_not_repeat_replayed_steps(tmp_path, toy_config):
    cfg = toy_config(train__steps=6, train__ckpt_every=3, train__log_every=1, train__keep_last=5)
    train(cfg, tmp_path / "r")
    assert _train_rows(tmp_path / "r") == [1, 2, 3, 4, 5, 6]
    # as if killed after logging step 6 but before its checkpoint: steps 4-6 are replayed
    (_, last), = [c for c in list_checkpoints(tmp_path / "r") if c[0] == 6]
    last.unlink()
    train(cfg, tmp_path / "r", resume=True)
    assert _train_rows(tmp_path / "r") == [1, 2, 3, 4, 5, 6]

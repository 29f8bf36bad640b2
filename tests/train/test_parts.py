"""The engine's parts: sampler and data position, worker seeding, schedules, EMA, checkpoints."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

from earshot.errors import ConfigError, DataError
from earshot.train.checkpoint import (checkpoint_path, latest_checkpoint, list_checkpoints, load_checkpoint,
                                      rng_state, save_checkpoint, set_rng_state)
from earshot.train.data import BatchStream, ResumableSampler
from earshot.train.optim import EMA, lr_factor


class Noisy(torch.utils.data.Dataset):
    """Item i: (i, a draw from the global torch RNG) -- shows how workers are seeded."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        return torch.tensor([float(i), torch.rand(()).item()])


def test_sampler_shards_cover_the_epoch():
    shards = [ResumableSampler(10, seed=3, rank=r, world_size=3) for r in range(3)]
    idx = [s.indices() for s in shards]
    assert all(len(i) == 4 for i in idx)                      # padded to equal lengths
    assert set(sum(idx, [])) == set(range(10))
    s = shards[0]
    s.set_epoch(1)
    other = s.indices()
    assert other != idx[0] and sorted(ResumableSampler(10, seed=3).indices()) == list(range(10))
    s.set_epoch(1, start=2)
    assert list(s) == other[2:] and len(s) == 2
    with pytest.raises(DataError):
        ResumableSampler(0, seed=0)


@pytest.mark.parametrize("workers", [0, 2])
def test_batch_stream_resumes_at_its_position(workers):
    ds = Noisy()
    a = BatchStream(ds, batch_size=4, seed=1, num_workers=workers)
    first = [next(a) for _ in range(7)]                        # crosses two epoch boundaries
    assert a.position == (2, 1)
    b = BatchStream(ds, batch_size=4, seed=1, num_workers=workers, position=(1, 1))
    rest = [next(b) for _ in range(3)]
    for x, y in zip(first[4:], rest):
        assert torch.equal(x[:, 0], y[:, 0])                   # same items in the same order
    epoch0 = torch.cat([x[:, 0] for x in first[:3]])
    assert sorted(epoch0.tolist()) == list(range(12))
    if workers:
        # workers are seeded from (seed, rank, epoch, worker): reproducible, different per epoch
        again = BatchStream(ds, batch_size=4, seed=1, num_workers=workers)
        assert torch.equal(torch.cat([next(again) for _ in range(3)]), torch.cat(first[:3]))
        assert not torch.equal(first[0][:, 1], first[3][:, 1])
    with pytest.raises(DataError, match="fewer than one batch"):
        BatchStream(ds, batch_size=13, seed=0)


def test_lr_schedules():
    f = lambda s, **k: lr_factor(s, total=10, **k)   # noqa: E731
    assert [f(s, schedule="constant", warmup=4) for s in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    assert f(0, schedule="cosine") == 1.0 and f(10, schedule="cosine", floor=0.1) == pytest.approx(0.1)
    assert f(5, schedule="cosine") == pytest.approx(0.5)
    assert f(7, schedule="cosine", warmup=4, floor=0.2) == pytest.approx(0.2 + 0.8 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert f(5, schedule="linear") == pytest.approx(0.5) and f(20, schedule="linear") == 0.0
    with pytest.raises(ConfigError):
        f(1, schedule="exp")


def test_ema_update_is_the_analytic_average():
    src = torch.nn.Linear(2, 1)
    ema = EMA(src, decay=0.9)
    old = ema.module.weight.clone()
    with torch.no_grad():
        src.weight.add_(1.0)
    ema.update(src, step=1000)                                 # decay min(0.9, 1001/1010) = 0.9
    assert torch.allclose(ema.module.weight, 0.9 * old + 0.1 * src.weight)
    ema.update(src, step=0)                                    # early: decay 1/10
    assert not ema.module.weight.requires_grad and not ema.module.training


def test_rng_state_round_trip():
    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    state = rng_state()
    a = (torch.rand(3), np.random.rand(3), random.random())
    set_rng_state(state)
    b = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


def test_checkpoints_keep_last_and_skip_a_broken_newest(tmp_path):
    for step in (1, 2, 3, 4):
        save_checkpoint({"step": step, "w": torch.full((3,), float(step)), "rng": rng_state()},
                        checkpoint_path(tmp_path, step), keep_last=2)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [3, 4]
    assert load_checkpoint(checkpoint_path(tmp_path, 4))["w"].tolist() == [4.0] * 3
    broken = checkpoint_path(tmp_path, 5)
    broken.write_bytes(checkpoint_path(tmp_path, 4).read_bytes()[:100])   # a torn file
    path, state = latest_checkpoint(tmp_path)
    assert path.name == "step-00000004.pt" and state["step"] == 4
    with pytest.raises(ConfigError, match="not a loadable checkpoint"):
        load_checkpoint(broken)

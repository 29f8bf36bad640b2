"""DPAM walks over the real perturbations, adaptive sequences with the simulated listener, shards."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from earshot.data.jnd import JNDPairDataset, WalkConfig, draw_walk, make_jnd_pairs
from earshot.errors import ConfigError

SR = 16000


def _clips(n=2, seconds=0.25):
    t = torch.arange(int(SR * seconds)) / SR
    return [(0.2 * torch.sin(2 * math.pi * (180 + 60 * i) * t) * (1 + 0.5 * torch.sin(2 * math.pi * 3 * t)))[None]
            for i in range(n)]


def test_walk_segment_runs_from_start_to_the_box_edge():
    rng = np.random.default_rng(0)
    cfg = WalkConfig(perturbations=("white", "pink", "eq"), max_dims=2, combine_prob=0.5)
    for _ in range(50):
        w = draw_walk(rng, cfg)
        start, end = np.asarray(w.start), np.asarray(w.end)
        assert 1 <= len(w.names) <= 2 and len(set(w.names)) == len(w.names)
        assert np.all((start >= 0) & (start <= cfg.start_max))
        assert np.linalg.norm(end - start) >= cfg.min_length - 1e-9
        on_edge = np.isclose(end, 0) | np.isclose(end, 1)
        assert on_edge.any()  # the segment ends where the ray leaves [0, 1]^D
        assert np.allclose(w.strengths(0), start) and np.allclose(w.strengths(w.n_levels - 1), end)
        if len(w.names) == 1:
            assert end[0] > start[0]  # one dimension: the walk goes up in strength
    a, b = draw_walk(np.random.default_rng(7), cfg), draw_walk(np.random.default_rng(7), cfg)
    assert a == b


def test_make_jnd_pairs_writes_shards_that_read_back(tmp_path):
    cfg = WalkConfig(perturbations=("white", "eq"), n_levels=16)
    manifest_path = make_jnd_pairs(tmp_path / "p", source=_clips(), n_walks=3, n_trials=5, seconds=0.25,
                                   sample_rate=SR, seed=3, walk_config=cfg, shard_walks=2, progress=False)
    manifest = json.loads(manifest_path.read_text())
    assert manifest["judgments"] == "simulated-listener" and "not human" in manifest["note"]
    assert manifest["shards"] == ["shard-00000", "shard-00001"] and manifest["n_judgments"] == 15
    data = JNDPairDataset(tmp_path / "p")
    assert len(data) == 15 and data.sample_rate == SR
    shard = json.loads((tmp_path / "p" / "shard-00000.json").read_text())
    walk = shard["walks"][0]
    assert [t["level"] for t in walk["trials"]][:2] == [0, 15]  # the checks: identical, then maximal
    for trial in walk["trials"]:
        assert len(trial["params"]) == len(walk["walk"]["names"])
        assert np.allclose(trial["strengths"], np.asarray(walk["walk"]["start"])
                           + trial["level"] / 15 * (np.asarray(walk["walk"]["end"]) - walk["walk"]["start"]))
    first = data[0]
    assert first["reference"].shape == first["test"].shape == (1, SR // 4)
    assert torch.equal(first["reference"], first["test"])  # level 0 is the reference itself
    assert float(first["strength"]) == 0.0
    assert first["p_listener"] < 0.05  # the detector sees no difference in an identical pair
    labels = torch.stack([data[i]["label"] for i in range(len(data))])
    assert set(labels.tolist()) <= {0.0, 1.0}
    with pytest.raises(ConfigError):
        make_jnd_pairs(tmp_path / "p", source=_clips(), n_walks=1, progress=False)


def test_same_seed_same_pairs(tmp_path):
    kw = dict(source=_clips(1), n_walks=2, n_trials=4, seconds=0.25, sample_rate=SR, seed=11, progress=False,
              walk_config=WalkConfig(perturbations=("pink",), n_levels=16))
    make_jnd_pairs(tmp_path / "a", **kw)
    make_jnd_pairs(tmp_path / "b", **kw)
    a, b = JNDPairDataset(tmp_path / "a"), JNDPairDataset(tmp_path / "b")
    assert len(a) == len(b)
    for i in range(len(a)):
        assert torch.equal(a[i]["test"], b[i]["test"]) and a[i]["label"] == b[i]["label"]

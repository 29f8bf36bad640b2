"""The shipped JND weights: load offline with their sha256, say what trained them, regression values,
and `earshot score --metrics jnd`."""

from __future__ import annotations

import json
import math

import pytest
import torch

from earshot.cli.main import main
from earshot.losses.jnd import DEFAULT_WEIGHTS, JNDLoss
from earshot.metrics import score
from earshot.metrics.jnd import jnd_judgment
from earshot.weights import load_pretrained, pretrained_info

SR = 16000


def _pair():
    g = torch.Generator().manual_seed(0)
    t = torch.arange(SR // 2) / SR
    clean = (0.2 * torch.sin(2 * math.pi * 220 * t) * (1 + 0.5 * torch.sin(2 * math.pi * 3 * t)))[None, None]
    noise = torch.randn(1, 1, SR // 2, generator=g)
    return clean, noise


@pytest.mark.parametrize("name", [DEFAULT_WEIGHTS, "jnd-dpam-sim-16k"])
def test_manifest_says_simulated_listener_and_weights_are_small(name):
    info = pretrained_info(name)
    assert info["class"] == "earshot.models.jndnet:JNDNet" and info["sample_rate"] == SR
    assert "SIMULATED listener" in info["data"] and "NOT human data" in info["data"]
    assert info["bytes"] < 3_000_000
    net = load_pretrained(name)  # checks the sha256
    assert not net.training


def test_regression_values_of_the_shipped_net():
    clean, noise = _pair()
    loss = JNDLoss(SR, reduction="none")
    d = [float(loss(clean + a * noise, clean)) for a in (0.0, 1e-4, 1e-3, 1e-2, 1e-1)]
    assert d[0] == 0.0 and d[1] < d[2] < d[3] < d[4]
    assert d[1:] == pytest.approx(REGRESSION, rel=1e-3)
    p = jnd_judgment(torch.cat([clean + 1e-4 * noise, clean + 1e-1 * noise]), clean.repeat(2, 1, 1), SR).p_different
    assert float(p[0]) < 0.5 < float(p[1])


def test_score_registry_and_cli(tmp_path, capsys):
    from earshot.audio.io import save

    clean, noise = _pair()
    out = score(estimate=clean + 0.01 * noise, reference=clean, sample_rate=SR, metrics=["jnd"])
    assert out["jnd"].shape == (1,) and float(out["jnd"]) > 0
    save(tmp_path / "ref.wav", clean[0], SR)
    save(tmp_path / "deg.wav", (clean + 0.01 * noise)[0], SR)
    assert main(["score", str(tmp_path / "deg.wav"), str(tmp_path / "ref.wav"), "--metrics", "jnd", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert json.dumps(printed).count("jnd") >= 1


REGRESSION = [0.0334887, 0.834894, 1.94898, 3.59323]  # jnd-sim-16k retrained with real speech (2026-12-04)

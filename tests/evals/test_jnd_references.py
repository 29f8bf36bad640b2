"""The reference-correlation evaluation's pieces: graded degradations and the Spearman tables."""

from __future__ import annotations

import math

import pytest
import torch

from earshot.evals.jnd_references import LADDER, correlations, degrade
from earshot.metrics import si_sdr


def test_noise_steps_hit_their_snr_and_every_ladder_step_runs():
    t = torch.arange(16000) / 16000
    clean = (0.3 * torch.sin(2 * math.pi * 300 * t))[None]
    for snr in LADDER["noise"]:
        noisy = degrade(clean, "noise", snr, seed=1)  # scaled down where it would clip: SI-SDR ignores that
        assert float(si_sdr(noisy[None], clean[None])) == pytest.approx(snr, abs=0.1)
    for kind in ("mp3", "opus", "lowpass", "reverb"):
        out = degrade(clean, kind, LADDER[kind][1], seed=0)
        assert out.shape == clean.shape and torch.isfinite(out).all()


def test_correlations_pool_and_split_by_type():
    rows = [{"clip": "a", "type": kind, "amount": k, "pesq": 4.0 - k, "good": float(k), "bad": float(-k)}
            for kind in LADDER for k in range(4)]
    rho = correlations({"rows": {"speech": rows}, "distances": ["good", "bad"]})["speech"]["pesq"]
    assert rho["all"]["good"] == pytest.approx(1.0) and rho["all"]["bad"] == pytest.approx(-1.0)
    assert rho["mp3"] == {"good": pytest.approx(1.0), "bad": pytest.approx(-1.0)}
    assert "visqol" not in correlations({"rows": {"speech": rows}, "distances": ["good"]})["speech"]

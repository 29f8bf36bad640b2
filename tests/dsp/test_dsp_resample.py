"""Differentiable resampler: analytic sines, lengths, round trip, module == function, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from earshot.dsp import Resample, resample
from earshot.errors import SampleRateError, ShapeError


def _sine(sr, n, freq=440.0):
    return torch.sin(2 * math.pi * freq * torch.arange(n, dtype=torch.float64) / sr)


@pytest.mark.parametrize("orig,target", [(16000, 44100), (44100, 16000), (48000, 16000), (16000, 24000)])
def test_sine_is_resampled_exactly(orig, target):
    y = resample(_sine(orig, orig // 2).reshape(1, 1, -1), orig, target)
    assert y.shape[-1] == math.ceil(orig // 2 * target / orig)
    ref = _sine(target, y.shape[-1])
    edge = target // 20
    assert (y[0, 0, edge:-edge] - ref[edge:-edge]).abs().max() < 1e-4


def test_removes_content_above_new_nyquist():
    x = _sine(48000, 24000, freq=12000.0).reshape(1, -1)
    y = resample(x, 48000, 16000)
    assert y[:, 800:-800].abs().max() < 1e-3


def test_round_trip_module_and_gradient(rng):
    x = torch.randn(2, 2, 3000, generator=rng)
    x = resample(resample(x, 16000, 8000), 8000, 16000)  # band-limit first, so the trip is lossless
    up = Resample(16000, 44100)
    assert up.state_dict() == {}
    torch.testing.assert_close(up(x), resample(x, 16000, 44100))
    back = resample(up(x), 44100, 16000)[..., : x.shape[-1]]
    assert (back - x)[..., 200:-200].abs().max() < 1e-3
    xg = x.clone().requires_grad_()
    resample(xg, 16000, 22050).square().sum().backward()
    assert torch.isfinite(xg.grad).all() and xg.grad.abs().sum() > 0


def test_identity_and_errors():
    x = torch.randn(3, 10)
    assert resample(x, 16000, 16000) is x
    with pytest.raises(SampleRateError):
        resample(x, 0, 16000)
    with pytest.raises(ShapeError):
        resample(torch.zeros(2, 0), 16000, 8000)

"""BS.1770 loudness: the standard's 48 kHz coefficients, the -3.01 LUFS sine, normalisation, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from earshot.dsp import loudness_normalize, lufs, rms_db, rms_normalize
from earshot.dsp.loudness import k_weighting_coefficients


def _sine(sr, seconds=2.0, freq=1000.0, amp=1.0):
    t = torch.arange(int(sr * seconds), dtype=torch.float64) / sr
    return (amp * torch.sin(2 * math.pi * freq * t)).reshape(1, 1, -1)


def test_coefficients_at_48k_equal_the_recommendation():
    (b1, a1), (b2, a2) = k_weighting_coefficients(48000)
    np.testing.assert_allclose(b1, [1.53512485958697, -2.69169618940638, 1.19839281085285], atol=1e-10)
    np.testing.assert_allclose(a1, [1.0, -1.69065929318241, 0.73248077421585], atol=1e-10)
    np.testing.assert_allclose(b2, [1.0, -2.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(a2, [1.0, -1.99004745483398, 0.99007225036621], atol=1e-10)


@pytest.mark.parametrize("sr", [16000, 44100, 48000])
def test_full_scale_1k_sine_reads_minus_3_01(sr):
    assert float(lufs(_sine(sr), sr)) == pytest.approx(-3.01, abs=0.06)
    # 20 dB quieter reads 20 LU lower; two identical channels read 3.01 LU louder
    assert float(lufs(_sine(sr, amp=0.1), sr)) == pytest.approx(float(lufs(_sine(sr), sr)) - 20, abs=1e-6)
    stereo = _sine(sr).repeat(1, 2, 1)
    assert float(lufs(stereo, sr) - lufs(_sine(sr), sr)) == pytest.approx(10 * math.log10(2), abs=1e-6)


def test_normalize_hits_target_and_is_differentiable(rng):
    x = (0.05 * torch.randn(3, 2, 16000, generator=rng)).requires_grad_()
    y = loudness_normalize(x, 16000, -20.0)
    torch.testing.assert_close(lufs(y, 16000), torch.full((3,), -20.0), atol=1e-3, rtol=0)
    y.square().sum().backward()
    assert torch.isfinite(x.grad).all()


def test_silence_and_short_inputs_are_finite():
    silence = torch.zeros(2, 1, 8000, requires_grad=True)
    assert torch.equal(lufs(silence, 16000), torch.full((2,), -100.0))
    out = loudness_normalize(silence, 16000)
    out.sum().backward()
    assert torch.equal(out, silence.detach()) and torch.isfinite(silence.grad).all()
    assert torch.isfinite(lufs(torch.randn(1, 1, 10), 16000)).all()


def test_rms(rng):
    x = _sine(16000, amp=0.5).float()
    assert float(rms_db(x)) == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=1e-4)
    y = rms_normalize(0.01 * torch.randn(2, 1, 1000, generator=rng), -30.0)
    torch.testing.assert_close(rms_db(y), torch.full((2,), -30.0), atol=1e-4, rtol=0)

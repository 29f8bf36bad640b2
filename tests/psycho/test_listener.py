"""The simulated listener's detector: analytic pieces, scaling, masking, threshold in quiet."""

from __future__ import annotations

import numpy as np
import pytest

from earshot.psycho.listener import (
    NMRDetector, SimulatedListener, bark, listener_panel, schroeder_spreading, threshold_in_quiet,
)
from earshot.errors import ShapeError

SR = 16000
T = np.arange(SR // 2) / SR


def tone(freq, amp=0.1):
    return amp * np.sin(2 * np.pi * freq * T)


def test_psychoacoustic_curves_match_their_formulas():
    assert bark(1000.0) == pytest.approx(8.51, abs=0.01)
    assert bark(4000.0) == pytest.approx(17.26, abs=0.01)
    assert threshold_in_quiet(1000.0) == pytest.approx(3.37, abs=0.01)
    f = np.linspace(100, 8000, 2000)
    assert 3000 < f[np.argmin(threshold_in_quiet(f))] < 4000  # most sensitive near 3.3 kHz
    assert schroeder_spreading(0.0) == pytest.approx(0.0, abs=0.01)
    # upward masking spreads further than downward: -10 dB/Bark above, -25 dB/Bark below
    assert schroeder_spreading(8.0) - schroeder_spreading(9.0) == pytest.approx(10, abs=0.2)
    assert schroeder_spreading(-8.0) - schroeder_spreading(-9.0) == pytest.approx(25, abs=0.2)


def test_statistic_scales_exactly_with_the_difference_power():
    det = NMRDetector(SR)
    ref = tone(300) + tone(1500, 0.05)
    noise = np.random.default_rng(0).standard_normal(len(T))
    s1 = det.statistic(ref, ref + 1e-3 * noise)
    s2 = det.statistic(ref, ref + 1e-2 * noise)
    assert s2 - s1 == pytest.approx(20.0, abs=1e-6)


def test_identical_clips_are_far_below_threshold():
    det = NMRDetector(SR)
    assert det.statistic(tone(440), tone(440)) < -100
    assert SimulatedListener().p_different(det.statistic(tone(440), tone(440))) == pytest.approx(0.02, abs=1e-6)


def test_a_masker_in_the_same_band_hides_the_noise():
    det = NMRDetector(SR)
    probe = tone(1000, 3e-3) * np.hanning(len(T))  # the "noise": a soft 1 kHz tone burst
    near = det.statistic(tone(1000), tone(1000) + probe)
    far = det.statistic(tone(4000), tone(4000) + probe)
    assert near < far - 10


def test_threshold_in_quiet_floors_the_mask():
    det = NMRDetector(SR)
    silence = np.zeros(len(T))
    quiet = det.statistic(silence, tone(3500, 1e-6))  # about -30 dB SPL: inaudible
    loud = det.statistic(silence, tone(3500, 1e-3))   # about +30 dB SPL: audible
    assert quiet < -20 and loud > 10


def test_channels_and_torch_inputs():
    import torch
    det = NMRDetector(SR)
    ref, tst = tone(300), tone(300) + 1e-3
    mono = det.statistic(ref, tst)
    stereo = det.statistic(np.stack([ref, ref]), np.stack([tst, tst]))
    assert stereo == pytest.approx(mono, abs=1e-9)
    assert det.statistic(torch.tensor(ref), torch.tensor(tst)) == pytest.approx(mono, abs=1e-6)
    with pytest.raises(ShapeError):
        det.statistic(ref, tst[:-1])


def test_psychometric_function_and_panel():
    lis = SimulatedListener(threshold_db=3.0, noise_db=2.0, lapse=0.0)
    assert lis.p_different(3.0) == pytest.approx(0.5)
    assert lis.p_different(5.0) == pytest.approx(0.8413, abs=1e-4)
    rng = np.random.default_rng(0)
    answers = [lis.judge(5.0, rng) for _ in range(2000)]
    assert np.mean(answers) == pytest.approx(0.8413, abs=0.03)
    a, b = listener_panel(5, seed=1), listener_panel(5, seed=1)
    assert a == b and len({p.threshold_db for p in a}) == 5

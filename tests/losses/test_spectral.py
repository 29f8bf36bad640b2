"""Spectral losses: closed form on cosines, auraloss parity, reductions, options, errors."""

from __future__ import annotations

import math

import auraloss
import pytest
import torch

from earshot.errors import SampleRateError, ShapeError
from earshot.losses import (MultiResolutionMelLoss, MultiResolutionSTFTLoss, MultiScaleSpectralLoss,
                            SpectralConvergenceLoss, STFTLoss, STFTMagnitudeLoss)


def _cosine(amp, n_fft=64, bin_=4, periods=20):
    # bin-centred cosine, length chosen so that reflection padding continues it exactly
    n = periods * n_fft // (2 * bin_) + 1
    t = torch.arange(n, dtype=torch.float64)
    return (amp * torch.cos(2 * math.pi * bin_ * t / n_fft)).reshape(1, 1, -1)


@pytest.mark.parametrize("a,b", [(0.5, 0.25), (0.2, 0.8)])
def test_stft_loss_closed_form_on_cosines(a, b):
    n_fft = 64
    x, y = _cosine(a), _cosine(b)
    f = n_fft // 2 + 1
    # a hann window puts |X| = A n/4 on the cosine's bin and A n/8 on each neighbour; the rest
    # sits at the floor for both signals
    expected_sc = abs(b - a) / b
    expected_log = 3 * abs(math.log(a / b)) / f
    expected_lin = abs(a - b) * (n_fft / 4 + 2 * n_fft / 8) / f
    sc = SpectralConvergenceLoss(n_fft, 16).double()(x, y)
    log = STFTMagnitudeLoss(n_fft, 16).double()(x, y)
    lin = STFTMagnitudeLoss(n_fft, 16, log=False).double()(x, y)
    assert float(sc) == pytest.approx(expected_sc, rel=1e-6)
    assert float(log) == pytest.approx(expected_log, rel=1e-6)
    assert float(lin) == pytest.approx(expected_lin, rel=1e-6)
    total = STFTLoss(n_fft, 16, w_lin_mag=0.5).double()(x, y)
    assert float(total) == pytest.approx(expected_sc + expected_log + 0.5 * expected_lin, rel=1e-6)


def _per_item(theirs, x, y):
    return torch.stack([theirs(x[i: i + 1], y[i: i + 1]) for i in range(x.shape[0])])


PARITY = [
    ("stft", lambda: STFTLoss(), lambda: auraloss.freq.STFTLoss()),
    ("mrstft", lambda: MultiResolutionSTFTLoss(), lambda: auraloss.freq.MultiResolutionSTFTLoss()),
    ("mrstft-lin-l2", lambda: MultiResolutionSTFTLoss(w_lin_mag=1.0, mag_distance="l2"),
     lambda: auraloss.freq.MultiResolutionSTFTLoss(w_lin_mag=1.0, mag_distance="L2")),
    ("mel", lambda: MultiResolutionSTFTLoss(sample_rate=16000, n_mels=64),
     lambda: auraloss.freq.MultiResolutionSTFTLoss(sample_rate=16000, scale="mel", n_bins=64)),
    ("mel-class", lambda: MultiResolutionMelLoss(16000, window_lengths=(600, 1200, 240), n_ffts=(1024, 2048, 512),
                                                 hop_lengths=(120, 240, 50), n_mels=64, w_sc=1.0, log10=False,
                                                 log_floor=0.0, power_eps=1e-8, combine="mean"),
     lambda: auraloss.freq.MultiResolutionSTFTLoss(sample_rate=16000, scale="mel", n_bins=64)),
    ("sumdiff", lambda: MultiResolutionSTFTLoss(sum_difference=True),
     lambda: auraloss.freq.SumAndDifferenceSTFTLoss([1024, 2048, 512], [120, 240, 50], [600, 1200, 240])),
]


@pytest.mark.parametrize("name,ours,theirs", PARITY, ids=[p[0] for p in PARITY])
def test_auraloss_parity_per_item(rng, name, ours, theirs):
    x = 0.3 * torch.randn(2, 2, 6000, generator=rng)
    y = 0.3 * torch.randn(2, 2, 6000, generator=rng)
    expected = _per_item(theirs(), x, y)
    torch.testing.assert_close(ours()(x, y), expected.mean(), rtol=1e-5, atol=1e-5)


def test_auraloss_parity_reduction_none(rng):
    x, y = 0.3 * torch.randn(3, 1, 5000, generator=rng), 0.3 * torch.randn(3, 1, 5000, generator=rng)
    ours = MultiResolutionSTFTLoss(reduction="none")(x, y)
    torch.testing.assert_close(ours, _per_item(auraloss.freq.MultiResolutionSTFTLoss(), x, y), rtol=1e-5, atol=1e-5)


def _all_losses(sr=16000):
    return {
        "sc": lambda **kw: SpectralConvergenceLoss(**kw),
        "stftmag": lambda **kw: STFTMagnitudeLoss(**kw),
        "stft": lambda **kw: STFTLoss(**kw),
        "mrstft": lambda **kw: MultiResolutionSTFTLoss(**kw),
        "mrstft-aw": lambda **kw: MultiResolutionSTFTLoss(perceptual_weighting=True, sample_rate=sr, **kw),
        "mrmel": lambda **kw: MultiResolutionMelLoss(sr, **kw),
        "msspec": lambda **kw: MultiScaleSpectralLoss(sr, **kw),
    }


@pytest.mark.parametrize("name", list(_all_losses()))
def test_zero_on_identical_reductions_and_monotone(rng, name):
    make = _all_losses()[name]
    y = 0.3 * torch.randn(3, 2, 2500, generator=rng)
    noise = torch.randn(3, 2, 2500, generator=rng)
    assert float(make()(y, y)) == pytest.approx(0.0, abs=1e-6)
    per_item = make(reduction="none")(y + 0.1 * noise, y)
    assert per_item.shape == (3,)
    torch.testing.assert_close(make()(y + 0.1 * noise, y), per_item.mean())
    torch.testing.assert_close(make(reduction="sum")(y + 0.1 * noise, y), per_item.sum())
    values = [float(make()(y + s * noise, y)) for s in (0.01, 0.1, 0.5)]
    assert values == sorted(values) and values[0] < values[-1]


def test_per_item_values_do_not_depend_on_the_batch(rng):
    x, y = torch.randn(4, 1, 3000, generator=rng), torch.randn(4, 1, 3000, generator=rng)
    loss = MultiResolutionMelLoss(16000, reduction="none")
    torch.testing.assert_close(loss(x, y)[1:3], loss(x[1:3], y[1:3]))


def test_defaults_follow_the_papers():
    mr = MultiResolutionSTFTLoss()
    assert [(r.n_fft, r.hop_length, r.win_length) for r in mr.resolutions] == [
        (1024, 120, 600), (2048, 240, 1200), (512, 50, 240)]
    dac = MultiResolutionMelLoss(44100)
    assert [r.win_length for r in dac.resolutions] == [32, 64, 128, 256, 512, 1024, 2048]
    assert [r.n_mels for r in dac.resolutions] == [5, 10, 20, 40, 80, 160, 320]
    assert [r.hop_length for r in dac.resolutions] == [8, 16, 32, 64, 128, 256, 512]
    ss = MultiScaleSpectralLoss(24000)
    assert [(r.win_length, r.hop_length, r.n_mels) for r in ss.resolutions] == [
        (s, s // 4, 64) for s in (64, 128, 256, 512, 1024, 2048)]
    assert [t.log_l2 for t in ss.terms] == pytest.approx([math.sqrt(s / 2) for s in (64, 128, 256, 512, 1024, 2048)])


def test_multiscale_closed_form_single_scale(rng):
    # one scale: L1 over mel bins (summed) + sqrt(s/2) * L2 over log-mel bins, averaged over frames
    x, y = torch.rand(1, 1, 2000, generator=rng, dtype=torch.float64), torch.rand(1, 1, 2000, generator=rng,
                                                                               dtype=torch.float64)
    loss = MultiScaleSpectralLoss(16000, window_lengths=(256,), n_mels=16, l2_eps=0.0).double()
    from earshot.dsp import MelSpectrogram
    mel = MelSpectrogram(16000, 256, 64, n_mels=16, power=1.0).double()
    sx, sy = mel(x).clamp_min(1e-5), mel(y).clamp_min(1e-5)
    l1 = (mel(x) - mel(y)).abs().sum(-2).mean()
    l2 = (sx.log() - sy.log()).square().sum(-2).sqrt().mean()
    assert float(loss(x, y)) == pytest.approx(float(l1 + math.sqrt(128) * l2), rel=1e-9)


def test_a_weighting_changes_the_loss_and_buffers_stay_put(rng):
    x, y = torch.randn(1, 1, 4000, generator=rng), torch.randn(1, 1, 4000, generator=rng)
    plain, weighted = MultiResolutionSTFTLoss(), MultiResolutionSTFTLoss(perceptual_weighting=True, sample_rate=16000)
    assert abs(float(plain(x, y)) - float(weighted(x, y))) > 1e-3
    assert weighted.state_dict() == {} and list(weighted.parameters()) == []
    before = [b for b in weighted.buffers()]
    weighted(x, y)
    assert all(a is b for a, b in zip(before, weighted.buffers()))


def test_errors():
    with pytest.raises(SampleRateError):
        MultiResolutionMelLoss(None)
    with pytest.raises(SampleRateError):
        MultiResolutionSTFTLoss(perceptual_weighting=True)
    with pytest.raises(SampleRateError):
        STFTLoss(n_mels=64)
    with pytest.raises(ShapeError):
        MultiResolutionSTFTLoss(sum_difference=True)(torch.zeros(1, 1, 1000), torch.zeros(1, 1, 1000))


def test_empty_mel_bands_are_finite(rng):
    # 128 mel bands on a 512-point FFT at 44.1 kHz leave some filters empty (auraloss gives NaN here)
    x = torch.randn(2, 1, 3000, generator=rng, requires_grad=True)
    value = STFTLoss(n_fft=512, hop_length=128, n_mels=128, sample_rate=44100)(x, torch.randn(2, 1, 3000, generator=rng))
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(x.grad).all()

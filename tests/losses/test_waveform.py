"""Waveform losses: analytic values, auraloss parity, invariances, reductions."""

from __future__ import annotations

import math

import auraloss
import pytest
import torch

from earshot.losses import ESRLoss, L1Loss, L2Loss, LogCoshLoss, SDSDRLoss, SISDRLoss, SNRLoss


def _sine(n=4000, freq=440.0, sr=16000, amp=0.5):
    return amp * torch.sin(2 * math.pi * freq * torch.arange(n, dtype=torch.float64) / sr)


def test_l1_l2_analytic():
    x = torch.tensor([[[0.0, 1.0, -1.0, 0.5]]])
    y = torch.zeros_like(x)
    assert float(L1Loss()(x, y)) == pytest.approx(2.5 / 4)
    assert float(L2Loss()(x, y)) == pytest.approx(2.25 / 4)


def test_snr_known_value(rng):
    y = _sine().reshape(1, 1, -1)
    noise = torch.randn(1, 1, y.shape[-1], generator=rng, dtype=torch.float64)
    noise = noise - noise.mean()
    noise = noise / noise.norm() * y.norm() / 10.0        # exactly 20 dB below the signal
    assert float(SNRLoss(eps=0.0).double()(y + noise, y)) == pytest.approx(-20.0, abs=1e-9)
    assert float(SNRLoss()(y + noise, y)) == pytest.approx(-20.0, abs=1e-4)


def test_si_sdr_of_scaled_copies_is_capped_and_scale_invariant(rng):
    y = _sine().reshape(1, 1, -1)
    yc = y - y.mean()
    for scale in (0.1, 1.0, 3.0):
        value = float(SISDRLoss().double()(scale * y, y))
        # perfect up to scale: the error is zero, so only the eps cap remains: -10 log10((|a y|^2 + eps) / eps)
        expected = -10 * math.log10((float((scale * yc).square().sum()) + 1e-8) / 1e-8)
        assert value == pytest.approx(expected, rel=1e-9) and value < -80
    noise = 0.05 * torch.randn(1, 1, y.shape[-1], generator=rng, dtype=torch.float64)
    a, b = SISDRLoss()(y + noise, y), SISDRLoss()(3.0 * (y + noise), y)
    torch.testing.assert_close(a, b)
    # SD-SDR punishes the scale: a 0.5x copy has SD-SDR 10 log10(0.25 / 0.25) = 0 dB
    assert float(SDSDRLoss(eps=0.0).double()(0.5 * y, y)) == pytest.approx(0.0, abs=1e-9)


def test_esr_and_logcosh_closed_form():
    y = _sine().reshape(1, 1, -1)
    assert float(ESRLoss(eps=0.0).double()(0.8 * y, y)) == pytest.approx(0.04, rel=1e-12)
    d = torch.tensor([[[0.0, 0.5, -2.0, 100.0]]], dtype=torch.float64)
    expected = torch.log(torch.cosh(d[..., :3])).sum() + (100.0 - math.log(2.0))
    assert float(LogCoshLoss().double()(d, torch.zeros_like(d))) == pytest.approx(float(expected) / 4, rel=1e-12)
    big = LogCoshLoss(a=10.0)(torch.full((1, 1, 4), 1e3), torch.zeros(1, 1, 4))
    assert torch.isfinite(big)


PAIRS = [
    (lambda: ESRLoss(), lambda: auraloss.time.ESRLoss()),
    (lambda: LogCoshLoss(), lambda: auraloss.time.LogCoshLoss()),
    (lambda: SNRLoss(), lambda: auraloss.time.SNRLoss()),
    (lambda: SISDRLoss(), lambda: auraloss.time.SISDRLoss()),
    (lambda: SDSDRLoss(), lambda: auraloss.time.SDSDRLoss()),
    (lambda: SNRLoss(zero_mean=False), lambda: auraloss.time.SNRLoss(zero_mean=False)),
]


@pytest.mark.parametrize("ours,theirs", PAIRS)
def test_auraloss_parity(rng, ours, theirs):
    x = 0.3 * torch.randn(3, 2, 2000, generator=rng)
    y = x + 0.1 * torch.randn(3, 2, 2000, generator=rng)
    torch.testing.assert_close(ours()(x, y), theirs()(x, y), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make", [L1Loss, L2Loss, ESRLoss, LogCoshLoss, SNRLoss, SISDRLoss, SDSDRLoss])
def test_reductions_and_monotone(rng, make):
    y = 0.5 * torch.randn(4, 3, 1000, generator=rng)
    noise = torch.randn(4, 3, 1000, generator=rng)
    per_item = make(reduction="none")(y + 0.1 * noise, y)
    assert per_item.shape == (4,)
    torch.testing.assert_close(make()(y + 0.1 * noise, y), per_item.mean())
    torch.testing.assert_close(make(reduction="sum")(y + 0.1 * noise, y), per_item.sum())
    values = [float(make()(y + s * noise, y)) for s in (0.01, 0.05, 0.2, 0.5)]
    assert values == sorted(values) and values[0] < values[-1]


@pytest.mark.parametrize("make", [SNRLoss, SISDRLoss, SDSDRLoss])
def test_ratio_losses_on_silence_dc_and_one_sample_have_values_and_gradients(make, rng):
    """Issue 18: no constant 80 dB with a zero gradient. A silent (or DC, or one-sample: zero after
    removing the mean) target gives 10 log10(1 + |x|^2 / eps), which pulls the estimate to silence."""
    eps = 1e-8
    noise = 0.01 * torch.randn(1, 1, 400, generator=rng, dtype=torch.float64)
    for target in (torch.zeros(1, 1, 400, dtype=torch.float64), torch.full((1, 1, 400), 0.3, dtype=torch.float64)):
        x = (target + noise).requires_grad_()
        value = make(eps=eps).double()(x, target)
        xc = noise - noise.mean()
        assert float(value.detach()) == pytest.approx(10 * math.log10(1 + float(xc.square().sum()) / eps), rel=1e-9)
        value.backward()
        # the gradient is that of 10 log10(|x_c|^2 + eps): 20 / ln 10 * x_c / (|x_c|^2 + eps)
        expected = 20 / math.log(10) * xc / (xc.square().sum() + eps)
        torch.testing.assert_close(x.grad, expected)
        both_silent = make(eps=eps)(target.float(), target.float())
        assert float(both_silent) == pytest.approx(0.0, abs=1e-3)   # float32 rounding of the mean
    one = torch.tensor([[[0.5]]], requires_grad=True)
    value = make(zero_mean=False)(one, torch.tensor([[[0.25]]]))
    value.backward()
    assert torch.isfinite(value) and float(one.grad.abs()) > 0

"""The fused spectral distance equals a plain-autograd reference (values and gradients, float64)."""

from __future__ import annotations

import pytest
import torch

from earshot.dsp import DistanceTerms, make_window, mel_filterbank, spectral_distance
from earshot.errors import ConfigError


def _reference(x, y, n_fft, hop, win, terms, items, fb=None):
    spec = torch.stft(torch.cat([x, y]), n_fft, hop, win_length=win.shape[0], window=win, center=True,
                      pad_mode="reflect", return_complex=True)
    power = spec.real**2 + spec.imag**2
    mag = power.clamp_min(terms.power_eps).sqrt()
    s = mag if fb is None else torch.matmul(fb, mag)
    r = x.shape[0]
    sx, sy = s[:r].reshape(items, -1), s[r:].reshape(items, -1)
    lx, ly = s[:r].clamp_min(terms.log_floor).log(), s[r:].clamp_min(terms.log_floor).log()
    e = lx - ly
    loss = terms.sc * (sx - sy).norm(dim=1) / sy.norm(dim=1)
    loss = loss + terms.lin_l1 * (sx - sy).abs().mean(1) + terms.lin_mse * (sx - sy).square().mean(1)
    loss = loss + terms.log_l1 * e.reshape(items, -1).abs().mean(1)
    loss = loss + terms.log_mse * e.reshape(items, -1).square().mean(1)
    frame_norm = (e.square().sum(-2) + terms.l2_eps).sqrt() - terms.l2_eps**0.5
    return loss + terms.log_l2 * frame_norm.reshape(items, -1).mean(1)


TERMS = [DistanceTerms(sc=1.0, log_l1=1.0),
         DistanceTerms(sc=0.5, lin_l1=2.0, log_l1=1.0, log_l2=0.3, log_floor=1e-3),
         DistanceTerms(log_mse=0.7, lin_mse=0.2, power_eps=1e-6)]


@pytest.mark.parametrize("terms", TERMS)
@pytest.mark.parametrize("mel", [False, True])
@pytest.mark.parametrize("n_fft,hop,win", [(64, 16, 40), (63, 10, 63)])
def test_matches_autograd_reference(rng, terms, mel, n_fft, hop, win):
    x = torch.randn(6, 300, generator=rng, dtype=torch.float64, requires_grad=True)
    y = torch.randn(6, 300, generator=rng, dtype=torch.float64, requires_grad=True)
    window = make_window("hann", win, dtype=torch.float64)
    fb = mel_filterbank(sample_rate=16000, n_fft=n_fft, n_mels=8, dtype=torch.float64) if mel else None
    ours = spectral_distance(x, y, n_fft=n_fft, hop_length=hop, window=window, terms=terms, items=3, filterbank=fb)
    ref = _reference(x, y, n_fft, hop, window, terms, 3, fb)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    weights = torch.randn(3, generator=rng, dtype=torch.float64)
    for a, b in zip(torch.autograd.grad(ours, (x, y), weights), torch.autograd.grad(ref, (x, y), weights)):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_gradcheck_and_only_requested_gradients(rng):
    x = torch.randn(2, 40, generator=rng, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 40, generator=rng, dtype=torch.float64)
    window = make_window("hann", 16, dtype=torch.float64)
    terms = DistanceTerms(sc=1.0, log_l1=0.5, lin_mse=0.1)

    def fn(a):
        return spectral_distance(a, y, n_fft=16, hop_length=4, window=window, terms=terms, items=2)

    assert torch.autograd.gradcheck(fn, (x,))
    fn(x).sum().backward()
    assert y.grad is None


def test_clamped_bins_get_no_gradient():
    x = torch.zeros(1, 200, dtype=torch.float64, requires_grad=True)
    y = torch.randn(1, 200, dtype=torch.float64)
    d = spectral_distance(x, y, n_fft=32, hop_length=8, window=make_window("hann", 32, dtype=torch.float64),
                          terms=DistanceTerms(sc=1.0, log_l1=1.0), items=1)
    d.backward()
    assert torch.equal(x.grad, torch.zeros_like(x))


def test_config_errors():
    with pytest.raises(ConfigError):
        DistanceTerms(sc=-1.0)
    with pytest.raises(ConfigError):
        DistanceTerms(log_l1=1.0, power_eps=0.0, log_floor=0.0)
    with pytest.raises(ConfigError):
        spectral_distance(torch.zeros(3, 10), torch.zeros(3, 10), n_fft=8, hop_length=2,
                          window=make_window("hann", 8), terms=DistanceTerms(sc=1.0), items=2)


def _fn(terms, filterbank=None, n_fft=16, hop=4, items=2):
    window = make_window("hann", n_fft, dtype=torch.float64)
    return lambda a, b: spectral_distance(a, b, n_fft=n_fft, hop_length=hop, window=window, terms=terms,
                                          items=items, filterbank=filterbank)


@pytest.mark.parametrize("terms", [DistanceTerms(sc=1.0, log_l1=0.5, lin_l1=0.2, power_eps=1e-6),
                                   DistanceTerms(lin_l1=2.0, log_l2=1.5, log_mse=0.3, lin_mse=0.1, log_floor=1e-5)])
def test_double_backward_matches_finite_differences(terms, rng):
    """Second derivatives (gradient penalties, meta-learning) are exact: gradgradcheck in float64."""
    from earshot.dsp.mel import mel_filterbank

    fb = mel_filterbank(sample_rate=16000, n_fft=16, n_mels=4, dtype=torch.float64) if terms.log_l2 else None
    x = torch.randn(2, 48, generator=rng, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 48, generator=rng, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(_fn(terms, fb), (x, y), fast_mode=True)


def test_gradient_penalty_equals_eager_autograd(rng):
    """A gradient penalty ``d/dx |d loss/dx|^2`` through the fused node equals plain autograd's."""
    from earshot.dsp.spectral_distance import _eager_distance
    from earshot.dsp.stft import center_pad, pad_window

    terms = DistanceTerms(sc=1.0, log_l1=1.0, power_eps=1e-8)
    y = torch.randn(2, 300, generator=rng, dtype=torch.float64)
    x0 = y + 0.3 * torch.randn(2, 300, generator=rng, dtype=torch.float64)
    window = make_window("hann", 64, dtype=torch.float64)

    def penalty_grad(distance):
        x = x0.clone().requires_grad_()
        (g,) = torch.autograd.grad(distance(x).sum(), x, create_graph=True)
        return torch.autograd.grad(g.square().sum(), x)[0]

    fused = penalty_grad(lambda x: spectral_distance(x, y, n_fft=64, hop_length=16, window=window, terms=terms, items=2))
    eager = penalty_grad(lambda x: _eager_distance(center_pad(x, 64), center_pad(y, 64), pad_window(window, 64),
                                                      None, 64, 16, terms, 2))
    torch.testing.assert_close(fused, eager)
    assert float(fused.abs().max()) > 0


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_inputs_are_computed_in_float32(dtype, rng):
    x = torch.randn(2, 400, generator=rng).to(dtype).requires_grad_()
    y = torch.randn(2, 400, generator=rng).to(dtype)
    window, terms = make_window("hann", 64), DistanceTerms(sc=1.0, log_l1=1.0, power_eps=1e-8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        d = spectral_distance(x, y, n_fft=64, hop_length=16, window=window, terms=terms, items=2)
    ref = spectral_distance(x.detach().float(), y.float(), n_fft=64, hop_length=16, window=window, terms=terms, items=2)
    assert d.dtype == torch.float32
    torch.testing.assert_close(d.detach(), ref)
    d.sum().backward()
    assert x.grad.dtype == dtype and torch.isfinite(x.grad).all()


def test_eager_path_equals_the_fused_node(rng):
    """The plain-ops path that torch.compile traces gives the fused node's value and gradient."""
    from earshot.dsp.spectral_distance import _eager_distance
    from earshot.dsp.mel import mel_filterbank
    from earshot.dsp.stft import center_pad, pad_window

    fb = mel_filterbank(sample_rate=16000, n_fft=64, n_mels=8)
    terms = DistanceTerms(sc=1.0, log_l1=1.0, lin_l1=0.5, log_l2=0.3, power_eps=1e-8, log_floor=1e-6)
    y = torch.randn(2, 500, generator=rng)
    x1 = (y + 0.2 * torch.randn(2, 500, generator=rng)).requires_grad_()
    x2 = x1.detach().clone().requires_grad_()
    a = spectral_distance(x1, y, n_fft=64, hop_length=16, window=make_window("hann", 48), terms=terms, items=1,
                          filterbank=fb)
    b = _eager_distance(center_pad(x2, 64), center_pad(y, 64), pad_window(make_window("hann", 48), 64), fb, 64, 16,
                           terms, 1)
    torch.testing.assert_close(a, b)
    a.sum().backward()
    b.sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-4, atol=1e-7)


def test_saved_spectrum_path_matches_recomputation_and_survives_a_second_backward(rng, monkeypatch):
    """The CUDA path (x's spectrum saved in the forward pass) on the CPU: same gradients, twice."""
    import importlib

    engine = importlib.import_module("earshot.dsp.spectral_distance")   # the package re-exports the function's name

    x = torch.randn(4, 300, generator=rng, dtype=torch.float64, requires_grad=True)
    y = torch.randn(4, 300, generator=rng, dtype=torch.float64, requires_grad=True)
    window = make_window("hann", 64, dtype=torch.float64)
    terms = DistanceTerms(sc=1.0, log_l1=1.0)

    def grads(retain=False):
        loss = spectral_distance(x, y, n_fft=64, hop_length=16, window=window, terms=terms, items=2).sum()
        return torch.autograd.grad(loss, (x, y), retain_graph=retain), loss

    expected, _ = grads()
    monkeypatch.setattr(engine, "_keeps_spectrum", lambda t: True)
    (gx, gy), loss = grads(retain=True)
    again = torch.autograd.grad(loss, (x, y))
    for got in ((gx, gy), again):
        for a, b in zip(got, expected):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)

"""CodecLoss: frozen emulator, terms, shapes, gradients; shipped weights' behaviour and regression."""

from __future__ import annotations

import math

import pytest
import torch

from earshot.errors import ConfigError, ShapeError
from earshot.losses.codec import CodecLoss
from earshot.models.emulator import SpectralEmulator, TimeEmulator


def tiny(kind: str):
    torch.manual_seed(0)
    net = SpectralEmulator(base_filters=4, max_filters=16) if kind == "spectral" else TimeEmulator(levels=4, filters=4)
    for p in net.parameters():  # leave the identity start, so every term is non-trivial
        torch.nn.init.normal_(p, std=0.1)
    return net.eval()


@pytest.fixture(scope="module")
def shipped():
    return {kind: CodecLoss(kind, sample_rate=16000) for kind in ("spectral", "time")}


def band_noise(lo: float, hi: float, *, seconds: float = 1.0, rate: int = 16000, seed: int = 0) -> torch.Tensor:
    """Unit-RMS noise band-limited to [lo, hi] Hz, ``(1, 1, samples)``."""
    n = int(seconds * rate)
    spec = torch.fft.rfft(torch.randn(n, generator=torch.Generator().manual_seed(seed)))
    f = torch.fft.rfftfreq(n, 1 / rate)
    x = torch.fft.irfft(spec * ((f >= lo) & (f <= hi)), n)
    return (x / x.pow(2).mean().sqrt()).reshape(1, 1, n)


def speechlike(seconds: float = 1.0, rate: int = 16000) -> torch.Tensor:
    """A harmonic tone (150 Hz, partials to 4 kHz) with a syllable-rate envelope, ``(1, 1, samples)``."""
    t = torch.arange(int(seconds * rate)) / rate
    tone = sum(torch.sin(2 * math.pi * 150 * k * t) / k for k in range(1, 27))
    return (0.1 * tone * (0.6 + 0.4 * torch.sin(2 * math.pi * 4 * t))).reshape(1, 1, -1)


@pytest.mark.parametrize("kind", ["spectral", "time"])
def test_zero_on_identical_and_no_parameters(kind, rng):
    loss = CodecLoss(tiny(kind), waveform_weight=1.0, feature_weight=1.0)
    x = 0.2 * torch.randn(2, 1, 4000, generator=rng)
    assert loss(x, x.clone()).item() == 0.0
    assert list(loss.parameters()) == [] and loss.state_dict() == {}
    assert not loss.emulator.training and all(not p.requires_grad for p in loss.emulator.parameters())
    loss.train()
    assert not loss.emulator.training


@pytest.mark.parametrize("kind", ["spectral", "time"])
def test_gradients_reach_input_never_emulator(kind, rng):
    loss = CodecLoss(tiny(kind), feature_weight=1.0)
    x = (0.2 * torch.randn(2, 1, 4000, generator=rng)).requires_grad_()
    y = 0.2 * torch.randn(2, 1, 4000, generator=rng)
    loss(x, y).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss.emulator.parameters())


@pytest.mark.parametrize("kind", ["spectral", "time"])
def test_finite_on_silence_dc_and_clipping(kind, signals):
    loss = CodecLoss(tiny(kind), waveform_weight=0.5, feature_weight=1.0)
    for name, sig in signals.items():
        sig = sig[..., :3000]
        for other in (sig, torch.zeros_like(sig)):
            x = sig.clone().requires_grad_()
            value = loss(x, other)
            value.backward()
            assert torch.isfinite(value), name
            assert torch.isfinite(x.grad).all(), name


def test_reductions_channels_and_batch_equivalence(rng):
    loss = CodecLoss(tiny("spectral"), reduction="none", feature_weight=1.0)
    x = 0.2 * torch.randn(3, 2, 3000, generator=rng)
    y = 0.2 * torch.randn(3, 2, 3000, generator=rng)
    per_item = loss(x, y)
    assert per_item.shape == (3,)
    # channels are folded into the batch and averaged: item = mean of its channels scored alone
    alone = torch.stack([loss(x[:, c:c + 1], y[:, c:c + 1]) for c in range(2)]).mean(0)
    assert torch.allclose(per_item, alone, rtol=1e-5, atol=1e-7)
    total = CodecLoss(tiny("spectral"), reduction="sum", feature_weight=1.0)(x, y)
    assert torch.allclose(total, per_item.sum(), rtol=1e-5)
    assert torch.allclose(CodecLoss(tiny("spectral"), feature_weight=1.0)(x, y), per_item.mean(), rtol=1e-5)


def test_terms_and_weights(rng):
    net = tiny("spectral")
    x = 0.2 * torch.randn(2, 1, 4000, generator=rng)
    y = 0.2 * torch.randn(2, 1, 4000, generator=rng)
    t = CodecLoss(net, waveform_weight=2.0, prediction_weight=3.0, feature_weight=0.5).terms(x, y)
    assert torch.allclose(t.total, 3.0 * t.prediction + 0.5 * t.features + 2.0 * t.waveform)
    assert torch.allclose(t.waveform, (x - y).abs().mean(dim=(1, 2)))
    assert torch.allclose(t.features, sum(t.layers.values()) / len(t.layers))
    shallow = CodecLoss(net, layers="shallow", prediction_weight=0, feature_weight=1).terms(x, y)
    assert list(shallow.layers) == ["enc1", "enc2"] and torch.equal(shallow.prediction, torch.zeros(2))
    for name in ("enc1", "enc2"):
        assert torch.allclose(shallow.layers[name], t.layers[name])
    chosen = CodecLoss(net, layers=["enc3", "dec1"], layer_weights={"enc3": 2.0, "dec1": 0.0},
                       feature_weight=1).terms(x, y)
    assert torch.allclose(chosen.features, 2.0 * t.layers["enc3"])
    raw = CodecLoss(net, layers=["enc1"], layer_norm="none", feature_weight=1).terms(x, y)
    fx, fy = net.features(x), net.features(y)
    expected = (fx.activations["enc1"] - fy.activations["enc1"]).abs().mean(dim=(1, 2, 3))
    assert torch.allclose(raw.features, expected, rtol=1e-5)
    assert torch.allclose(t.prediction, (fx.output - fy.output).abs().mean(dim=(1, 2, 3)), rtol=1e-5)


def test_resamples_other_rates(rng):
    """At 32 kHz the loss equals the 16 kHz loss of the resampled signals."""
    from earshot.dsp.resample import resample

    net = tiny("spectral")
    x = 0.2 * torch.randn(1, 1, 8000, generator=rng)
    y = 0.2 * torch.randn(1, 1, 8000, generator=rng)
    at32 = CodecLoss(net, sample_rate=32000, feature_weight=1.0)(x, y)
    at16 = CodecLoss(net, sample_rate=16000, feature_weight=1.0)(resample(x, 32000, 16000), resample(y, 32000, 16000))
    assert torch.allclose(at32, at16, rtol=1e-5)


def test_bad_arguments():
    net = tiny("time")
    with pytest.raises(ConfigError):
        CodecLoss(net, layers="middle")
    with pytest.raises(ConfigError):
        CodecLoss(net, layers=["enc99"])
    with pytest.raises(ConfigError):
        CodecLoss(net, layers="shallow", layer_weights=[1.0])
    with pytest.raises(ConfigError):
        CodecLoss(net, reduction="max")
    with pytest.raises(ShapeError):
        CodecLoss(net)(torch.zeros(1, 1, 100), torch.zeros(1, 1, 101))


@pytest.mark.parametrize("kind", ["spectral", "time"])
def test_shipped_removed_band_costs_less_than_passband(kind, shipped):
    """Noise above the 16 kbps MP3 cutoff (LAME low-passes at ~5.5 kHz) is removed by the codec,
    so the default loss per unit of L1 is far smaller than for the same noise energy at 1-2 kHz
    (measured: 0.05x spectral, 0.02x time)."""
    loss, x = shipped[kind], speechlike()
    ratios = {}
    for name, (lo, hi) in {"removed": (6500, 7800), "passband": (1000, 2000)}.items():
        noisy = x + 0.01 * band_noise(lo, hi)
        ratios[name] = loss(noisy, x).item() / (noisy - x).abs().mean().item()
    assert ratios["removed"] < 0.25 * ratios["passband"], ratios


def test_shipped_regression_values(shipped):
    """Fixed input -> stored values of the shipped emulators (update only when re-training)."""
    x, y = speechlike(0.5), 0.9 * speechlike(0.5) + 0.01 * band_noise(500, 3000, seconds=0.5)
    values = {}
    for kind, loss in shipped.items():
        values[kind] = loss(x, y).item()
        paper = CodecLoss(loss.emulator, feature_weight=1.0, waveform_weight=1.0)
        values[f"{kind}-paper"] = paper(x, y).item()
    assert values == pytest.approx(REGRESSION, rel=1e-3), values


def test_registry_builds_codec_loss():
    from earshot.losses.registry import build_loss

    loss = build_loss("codec(emulator='time', layers='shallow')", sample_rate=44100)
    x = 0.1 * torch.randn(1, 2, 4410)
    assert torch.isfinite(loss(x, 0.5 * x))


REGRESSION = {"spectral": 0.0458816, "time": 0.00867712, "spectral-paper": 0.291015, "time-paper": 0.0216065}

"""Shapes and invariants of the codec emulators and the paper's autoencoder (untrained, tiny)."""

from __future__ import annotations

import pytest
import torch

from earshot.errors import ConfigError, ShapeError
from earshot.models.autoencoder import ConvAutoencoder
from earshot.models.emulator import SpectralEmulator, TimeEmulator, emulator_accuracy


def tiny_spectral(**kw):
    return SpectralEmulator(base_filters=4, max_filters=16, **kw).eval()


def tiny_time(**kw):
    return TimeEmulator(levels=4, filters=4, **kw).eval()


@pytest.mark.parametrize("samples", [100, 512, 8000, 8001])
def test_spectral_shapes_and_range(samples, rng):
    net = tiny_spectral()
    x = 0.3 * torch.randn(3, 1, samples, generator=rng)
    feats = net.features(x)
    frames = samples // 512 + 1
    assert feats.output.shape == (3, 1, 513, frames)
    assert 0 <= feats.output.min() and feats.output.max() <= 1
    assert list(feats.activations) == net.layer_names
    assert feats.activations["enc1"].shape[:3] == (3, 4, 256)
    assert feats.activations["enc5"].shape[1] == 16  # capped by max_filters


@pytest.mark.parametrize("frequency_channel", [False, True])
def test_spectral_untrained_is_identity(rng, frequency_channel):
    """The last layer starts at zero, so the prediction is the input's own representation."""
    net = tiny_spectral(frequency_channel=frequency_channel)
    assert net.down[0][0].in_channels == (2 if frequency_channel else 1)
    x = 0.3 * torch.randn(2, 1, 4000, generator=rng)
    z = net.represent(x)
    y = net(x)
    assert torch.allclose(y[:, :, :512], z[:, :, :512].clamp(1e-4, 1 - 1e-4), atol=1e-6)


def test_spectral_normalisation_round_trip_and_reference():
    net = tiny_spectral()
    mag = torch.tensor([0.0, 1e-3, 1.0, 256.0, 3000.0])
    assert torch.allclose(net.denormalize(net.normalize(mag)), mag, rtol=1e-4, atol=1e-6)
    assert net.normalize(torch.zeros(1)).item() == pytest.approx(0.0, abs=1e-7)
    # A full-scale sine (peak magnitude window.sum() / 2 = 256) sits at 0 dB.
    assert net.to_db(torch.tensor([256.0])).item() == pytest.approx(0.0, abs=1e-3)


def test_early_stop_matches_full_run(rng):
    x = 0.3 * torch.randn(2, 1, 4096, generator=rng)
    for net in (tiny_spectral(), tiny_time()):
        full = net.features(x)
        part = net.features(x, layers=["enc1", "enc2"], output=False)
        assert set(part.activations) == {"enc1", "enc2"} and part.output is None
        for name, act in part.activations.items():
            assert torch.equal(act, full.activations[name])


@pytest.mark.parametrize("samples", [1, 300, 4096, 5000])
def test_time_shapes_identity_and_names(samples, rng):
    net = tiny_time()
    x = 0.5 * torch.randn(2, 1, samples, generator=rng).clamp(-0.99, 0.99)
    feats = net.features(x)
    assert feats.output.shape == x.shape
    assert torch.allclose(feats.output, x, atol=1e-5)  # zero-initialised output layer
    assert list(feats.activations) == net.layer_names
    assert net.layer_names[:4] == net.encoder_layers and "bottleneck" in net.layer_names
    assert feats.activations["enc2"].shape[-1] == feats.activations["enc1"].shape[-1] // 2


def test_emulators_reject_multichannel():
    with pytest.raises(ShapeError):
        tiny_spectral()(torch.zeros(1, 2, 1000))
    with pytest.raises(ShapeError):
        tiny_time()(torch.zeros(1, 2, 1000))


def test_spectral_config_errors():
    with pytest.raises(ConfigError):
        SpectralEmulator(n_fft=1000)
    with pytest.raises(ConfigError):
        SpectralEmulator(floor_db=0, top_db=-10)


def test_paper_sizes():
    """Paper defaults: C^S 5 levels from 32 filters doubling; C^T 8 levels of 32 filters."""
    s = SpectralEmulator()
    assert [blk[0].out_channels for blk in s.down] == [32, 64, 128, 256, 512]
    assert s.down[0][0].kernel_size == (5, 5) and s.down[0][0].stride == (2, 2)
    t = TimeEmulator()
    assert len(t.down) == 8 and t.down[0][0].kernel_size == (15,) and t.up[0][0].kernel_size == (9,)


@pytest.mark.parametrize("samples", [16000, 999])
def test_autoencoder_shapes(samples, rng):
    net = ConvAutoencoder()
    convs = [m for m in net.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.ConvTranspose1d))]
    assert len(convs) == 8 and all(c.kernel_size == (9,) for c in convs)
    x = 0.5 * torch.randn(2, 1, samples, generator=rng)
    code = net.encode(x)
    assert code.shape == (2, 1, (samples + 1) // 2)  # half the input size
    y = net(x)
    assert y.shape == x.shape and y.abs().max() < 1
    y.pow(2).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())


def test_autoencoder_config_error():
    with pytest.raises(ConfigError):
        ConvAutoencoder(layers=5)


class Fixed(torch.nn.Module):
    """A stand-in "emulator" that outputs a given waveform."""

    sample_rate = 16000

    def __init__(self, out):
        super().__init__()
        self.out = out

    def forward(self, x):
        return self.out


def test_accuracy_measure_end_points(rng):
    """E is 1 for a perfect emulator, 0 for one that returns its input; LSD matches."""
    x = 0.3 * torch.randn(2, 1, 8000, generator=rng)
    coded = torch.fft.irfft(torch.fft.rfft(x) * (torch.fft.rfftfreq(8000) < 0.3), 8000)  # a low-pass "codec"
    perfect = emulator_accuracy(Fixed(coded), x, coded)
    assert torch.allclose(perfect.explained, torch.ones(2)) and torch.allclose(perfect.lsd_emulated, torch.zeros(2))
    assert (perfect.mel_input > 1).all() and (perfect.lsd_input > 1).all()
    identity = emulator_accuracy(tiny_time(), x.clamp(-0.99, 0.99), coded)
    assert torch.allclose(identity.explained, torch.zeros(2), atol=1e-3)
    assert torch.allclose(identity.lsd_emulated, identity.lsd_input, rtol=1e-3)
    spectral = emulator_accuracy(tiny_spectral(), x, coded)  # identity up to the logit clamp
    assert torch.allclose(spectral.explained, torch.zeros(2), atol=0.02)

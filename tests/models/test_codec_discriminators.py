"""Discriminator output shapes and feature maps; gradients reach the input."""

import torch

from earshot.models.discriminators import (
    CombinedDiscriminator, MultiScaleWaveformDiscriminator, STFTDiscriminator, WaveformDiscriminator,
)


def test_waveform_discriminator_scales_and_features():
    disc = MultiScaleWaveformDiscriminator(channels=4, max_channels=32)
    outs = disc(torch.randn(2, 1, 4096))
    assert len(outs) == 3
    # k41/s4/p20 convs: 4096 -> 1024 -> 256 -> 64 -> 16 at scale 1; pooling halves per scale
    assert [o.logits.shape for o in outs] == [(2, 1, 16), (2, 1, 8), (2, 1, 4)]
    assert [f.shape[1] for f in outs[0].features] == [4, 16, 32, 32, 32, 32]
    assert outs[0].features[0].shape[-1] == 4096 and outs[1].features[0].shape[-1] == 2048


def test_paper_sized_waveform_discriminator_widths():
    disc = WaveformDiscriminator()
    assert [layer.out_channels for layer in disc.layers] == [16, 64, 256, 1024, 1024, 1024]
    assert [layer.groups for layer in disc.layers] == [1, 4, 16, 64, 256, 1]


def test_stft_discriminator_input_and_shapes():
    disc = STFTDiscriminator(channels=4)
    x = torch.randn(2, 1, 8192)
    spec = disc.spectrogram(x)
    assert spec.shape == (2, 2, 513, 33)
    ref = torch.stft(x[:, 0], 1024, 256, window=torch.hann_window(1024), return_complex=True)
    assert torch.allclose(spec[:, 0], ref.real) and torch.allclose(spec[:, 1], ref.imag)
    out = disc(x)
    # frequency halves per block: 513 257 129 65 33 17 9, then the head spans the 9 bins
    assert [f.shape[2] for f in out.features] == [513, 257, 129, 65, 33, 17, 9]
    assert [f.shape[1] for f in out.features] == [4, 8, 16, 16, 32, 32, 64]
    assert out.logits.shape == (2, 1, 1, out.features[-1].shape[-1])


def test_combined_discriminator_and_gradients():
    disc = CombinedDiscriminator(wave=MultiScaleWaveformDiscriminator(channels=2, max_channels=8),
                                 stft=STFTDiscriminator(channels=2))
    x = torch.randn(1, 1, 2048, requires_grad=True)
    outs = disc(x)
    assert len(outs) == 4
    sum(o.logits.sum() for o in outs).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0

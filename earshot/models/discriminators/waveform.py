"""Multi-scale waveform discriminator (MelGAN, Kumar et al. 2019; SoundStream Sec. III-E).

Three identical conv stacks look at the waveform at 1x, 1/2x and 1/4x its sample rate
(average pooling between scales). Each returns per-frame logits and its intermediate feature
maps (for the feature-matching loss).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from earshot.validate import check_audio


@dataclass
class DiscriminatorOutput:
    """One discriminator's verdict on a batch.

    Attributes:
        logits: ``(B, 1, ...)`` unnormalised real/fake scores (time or time-frequency map).
        features: intermediate activations, each ``(B, channels, ...)``.
    """

    logits: torch.Tensor
    features: list[torch.Tensor]


class WaveformDiscriminator(nn.Module):
    """One MelGAN discriminator on ``(B, 1, T)``: conv (k15), grouped strided convs (k41, s4), convs.

    Args:
        channels: width of the first conv (MelGAN: 16); x4 per downsampling layer.
        max_channels: cap of the widths (MelGAN: 1024).
        n_downsample: strided grouped convs (MelGAN: 4).
        slope: LeakyReLU negative slope.
    """

    def __init__(self, channels: int = 16, *, max_channels: int = 1024, n_downsample: int = 4, slope: float = 0.2):
        super().__init__()
        layers = [weight_norm(nn.Conv1d(1, channels, 15, padding=7))]
        width = channels
        for _ in range(n_downsample):
            out = min(width * 4, max_channels)
            groups = max(1, width // 4)
            layers.append(weight_norm(nn.Conv1d(width, out, 41, stride=4, padding=20, groups=groups)))
            width = out
        layers.append(weight_norm(nn.Conv1d(width, width, 5, padding=2)))
        self.layers = nn.ModuleList(layers)
        self.head = weight_norm(nn.Conv1d(width, 1, 3, padding=1))
        self.act = nn.LeakyReLU(slope)

    def forward(self, audio: torch.Tensor) -> DiscriminatorOutput:
        features, x = [], audio
        for layer in self.layers:
            x = self.act(layer(x))
            features.append(x)
        return DiscriminatorOutput(logits=self.head(x), features=features)


class MultiScaleWaveformDiscriminator(nn.Module):
    """``n_scales`` :class:`WaveformDiscriminator`s on the waveform average-pooled by 1, 2, 4, ...

    ``forward((B, 1, T))`` -> list of :class:`DiscriminatorOutput`, one per scale.
    """

    def __init__(self, n_scales: int = 3, **kwargs):
        super().__init__()
        self.discriminators = nn.ModuleList(WaveformDiscriminator(**kwargs) for _ in range(n_scales))
        self.pool = nn.AvgPool1d(4, stride=2, padding=1, count_include_pad=False)

    def forward(self, audio: torch.Tensor) -> list[DiscriminatorOutput]:
        check_audio(audio, "audio")
        outputs = []
        for i, disc in enumerate(self.discriminators):
            if i:
                audio = self.pool(audio)
            outputs.append(disc(audio))
        return outputs


class CombinedDiscriminator(nn.Module):
    """Several discriminators as one: ``forward(audio)`` concatenates their output lists.

    Each member returns a :class:`DiscriminatorOutput` or a list of them.
    """

    def __init__(self, **discriminators: nn.Module):
        super().__init__()
        self.members = nn.ModuleDict(discriminators)

    def forward(self, audio: torch.Tensor) -> list[DiscriminatorOutput]:
        outputs = []
        for disc in self.members.values():
            out = disc(audio)
            outputs.extend(out if isinstance(out, list) else [out])
        return outputs

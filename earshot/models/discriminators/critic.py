"""DCGAN-style Wasserstein critics on source spectrograms (Stoller, Ewert & Dixon, ICASSP 2018).

One critic per source judges whether a ``log1p`` magnitude spectrogram excerpt ``(B, 1, F, N)``
looks like a real recording of that source: ``layers`` 4x4 convs of stride 2 (padding 1, so
each halves both axes), LeakyReLU 0.2, no normalisation (WGAN-GP penalises per-sample
gradients, which batch norm would mix), then a dense layer to one unbounded score.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from earshot.errors import ConfigError, ShapeError


class SpectrogramCritic(nn.Module):
    """Critic ``(B, 1, freq_bins, frames)`` -> scores ``(B,)`` (higher = more like real).

    Args:
        freq_bins, frames: the input size (fixed: the dense layer sees every position).
        channels: filters of the first conv, doubling per layer up to ``max_channels``.
        layers: number of 4x4 stride-2 convs.
        slope: LeakyReLU negative slope.
    """

    def __init__(self, freq_bins: int = 257, frames: int = 32, *, channels: int = 16, layers: int = 4,
                 max_channels: int = 256, slope: float = 0.2):
        super().__init__()
        if layers < 1 or freq_bins < 2 ** layers or frames < 2 ** layers:
            raise ConfigError(f"a critic of {layers} stride-2 layers needs at least {2 ** layers} bins and "
                              f"frames, got {freq_bins} x {frames}")
        self.freq_bins, self.frames = int(freq_bins), int(frames)
        convs, cin, f, n = [], 1, freq_bins, frames
        for i in range(layers):
            cout = min(max_channels, channels * 2 ** i)
            convs += [nn.Conv2d(cin, cout, 4, stride=2, padding=1), nn.LeakyReLU(slope)]
            cin, f, n = cout, f // 2, n // 2
        self.convs = nn.Sequential(*convs)
        self.dense = nn.Linear(cin * f * n, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, self.freq_bins, self.frames):
            raise ShapeError(f"critic input must be (batch, 1, {self.freq_bins}, {self.frames}), got {tuple(x.shape)}")
        return self.dense(self.convs(x).flatten(1)).squeeze(1)


class SourceCritics(nn.Module):
    """One :class:`SpectrogramCritic` per source: ``(B, K, F, N)`` -> scores ``(B, K)``.

    ``critic(name)`` returns a source's critic (e.g. for its gradient penalty).
    """

    def __init__(self, sources: Sequence[str] = ("vocals", "accompaniment"), freq_bins: int = 257,
                 frames: int = 32, *, channels: int = 16, layers: int = 4, max_channels: int = 256,
                 slope: float = 0.2):
        super().__init__()
        if not sources:
            raise ConfigError("SourceCritics needs at least one source")
        self.sources = tuple(sources)
        self.critics = nn.ModuleDict({
            name: SpectrogramCritic(freq_bins, frames, channels=channels, layers=layers,
                                    max_channels=max_channels, slope=slope)
            for name in self.sources})

    def critic(self, name: str) -> SpectrogramCritic:
        if name not in self.critics:
            raise ConfigError(f"no critic for source {name!r}; sources: {', '.join(self.sources)}")
        return self.critics[name]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != len(self.sources):
            raise ShapeError(f"input must be (batch, {len(self.sources)}, freq, frames), got {tuple(x.shape)}")
        return torch.stack([self.critics[n](x[:, k:k + 1]) for k, n in enumerate(self.sources)], dim=1)


__all__ = ["SourceCritics", "SpectrogramCritic"]

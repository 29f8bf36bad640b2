"""Feature networks for style transfer and texture synthesis on log-magnitude spectrograms.

Both networks read a log-magnitude spectrogram ``(batch, freq, frames)`` with the frequency bins
as channels and convolve over time only, so their activations ``(batch, channels, frames)`` have
a time axis for Gram matrices ("Gram over time").

- `SpectrogramAutoencoder`: trained to reconstruct log spectrograms of speech and music (recipe
  ``earshot train style-ae``); dilated first layer, leaky ReLU, no batch norm, as the prosodic
  style-transfer report found best.
- `RandomShallowNet`: one wide convolution with fixed random weights and a ReLU (Ulyanov and
  Lebedev's audio style transfer); needs no training.
"""

from __future__ import annotations

import torch
from torch import nn

from earshot.dsp.stft import make_window, stft
from earshot.errors import ShapeError


class LogSpectrogram(nn.Module):
    """``(batch, 1, samples)`` -> ``log1p(|STFT|)`` ``(batch, n_fft // 2 + 1, frames)``; window is a buffer."""

    def __init__(self, n_fft: int = 512, hop_length: int = 128, *, eps: float = 1e-7):
        super().__init__()
        self.n_fft, self.hop_length, self.eps = n_fft, hop_length, eps
        self.register_buffer("window", make_window("hann", n_fft), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.dim() != 3 or audio.shape[1] != 1:
            raise ShapeError(f"LogSpectrogram takes mono (batch, 1, samples) audio, got {tuple(audio.shape)}")
        spec = stft(audio, self.n_fft, self.hop_length, self.window)[:, 0]
        return torch.log1p((spec.real.square() + spec.imag.square() + self.eps).sqrt())


def _conv(cin: int, cout: int, kernel: int, dilation: int = 1) -> nn.Conv1d:
    return nn.Conv1d(cin, cout, kernel, padding=dilation * (kernel - 1) // 2, dilation=dilation)


class SpectrogramAutoencoder(nn.Module):
    """Convolutional autoencoder over log-magnitude frames (frequency bins as channels).

    ``forward(logspec (B, F, N)) -> (B, F, N)`` reconstruction; ``features(logspec)`` returns the
    encoder and decoder activations by name (``enc1`` shallow ... ``enc3`` deep, ``dec1``, ``dec2``),
    each ``(B, C, N)``.
    """

    def __init__(self, *, n_freq: int = 257, channels: tuple[int, ...] | list[int] = (256, 128, 64),
                 kernel_size: int = 3, dilation: int = 2, slope: float = 0.2):
        super().__init__()
        self.n_freq, self.channels = n_freq, list(channels)
        widths = [n_freq, *self.channels]
        self.encoder = nn.ModuleList(
            _conv(widths[i], widths[i + 1], kernel_size, dilation if i == 0 else 1) for i in range(len(self.channels)))
        back = widths[::-1]
        self.decoder = nn.ModuleList(_conv(back[i], back[i + 1], kernel_size) for i in range(len(self.channels)))
        self.act = nn.LeakyReLU(slope)

    @property
    def layer_names(self) -> list[str]:
        n = len(self.channels)
        return [f"enc{i + 1}" for i in range(n)] + [f"dec{i + 1}" for i in range(n - 1)]

    def features(self, logspec: torch.Tensor) -> dict[str, torch.Tensor]:
        """Activations by layer name, each ``(batch, channels, frames)``."""
        if logspec.dim() != 3 or logspec.shape[1] != self.n_freq:
            raise ShapeError(f"expected a log spectrogram (batch, {self.n_freq}, frames), got {tuple(logspec.shape)}")
        acts, h = {}, logspec
        for i, conv in enumerate(self.encoder):
            h = self.act(conv(h))
            acts[f"enc{i + 1}"] = h
        for i, conv in enumerate(self.decoder[:-1]):
            h = self.act(conv(h))
            acts[f"dec{i + 1}"] = h
        acts["output"] = self.decoder[-1](h)
        return acts

    def forward(self, logspec: torch.Tensor) -> torch.Tensor:
        return self.features(logspec)["output"]


class RandomShallowNet(nn.Module):
    """One wide 1-D convolution over time with fixed random weights, then ReLU (Ulyanov and Lebedev).

    The weights come from ``seed`` alone, so the network needs no shipped file. ``features(logspec
    (B, F, N))`` -> ``{"conv": (B, channels, N)}``.
    """

    def __init__(self, *, n_freq: int = 257, channels: int = 1024, kernel_size: int = 11, seed: int = 0):
        super().__init__()
        self.n_freq = n_freq
        self.conv = _conv(n_freq, channels, kernel_size)
        g = torch.Generator().manual_seed(seed)
        std = (2.0 / (n_freq * kernel_size)) ** 0.5
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(self.conv.weight.shape, generator=g) * std)
            self.conv.bias.zero_()
        self.requires_grad_(False)

    @property
    def layer_names(self) -> list[str]:
        return ["conv"]

    def features(self, logspec: torch.Tensor) -> dict[str, torch.Tensor]:
        if logspec.dim() != 3 or logspec.shape[1] != self.n_freq:
            raise ShapeError(f"expected a log spectrogram (batch, {self.n_freq}, frames), got {tuple(logspec.shape)}")
        return {"conv": torch.relu(self.conv(logspec))}

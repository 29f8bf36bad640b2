"""SoundStream's STFT discriminator (Zeghidour et al. 2021, Sec. III-E).

The complex STFT (window 1024, hop 256) enters as 2 channels (real, imaginary), layout
``(B, 2, freq, frames)``. A 7x7 conv, then residual blocks that each halve the frequency axis
(and every other one the time axis), then a conv over the remaining frequency bins gives
per-frame logits ``(B, 1, 1, frames')``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from earshot.models.discriminators.waveform import DiscriminatorOutput
from earshot.validate import check_audio

# (frequency stride, time stride) of each block, and its output width in units of C
BLOCKS = ((2, 1, 2), (2, 2, 4), (2, 1, 4), (2, 2, 8), (2, 1, 8), (2, 2, 16))


class _STFTBlock(nn.Module):
    """3x3 conv, LeakyReLU, then a (s_f+2)x(s_t+2) conv with stride (s_f, s_t); strided 1x1 skip."""

    def __init__(self, in_ch: int, out_ch: int, stride_f: int, stride_t: int, slope: float):
        super().__init__()
        self.conv1 = weight_norm(nn.Conv2d(in_ch, in_ch, 3, padding=1))
        kernel = (stride_f + 2, stride_t + 2)
        pad = (2, stride_t)  # never shorter than the skip path, which sets the size
        self.conv2 = weight_norm(nn.Conv2d(in_ch, out_ch, kernel, stride=(stride_f, stride_t), padding=pad))
        self.skip = weight_norm(nn.Conv2d(in_ch, out_ch, 1, stride=(stride_f, stride_t)))
        self.act = nn.LeakyReLU(slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.act(self.conv1(x)))
        s = self.skip(x)
        return self.act(y[..., : s.shape[-2], : s.shape[-1]] + s)


class STFTDiscriminator(nn.Module):
    """Discriminator on the complex STFT of ``(B, 1, T)`` audio.

    Args:
        channels: width C of the first conv (paper: 32); blocks reach 16C.
        n_fft: STFT window length (paper: 1024, Hann).
        hop: STFT hop (paper: 256).
        slope: LeakyReLU negative slope.
    """

    def __init__(self, channels: int = 32, *, n_fft: int = 1024, hop: int = 256, slope: float = 0.2):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.stem = weight_norm(nn.Conv2d(2, channels, 7, padding=3))
        blocks, width = [], channels
        for stride_f, stride_t, mult in BLOCKS:
            blocks.append(_STFTBlock(width, channels * mult, stride_f, stride_t, slope))
            width = channels * mult
        self.blocks = nn.ModuleList(blocks)
        freq = n_fft // 2 + 1
        for stride_f, _, _ in BLOCKS:
            freq = (freq - 1) // stride_f + 1
        self.head = weight_norm(nn.Conv2d(width, 1, (freq, 1)))
        self.act = nn.LeakyReLU(slope)

    def spectrogram(self, audio: torch.Tensor) -> torch.Tensor:
        """``(B, 1, T)`` -> ``(B, 2, n_fft // 2 + 1, frames)`` real and imaginary parts."""
        spec = torch.stft(audio[:, 0], self.n_fft, self.hop, window=self.window, return_complex=True)
        return torch.stack([spec.real, spec.imag], dim=1)

    def forward(self, audio: torch.Tensor) -> DiscriminatorOutput:
        check_audio(audio, "audio")
        x = self.act(self.stem(self.spectrogram(audio)))
        features = [x]
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return DiscriminatorOutput(logits=self.head(x), features=features)

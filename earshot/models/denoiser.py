"""A small speech denoiser for the loss-comparison experiment (`earshot experiment denoising`).

It predicts a magnitude mask on the noisy STFT with a residual stack of dilated convolutions
over frames (a context-aggregation network in the spirit of Germain et al., "Speech denoising
with deep feature losses", 2019, run on spectrogram frames instead of samples to fit a CPU
budget) and resynthesises with the noisy phase. It is deliberately small: the experiment
compares training losses, not denoisers.
"""

from __future__ import annotations

import torch
from torch import nn

from earshot.dsp.stft import STFT
from earshot.errors import ShapeError


class MaskDenoiser(nn.Module):
    """``(batch, 1, samples)`` noisy speech -> ``(batch, 1, samples)`` estimate (any sample rate;
    the STFT sizes are in samples).

    Args:
        n_fft, hop_length: STFT size and hop in samples (Hann window).
        hidden: channels of the frame-wise convolution stack.
        layers: residual blocks with dilations 1, 2, 4, ...
        kernel_size: kernel of the dilated convolutions.
        eps: floor inside ``log(|STFT| + eps)``.
    """

    def __init__(self, *, n_fft: int = 512, hop_length: int = 128, hidden: int = 96, layers: int = 4,
                 kernel_size: int = 3, eps: float = 1e-5):
        super().__init__()
        self.stft = STFT(n_fft, hop_length)
        self.eps = float(eps)
        freqs = n_fft // 2 + 1
        self.inp = nn.Conv1d(freqs, hidden, 1)
        self.blocks = nn.ModuleList()
        for i in range(layers):
            d = 2 ** i
            self.blocks.append(nn.Sequential(
                nn.Conv1d(hidden, hidden, kernel_size, dilation=d, padding=d * (kernel_size // 2)),
                nn.GroupNorm(1, hidden), nn.LeakyReLU(0.2)))
        self.out = nn.Conv1d(hidden, freqs, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.constant_(self.out.bias, 2.0)  # start near the identity (mask ~ 0.88)

    def mask(self, spec: torch.Tensor) -> torch.Tensor:
        """Mask in [0, 1] ``(batch, freq, frames)`` from a complex ``(batch, 1, freq, frames)`` STFT."""
        feat = torch.log(spec.abs()[:, 0] + self.eps)
        h = self.inp(feat)
        for block in self.blocks:
            h = h + block(h)
        return torch.sigmoid(self.out(h))

    def forward(self, noisy: torch.Tensor) -> torch.Tensor:
        if noisy.dim() != 3 or noisy.shape[1] != 1:
            raise ShapeError(f"MaskDenoiser takes (batch, 1, samples), got {tuple(noisy.shape)}")
        spec = self.stft(noisy)
        return self.stft.inverse(spec * self.mask(spec)[:, None], length=noisy.shape[-1])

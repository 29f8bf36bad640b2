"""The small convolutional autoencoder of the codec-loss paper's experiment.

Ananthabhotla et al., ACM MM 2019, section 5: 8 conv layers of 12 filters, kernel 9, ReLU, a
bottleneck half the size of the input, tanh output. Here: 4 encoder layers, the second with
stride 2, the last with one channel, so the bottleneck is ``(batch, 1, samples / 2)``; 4 decoder
layers, the first a stride-2 transposed conv, the last one channel with tanh.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from earshot.errors import ConfigError, ShapeError
from earshot.validate import check_audio


class ConvAutoencoder(nn.Module):
    """Waveform autoencoder ``(batch, 1, samples) -> (batch, 1, samples)`` (any sample rate).

    ``layers`` conv layers in all (half encoder, half decoder) with ``filters`` channels and
    kernel ``kernel_size``; the bottleneck `encode` returns is ``(batch, 1, ceil(samples / 2))``.
    """

    def __init__(self, *, layers: int = 8, filters: int = 12, kernel_size: int = 9):
        super().__init__()
        if layers < 4 or layers % 2:
            raise ConfigError(f"layers must be an even number >= 4, got {layers}")
        half, pad = layers // 2, kernel_size // 2
        enc = []
        for i in range(half):
            c_in = 1 if i == 0 else filters
            c_out = 1 if i == half - 1 else filters
            enc.append(nn.Conv1d(c_in, c_out, kernel_size, stride=2 if i == 1 else 1, padding=pad))
        dec = [nn.ConvTranspose1d(1, filters, kernel_size, stride=2, padding=pad, output_padding=1)]
        dec += [nn.Conv1d(filters, 1 if i == half - 2 else filters, kernel_size, padding=pad)
                for i in range(half - 1)]
        self.encoder, self.decoder = nn.ModuleList(enc), nn.ModuleList(dec)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, 1, samples)`` -> bottleneck ``(batch, 1, ceil(samples / 2))``."""
        check_audio(x, "input", finite=False)
        if x.shape[1] != 1:
            raise ShapeError(f"the autoencoder takes mono audio (batch, 1, samples), got {tuple(x.shape)}")
        h = F.pad(x, (0, x.shape[-1] % 2))
        for i, conv in enumerate(self.encoder):
            h = conv(h)
            if i < len(self.encoder) - 1:
                h = F.relu(h)
        return h

    def decode(self, code: torch.Tensor, samples: int) -> torch.Tensor:
        """Bottleneck ``(batch, 1, n)`` -> waveform ``(batch, 1, samples)`` in (-1, 1)."""
        h = code
        for i, conv in enumerate(self.decoder):
            h = conv(h)
            h = torch.tanh(h) if i == len(self.decoder) - 1 else F.relu(h)
        return h[..., :samples]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, 1, samples)`` -> reconstruction, same shape."""
        return self.decode(self.encode(x), x.shape[-1])

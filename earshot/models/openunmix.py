"""An Open-Unmix-architecture separator, the peer our U-Net separator is measured against.

The architecture follows the Open-Unmix paper (Stöter, Uhlich, Liutkus & Mitsufuji, JOSS 2019):
each magnitude frame is normalised per bin (learned offset and scale), compressed by a fully
connected layer with batch norm and tanh, passed through a bidirectional LSTM over the frames,
concatenated with the LSTM's input (skip), expanded by two fully connected layers with batch
norm, de-normalised per bin, and applied through a ReLU as a mask on the mixture magnitude.
Open-Unmix trains one network per target; this one predicts a mask for each of ``K`` sources
from one shared trunk, and, like our :class:`~earshot.models.separator.UNetSeparator`, works on
``log1p|X|`` features so both train with the same recipe and loss.

Shapes: features ``(B, 1, F, N)`` in, estimated ``log1p|S_k|`` ``(B, K, F, N)`` out.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from earshot.errors import ConfigError, ShapeError
from earshot.models.separator import SOURCES, SpectrogramSeparator


class BLSTMSeparator(SpectrogramSeparator):
    """Open-Unmix-style mask separator over magnitude frames.

    Args:
        sources: names of the ``K`` estimated sources.
        sample_rate, n_fft, hop_length: the STFT (Hann window) of the mono mixture.
        hidden: width of the fully connected layers and of the BLSTM output (``hidden // 2``
            units per direction); Open-Unmix uses 512.
        lstm_layers: stacked BLSTM layers (Open-Unmix: 3).
        dropout: between LSTM layers (Open-Unmix: 0.4).
    """

    def __init__(self, sources: Sequence[str] = SOURCES, *, sample_rate: int = 8192, n_fft: int = 512,
                 hop_length: int = 256, hidden: int = 512, lstm_layers: int = 3, dropout: float = 0.4):
        super().__init__(sources, sample_rate, n_fft, hop_length)
        if hidden < 2 or hidden % 2 or lstm_layers < 1:
            raise ConfigError(f"hidden must be even and >= 2 and lstm_layers >= 1, got {hidden}, {lstm_layers}")
        bins, k = self.n_bins, len(self.sources)
        self.input_offset = nn.Parameter(torch.zeros(bins))
        self.input_scale = nn.Parameter(torch.ones(bins))
        self.encode = nn.Sequential(nn.Linear(bins, hidden, bias=False), nn.BatchNorm1d(hidden), nn.Tanh())
        self.lstm = nn.LSTM(hidden, hidden // 2, num_layers=lstm_layers, bidirectional=True, batch_first=True,
                            dropout=dropout if lstm_layers > 1 else 0.0)
        self.decode = nn.Sequential(
            nn.Linear(2 * hidden, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(),
            nn.Linear(hidden, k * bins, bias=False), nn.BatchNorm1d(k * bins))
        self.output_scale = nn.Parameter(torch.ones(k, bins))
        self.output_offset = nn.Parameter(torch.ones(k, bins))

    @staticmethod
    def _frames(layer: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
        """Apply a Linear/BatchNorm stack to ``(B, N, C)`` frame by frame."""
        b, n, c = x.shape
        return layer(x.reshape(b * n, c)).reshape(b, n, -1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``log1p|X|`` ``(B, 1, F, N)`` -> estimated ``log1p|S_k|`` ``(B, K, F, N)``."""
        if features.dim() != 4 or features.shape[1] != 1 or features.shape[2] != self.n_bins:
            raise ShapeError(f"features must be (batch, 1, {self.n_bins}, frames), got {tuple(features.shape)}")
        mix = torch.expm1(features[:, 0].clamp_min(0)).transpose(1, 2)          # (B, N, F)
        x = (features[:, 0].transpose(1, 2) + self.input_offset) * self.input_scale
        h = self._frames(self.encode, x)
        out, _ = self.lstm(h)
        y = self._frames(self.decode, torch.cat([h, out], dim=-1))              # (B, N, K * F)
        y = y.reshape(*y.shape[:2], len(self.sources), self.n_bins) * self.output_scale + self.output_offset
        est = torch.relu(y) * mix[:, :, None]                                    # (B, N, K, F)
        return torch.log1p(est.permute(0, 2, 3, 1))


__all__ = ["BLSTMSeparator"]

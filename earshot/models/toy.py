"""Tiny reference networks for the training engine's example recipe and tests (not for use).

``ToyDenoiser`` is a residual 1-D conv net mapping ``(batch, 1, samples)`` to the same shape;
``ToyDiscriminator`` maps ``(batch, 1, samples)`` to ``(batch, 1, frames)`` logits. Any rate.
"""

from __future__ import annotations

import torch
from torch import nn


class ToyDenoiser(nn.Module):
    """Residual conv denoiser: ``y = x + net(x)``; audio ``(batch, 1, samples)`` in and out."""

    def __init__(self, channels: int = 8, layers: int = 3, kernel_size: int = 9):
        super().__init__()
        pad = kernel_size // 2
        blocks: list[nn.Module] = [nn.Conv1d(1, channels, kernel_size, padding=pad), nn.Tanh()]
        for _ in range(layers - 2):
            blocks += [nn.Conv1d(channels, channels, kernel_size, padding=pad), nn.Tanh()]
        blocks.append(nn.Conv1d(channels, 1, kernel_size, padding=pad))
        self.net = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class ToyDiscriminator(nn.Module):
    """Strided conv critic: ``(batch, 1, samples)`` -> logits ``(batch, 1, samples // 16)``."""

    def __init__(self, channels: int = 8):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(1, channels, 15, stride=4, padding=7), nn.LeakyReLU(0.2),
            nn.Conv1d(channels, channels, 15, stride=4, padding=7), nn.LeakyReLU(0.2),
            nn.Conv1d(channels, 1, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

"""SoundStream encoder: causal convs, 4 strided blocks of residual units, a conv to the embedding.

Zeghidour et al., "SoundStream: An End-to-End Neural Audio Codec", 2021 (arXiv:2107.03312), Fig. 3.
Input ``(batch, 1, samples)``; output ``(batch, dim, samples // hop)`` with ``hop = prod(strides)``.
With the default strides ``(2, 4, 5, 8)`` the hop is 320 samples: 50 frames/s (20 ms) at 16 kHz,
75 frames/s at 24 kHz (the paper's setting).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from earshot.models.codec.layers import CausalConv1d, StatefulSequential, StreamState, residual_stack

DEFAULT_STRIDES = (2, 4, 5, 8)


def block_channels(channels: int, n_blocks: int, max_channels: int | None = None) -> list[int]:
    """Channel widths ``C, 2C, 4C, ...`` (``n_blocks + 1`` of them), capped at ``max_channels``."""
    widths = [channels * 2 ** i for i in range(n_blocks + 1)]
    return [min(w, max_channels) if max_channels else w for w in widths]


class EncoderBlock(StatefulSequential):
    """Three residual units at ``in_channels`` then ELU and a strided causal conv (kernel 2*stride)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__(
            *residual_stack(in_channels),
            nn.ELU(),
            CausalConv1d(in_channels, out_channels, 2 * stride, stride=stride),
        )


class Encoder(nn.Module):
    """Waveform ``(B, 1, T)`` -> embeddings ``(B, dim, T // hop)``; ``T`` must be a multiple of hop.

    Args:
        channels: width ``C`` of the first conv; it doubles after each block.
        dim: embedding dimension (the quantizer's vector size).
        strides: downsampling factor of each block; ``hop = prod(strides)``.
        max_channels: optional cap on the doubling widths (keeps small models small).
    """

    def __init__(self, channels: int = 32, dim: int = 128, *, strides=DEFAULT_STRIDES,
                 max_channels: int | None = None):
        super().__init__()
        self.strides = tuple(int(s) for s in strides)
        self.hop = math.prod(self.strides)
        widths = block_channels(channels, len(self.strides), max_channels)
        layers = [CausalConv1d(1, widths[0], 7)]
        for i, stride in enumerate(self.strides):
            layers.append(EncoderBlock(widths[i], widths[i + 1], stride))
        layers += [nn.ELU(), CausalConv1d(widths[-1], dim, 3)]
        self.net = StatefulSequential(*layers)

    def forward(self, audio: torch.Tensor, state: StreamState | None = None) -> torch.Tensor:
        """``(B, 1, T)`` -> ``(B, dim, T // hop)``; pass a state dict to stream chunk by chunk."""
        return self.net(audio, state)

"""SoundStream decoder: the encoder mirrored, with causal transposed convs for upsampling.

Input ``(batch, dim, frames)``; output ``(batch, 1, frames * hop)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from earshot.models.codec.encoder import DEFAULT_STRIDES, block_channels
from earshot.models.codec.layers import (
    CausalConv1d, CausalConvTranspose1d, StatefulSequential, StreamState, residual_stack,
)


class DecoderBlock(StatefulSequential):
    """ELU, a causal transposed conv (kernel 2*stride) to ``out_channels``, three residual units."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__(
            nn.ELU(),
            CausalConvTranspose1d(in_channels, out_channels, 2 * stride, stride=stride),
            *residual_stack(out_channels),
        )


class Decoder(nn.Module):
    """Embeddings ``(B, dim, N)`` -> waveform ``(B, 1, N * hop)``.

    Args mirror :class:`~earshot.models.codec.encoder.Encoder`; ``strides`` are given in the
    encoder's order and applied reversed.
    """

    def __init__(self, channels: int = 32, dim: int = 128, *, strides=DEFAULT_STRIDES,
                 max_channels: int | None = None):
        super().__init__()
        self.strides = tuple(int(s) for s in strides)
        self.hop = math.prod(self.strides)
        widths = block_channels(channels, len(self.strides), max_channels)[::-1]
        layers = [CausalConv1d(dim, widths[0], 7)]
        for i, stride in enumerate(reversed(self.strides)):
            layers.append(DecoderBlock(widths[i], widths[i + 1], stride))
        layers += [nn.ELU(), CausalConv1d(widths[-1], 1, 7)]
        self.net = StatefulSequential(*layers)

    def forward(self, embeddings: torch.Tensor, state: StreamState | None = None) -> torch.Tensor:
        """``(B, dim, N)`` -> ``(B, 1, N * hop)``; pass a state dict to stream frame by frame."""
        return self.net(embeddings, state)

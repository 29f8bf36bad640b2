"""Causal convolutions that can run offline or frame by frame with cached left context.

Every layer here takes an optional ``state`` dict. Offline (``state=None``) a causal conv pads
its input on the left with zeros; streaming, it prepends the cached tail of the previous chunk
(zeros at the start) and stores its new tail in ``state``. Both paths run the same conv, so a
stream of chunks gives the offline output (up to float summation order).

Shapes: ``(batch, channels, time)`` throughout.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

StreamState = dict  # module -> cached tensor; a fresh dict starts a stream


class Streamable(nn.Module):
    """Marker base: ``forward(x, state=None)`` accepts a streaming state dict."""


class CausalConv1d(nn.Conv1d, Streamable):
    """``nn.Conv1d`` padded on the left only, so output frame ``t`` sees input up to frame ``t``.

    With stride ``s`` the left context is ``(kernel - 1) * dilation + 1 - s`` samples, so an
    input of ``n * s`` samples gives exactly ``n`` outputs (stream chunks must be multiples of ``s``).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *,
                 stride: int = 1, dilation: int = 1, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, dilation=dilation, bias=bias)
        self.context = (kernel_size - 1) * dilation + 1 - stride
        if self.context < 0:
            raise ValueError(f"kernel_size {kernel_size} is shorter than stride {stride}")

    def forward(self, x: torch.Tensor, state: StreamState | None = None) -> torch.Tensor:
        if self.context:
            if state is None:
                x = F.pad(x, (self.context, 0))
            else:
                cache = state.get(self)
                if cache is None:
                    cache = x.new_zeros(x.shape[0], x.shape[1], self.context)
                x = torch.cat([cache, x], dim=-1)
                state[self] = x[..., x.shape[-1] - self.context:]
        return self._conv_forward(x, self.weight, self.bias)


class CausalConvTranspose1d(nn.ConvTranspose1d, Streamable):
    """``nn.ConvTranspose1d`` trimmed on the right: ``n`` inputs give exactly ``n * stride`` outputs.

    Output sample ``j`` depends on inputs up to ``j // stride``. Streaming keeps the
    ``kernel - stride`` overlapping samples of the previous chunk and adds them (overlap-add);
    the bias is added once, after the overlap-add, as offline.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, stride: int):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride)
        self.overlap = kernel_size - stride
        if self.overlap < 0:
            raise ValueError(f"kernel_size {kernel_size} is shorter than stride {stride}")

    def forward(self, x: torch.Tensor, state: StreamState | None = None) -> torch.Tensor:
        y = F.conv_transpose1d(x, self.weight, None, self.stride)
        n = x.shape[-1] * self.stride[0]
        if state is not None and self.overlap:
            tail = state.get(self)
            if tail is not None:
                y = torch.cat([y[..., :self.overlap] + tail, y[..., self.overlap:]], dim=-1)
            state[self] = y[..., n:]
        return y[..., :n] + self.bias[:, None]


class StatefulSequential(nn.Sequential, Streamable):
    """``nn.Sequential`` that hands ``state`` to the layers that stream."""

    def forward(self, x: torch.Tensor, state: StreamState | None = None) -> torch.Tensor:
        for layer in self:
            x = layer(x, state) if isinstance(layer, Streamable) else layer(x)
        return x


class ResidualUnit(Streamable):
    """SoundStream residual unit: ELU, causal conv (kernel 7, dilation d), ELU, 1x1 conv, skip.

    ``(B, channels, T) -> (B, channels, T)``.
    """

    def __init__(self, channels: int, dilation: int, *, kernel_size: int = 7):
        super().__init__()
        self.conv = CausalConv1d(channels, channels, kernel_size, dilation=dilation)
        self.pointwise = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor, state: StreamState | None = None) -> torch.Tensor:
        y = self.conv(F.elu(x), state)
        return x + self.pointwise(F.elu(y))


def residual_stack(channels: int, dilations=(1, 3, 9), kernel_size: int = 7) -> list[nn.Module]:
    """The three residual units (dilations 1, 3, 9) of an encoder or decoder block."""
    return [ResidualUnit(channels, d, kernel_size=kernel_size) for d in dilations]


def new_state() -> StreamState:
    """An empty streaming state: the stream starts from silence, as offline zero padding."""
    return {}

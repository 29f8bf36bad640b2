"""Differentiable, batched band-limited resampling with a windowed-sinc polyphase filter (torch only).

For data preparation prefer :func:`earshot.audio.resample` (soxr, higher quality, not
differentiable); use this one inside a graph (e.g. a loss that works at another rate).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from earshot.errors import ConfigError, ShapeError
from earshot.validate import check_sample_rate


def sinc_kernel(orig: int, target: int, *, zeros: int = 16, rolloff: float = 0.945, window: str = "kaiser",
                beta: float = 8.555, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, int, int, int]:
    """Polyphase windowed-sinc kernel for ``orig -> target`` (reduced by their gcd).

    Returns ``(kernel (phases, 1, taps), stride, phases, half_width)``: output sample ``j`` of
    phase ``p`` is the input around ``j * stride`` filtered by ``kernel[p]``. The low-pass sits at
    ``rolloff * min(orig, target) / 2``; ``zeros`` sinc zero-crossings on each side.
    """
    if not 0 < rolloff <= 1 or zeros < 1:
        raise ConfigError(f"need 0 < rolloff <= 1 and zeros >= 1, got rolloff={rolloff}, zeros={zeros}")
    g = math.gcd(orig, target)
    orig, target = orig // g, target // g
    cutoff = min(orig, target) * rolloff        # in units where the input rate is `orig`
    half = math.ceil(zeros * orig / cutoff)
    taps = torch.arange(-half, half + orig, dtype=torch.float64) / orig
    t = (taps[None, :] - torch.arange(target, dtype=torch.float64)[:, None] / target) * cutoff
    t = t.clamp(-zeros, zeros)
    if window == "hann":
        win = torch.cos(t * math.pi / zeros / 2) ** 2
    elif window == "kaiser":
        arg = (1 - (t / zeros) ** 2).clamp_min(0)
        win = torch.special.i0(beta * arg.sqrt()) / torch.special.i0(torch.tensor(beta, dtype=torch.float64))
    else:
        raise ConfigError(f"window must be 'hann' or 'kaiser', got {window!r}")
    kernel = torch.special.sinc(t) * win * (cutoff / orig)
    return kernel.to(dtype)[:, None, :], orig, target, half


def _apply(x: torch.Tensor, kernel: torch.Tensor, stride: int, phases: int, half: int, out_len: int) -> torch.Tensor:
    lead, t = x.shape[:-1], x.shape[-1]
    flat = torch.nn.functional.pad(x.reshape(-1, 1, t), (half, half + stride))
    y = torch.nn.functional.conv1d(flat, kernel.to(x.dtype), stride=stride)   # (N, phases, frames)
    y = y.transpose(1, 2).reshape(flat.shape[0], -1)[:, :out_len]
    return y.reshape(*lead, out_len)


def resample(x: torch.Tensor, orig: int, target: int, *, zeros: int = 16, rolloff: float = 0.945,
             window: str = "kaiser", beta: float = 8.555) -> torch.Tensor:
    """Resample ``x`` ``(..., samples)`` from ``orig`` Hz to ``target`` Hz; differentiable, batched.

    Output has ``ceil(samples * target / orig)`` samples, aligned so that output sample ``j``
    is the band-limited input at time ``j / target`` (zero padding outside the signal).
    """
    orig, target = check_sample_rate(orig, name="orig"), check_sample_rate(target, name="target")
    if not isinstance(x, torch.Tensor) or x.dim() < 1 or x.shape[-1] == 0:
        raise ShapeError("x must be a tensor with a non-empty last (samples) dimension")
    if orig == target:
        return x
    kernel, stride, phases, half = sinc_kernel(orig, target, zeros=zeros, rolloff=rolloff, window=window,
                                               beta=beta, dtype=x.dtype)
    out_len = math.ceil(x.shape[-1] * phases / stride)
    return _apply(x, kernel.to(x.device), stride, phases, half, out_len)


class Resample(nn.Module):
    """:func:`resample` as a module with the kernel built once (a non-persistent buffer)."""

    def __init__(self, orig: int, target: int, *, zeros: int = 16, rolloff: float = 0.945,
                 window: str = "kaiser", beta: float = 8.555):
        super().__init__()
        self.orig, self.target = check_sample_rate(orig, name="orig"), check_sample_rate(target, name="target")
        kernel, self.stride, self.phases, self.half = sinc_kernel(self.orig, self.target, zeros=zeros,
                                                                   rolloff=rolloff, window=window, beta=beta)
        self.register_buffer("kernel", kernel, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., samples)`` at ``orig`` Hz -> ``(..., ceil(samples * target / orig))`` at ``target`` Hz."""
        if self.orig == self.target:
            return x
        out_len = math.ceil(x.shape[-1] * self.phases / self.stride)
        return _apply(x, self.kernel, self.stride, self.phases, self.half, out_len)

"""Perceptual pre-filters as FIR taps: A-weighting for a given sample rate, and pre-emphasis.

Both return taps for :func:`fir_filter`, which applies them to ``(batch, channels, samples)``
audio with "same" length output (zero-phase-centred for the odd-length A-weighting filter).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from earshot.errors import ConfigError, ShapeError
from earshot.validate import check_sample_rate

# Pole frequencies (Hz) of the IEC 61672 A-weighting curve.
_A_POLES = (20.598997, 107.65265, 737.86223, 12194.217)


def a_weighting_response(freqs, *, db: bool = False) -> np.ndarray:
    """Magnitude of the analog A-weighting curve at ``freqs`` (Hz), 1.0 (0 dB) at 1 kHz."""
    f2 = np.asarray(freqs, dtype=np.float64) ** 2
    p1, p2, p3, p4 = (p**2 for p in _A_POLES)

    def raw(q):
        return p4 * q**2 / ((q + p1) * np.sqrt((q + p2) * (q + p3)) * (q + p4))

    mag = raw(f2) / raw(1000.0**2)
    return 20 * np.log10(np.maximum(mag, 1e-20)) if db else mag


def a_weighting(sample_rate: int, *, num_taps: int = 101, grid: int = 1024) -> torch.Tensor:
    """Linear-phase FIR approximating A-weighting at ``sample_rate`` Hz: ``(num_taps,)`` float32 taps.

    Designed for this sample rate by least squares (``scipy.signal.firls``) on the analog curve
    sampled at ``grid`` frequencies from 0 to Nyquist. ``num_taps`` must be odd.
    """
    import scipy.signal  # lazy: scipy.signal takes a second or more to import

    sample_rate = check_sample_rate(sample_rate)
    if num_taps < 3 or num_taps % 2 == 0:
        raise ConfigError(f"num_taps must be odd and >= 3, got {num_taps}")
    freqs = np.linspace(0.0, sample_rate / 2.0, grid)
    gains = a_weighting_response(freqs)
    bands = np.repeat(freqs, 2)[1:-1]
    desired = np.repeat(gains, 2)[1:-1]
    taps = scipy.signal.firls(num_taps, bands, desired, fs=sample_rate)
    return torch.from_numpy(taps.astype(np.float32))


def preemphasis(coef: float = 0.85, *, kind: str = "highpass") -> torch.Tensor:
    """Pre-emphasis taps: first-order high-pass ``[1, -coef]`` or folded differentiator ``[1, 0, -coef]``."""
    if kind == "highpass":
        return torch.tensor([1.0, -coef])
    if kind == "folded":
        return torch.tensor([1.0, 0.0, -coef])
    raise ConfigError(f"kind must be 'highpass' or 'folded', got {kind!r}")


def fir_filter(x: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """Filter ``x`` ``(batch, channels, samples)`` with FIR ``taps`` ``(n,)``; output has the same shape.

    ``y[t] = sum_k taps[k] x[t - k + (n - 1) // 2]`` (zero padding): centred for odd ``n``, causal
    ``y[t] = x[t] - c x[t-1]`` for the two-tap pre-emphasis. Differentiable.
    """
    if x.dim() != 3:
        raise ShapeError(f"x must have shape (batch, channels, samples), got {tuple(x.shape)}")
    b, c, t = x.shape
    n = taps.shape[-1]
    left = (n - 1) // 2 if n % 2 else n - 1
    kernel = taps.to(x.dtype).flip(-1).reshape(1, 1, n)
    flat = torch.nn.functional.pad(x.reshape(b * c, 1, t), (left, n - 1 - left))
    return torch.nn.functional.conv1d(flat, kernel).reshape(b, c, t)


class FIRFilter(nn.Module):
    """A fixed FIR filter as a module (taps in a non-persistent buffer): ``(B, C, T) -> (B, C, T)``."""

    def __init__(self, taps: torch.Tensor):
        super().__init__()
        self.register_buffer("taps", torch.as_tensor(taps, dtype=torch.float32), persistent=False)

    @classmethod
    def a_weighting(cls, sample_rate: int, *, num_taps: int = 101) -> "FIRFilter":
        return cls(a_weighting(sample_rate, num_taps=num_taps))

    @classmethod
    def preemphasis(cls, coef: float = 0.85, *, kind: str = "highpass") -> "FIRFilter":
        return cls(preemphasis(coef, kind=kind))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fir_filter(x, self.taps)

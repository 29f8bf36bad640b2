"""Short-time Fourier transform of ``(batch, channels, samples)`` audio, and its inverse.

Conventions (the same as ``torch.stft`` with ``center=True``): frames are centred by padding
``n_fft // 2`` samples on each side (reflection, or zeros when the signal is too short to
reflect), a window shorter than ``n_fft`` is zero-padded on both sides to ``n_fft``, and the
spectrum keeps the ``n_fft // 2 + 1`` non-negative frequencies. Spectrograms are
``(batch, channels, freq, frames)``.
"""

from __future__ import annotations

import torch
from torch import nn

from earshot.errors import ConfigError, ShapeError

WINDOWS = ("hann", "hamming", "blackman", "bartlett", "sqrt_hann", "rect", "kaiser")


def make_window(name: str, win_length: int, *, periodic: bool = True, beta: float = 12.0,
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A ``(win_length,)`` analysis window by name (periodic by default, as ``torch.stft`` expects).

    ``name`` is one of hann, hamming, blackman, bartlett, sqrt_hann, rect, kaiser (``beta``).
    """
    if win_length < 1:
        raise ConfigError(f"win_length must be >= 1, got {win_length}")
    kw = dict(periodic=periodic, dtype=torch.float64)
    if name in ("hann", "hann_window"):
        w = torch.hann_window(win_length, **kw)
    elif name in ("hamming", "hamming_window"):
        w = torch.hamming_window(win_length, **kw)
    elif name in ("blackman", "blackman_window"):
        w = torch.blackman_window(win_length, **kw)
    elif name in ("bartlett", "bartlett_window"):
        w = torch.bartlett_window(win_length, **kw)
    elif name in ("kaiser", "kaiser_window"):
        w = torch.kaiser_window(win_length, beta=beta, **kw)
    elif name == "sqrt_hann":
        w = torch.hann_window(win_length, **kw).sqrt()
    elif name in ("rect", "boxcar", "ones"):
        w = torch.ones(win_length, dtype=torch.float64)
    else:
        raise ConfigError(f"unknown window {name!r}; choose one of {WINDOWS}")
    return w.to(dtype)


def pad_window(window: torch.Tensor, n_fft: int) -> torch.Tensor:
    """Zero-pad a window to ``n_fft`` samples, centred (as ``torch.stft`` does)."""
    win_length = window.shape[-1]
    if win_length > n_fft:
        raise ConfigError(f"window length {win_length} exceeds n_fft {n_fft}")
    left = (n_fft - win_length) // 2
    return torch.nn.functional.pad(window, (left, n_fft - win_length - left))


def num_frames(length: int, n_fft: int, hop_length: int, *, center: bool = True) -> int:
    """Number of STFT frames for a signal of ``length`` samples."""
    padded = length + 2 * (n_fft // 2) if center else length
    if padded < n_fft:
        raise ShapeError(f"signal of {length} samples is shorter than n_fft={n_fft} (center={center})")
    return 1 + (padded - n_fft) // hop_length


def center_pad(x: torch.Tensor, n_fft: int, pad_mode: str = "reflect") -> torch.Tensor:
    """Pad ``x`` ``(rows, samples)`` by ``n_fft // 2`` on both sides.

    Reflection needs more samples than the pad; shorter signals are zero-padded instead, so that
    very short inputs still give a spectrogram (and finite gradients).
    """
    pad = n_fft // 2
    if pad == 0:
        return x
    if pad_mode == "reflect" and x.shape[-1] <= pad:
        pad_mode = "constant"
    return torch.nn.functional.pad(x.unsqueeze(1), (pad, pad), mode=pad_mode).squeeze(1)


def _check_signal(x: torch.Tensor, name: str = "x") -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ShapeError(f"{name} must have shape (batch, channels, samples), got {shape}")
    if x.shape[-1] == 0:
        raise ShapeError(f"{name} has no samples: shape {tuple(x.shape)}")


def stft(x: torch.Tensor, n_fft: int, hop_length: int, window: torch.Tensor, *,
         center: bool = True, pad_mode: str = "reflect", normalized: bool = False) -> torch.Tensor:
    """Complex STFT of ``x`` ``(batch, channels, samples)`` -> ``(batch, channels, n_fft//2+1, frames)``.

    ``window`` is a ``(win_length,)`` tensor with ``win_length <= n_fft`` (zero-padded, centred).
    Differentiable; runs on the device of ``x`` (``window`` must already be there).
    """
    _check_signal(x)
    if hop_length < 1:
        raise ConfigError(f"hop_length must be >= 1, got {hop_length}")
    b, c, t = x.shape
    flat = x.reshape(b * c, t)
    if center:
        flat = center_pad(flat, n_fft, pad_mode)
    if flat.shape[-1] < n_fft:
        raise ShapeError(f"signal of {t} samples is shorter than n_fft={n_fft} (center={center})")
    spec = torch.stft(flat, n_fft, hop_length, win_length=window.shape[-1], window=window,
                      center=False, normalized=normalized, return_complex=True)
    return spec.reshape(b, c, spec.shape[-2], spec.shape[-1])


def istft(spec: torch.Tensor, n_fft: int, hop_length: int, window: torch.Tensor, *,
          length: int | None = None, center: bool = True, normalized: bool = False) -> torch.Tensor:
    """Inverse of :func:`stft`: complex ``(batch, channels, freq, frames)`` -> ``(batch, channels, samples)``.

    Weighted overlap-add; exact for windows satisfying the NOLA condition (e.g. hann with
    ``hop_length <= win_length / 2``). ``length`` trims or pads the output to that many samples.
    """
    if not torch.is_complex(spec) or spec.dim() != 4:
        raise ShapeError(f"spec must be complex (batch, channels, freq, frames), got {tuple(spec.shape)}")
    b, c, f, n = spec.shape
    if f != n_fft // 2 + 1:
        raise ShapeError(f"spec has {f} frequency bins; n_fft={n_fft} needs {n_fft // 2 + 1}")
    out = torch.istft(spec.reshape(b * c, f, n), n_fft, hop_length, win_length=window.shape[-1],
                      window=window, center=center, normalized=normalized, length=length)
    return out.reshape(b, c, out.shape[-1])


class STFT(nn.Module):
    """STFT with its window as a registered buffer (built once; moves with ``.to(device)``).

    ``forward(x)``: ``(batch, channels, samples)`` -> complex ``(batch, channels, n_fft//2+1, frames)``;
    ``inverse(spec, length)``: back to ``(batch, channels, samples)``. Sample-rate independent.
    """

    def __init__(self, n_fft: int = 1024, hop_length: int | None = None, win_length: int | None = None,
                 *, window: str = "hann", center: bool = True, pad_mode: str = "reflect",
                 normalized: bool = False):
        super().__init__()
        win_length = win_length or n_fft
        if win_length > n_fft:
            raise ConfigError(f"win_length {win_length} exceeds n_fft {n_fft}")
        self.n_fft, self.win_length = int(n_fft), int(win_length)
        self.hop_length = int(hop_length or win_length // 4)
        self.center, self.pad_mode, self.normalized = center, pad_mode, normalized
        self.register_buffer("window", make_window(window, win_length), persistent=False)

    @property
    def n_freqs(self) -> int:
        return self.n_fft // 2 + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return stft(x, self.n_fft, self.hop_length, self.window, center=self.center,
                    pad_mode=self.pad_mode, normalized=self.normalized)

    def inverse(self, spec: torch.Tensor, length: int | None = None) -> torch.Tensor:
        return istft(spec, self.n_fft, self.hop_length, self.window, length=length,
                     center=self.center, normalized=self.normalized)

    def extra_repr(self) -> str:
        return f"n_fft={self.n_fft}, hop_length={self.hop_length}, win_length={self.win_length}"


def magnitude(spec: torch.Tensor, *, power: float = 1.0, eps: float = 0.0) -> torch.Tensor:
    """``|spec| ** power`` with the power spectrum ``|spec|^2`` floored at ``eps``.

    ``power=2`` has finite gradients everywhere; other powers need ``eps > 0`` for a finite
    gradient where the spectrum is exactly zero (e.g. digital silence).
    """
    p = torch.view_as_real(spec).square().sum(-1)
    if eps > 0:
        p = p.clamp_min(eps)
    return p if power == 2.0 else p.pow(power / 2.0)

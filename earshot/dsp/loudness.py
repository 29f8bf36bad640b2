"""Loudness: RMS level and ITU-R BS.1770-4 integrated loudness (LUFS), and normalisation to a target.

Everything is differentiable (the K-weighting filter is applied in the frequency domain; the
gating picks blocks, then the loudness is a smooth function of the chosen blocks' energies).
Audio is ``(batch, channels, samples)``; values are per batch item, ``(batch,)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from earshot.errors import ConfigError, ShapeError
from earshot.validate import check_sample_rate

# Analog prototypes of the two K-weighting stages (BS.1770-4): high shelf, then high-pass (RLB).
_SHELF = dict(f0=1681.974450955533, gain_db=3.999843853973347, q=0.7071752369554196)
_HIGHPASS = dict(f0=38.13547087602444, q=0.5003270373238773)


def _check(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[-1] == 0:
        raise ShapeError(f"audio must be a non-empty (batch, channels, samples) tensor, got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")


def rms_db(x: torch.Tensor, *, eps: float = 1e-10) -> torch.Tensor:
    """RMS level in dB re full scale per item, ``10 log10(mean(x^2) + eps)``: ``(batch,)``."""
    _check(x)
    return 10.0 * torch.log10(x.square().flatten(1).mean(1) + eps)


def rms_normalize(x: torch.Tensor, target_db: float = -20.0, *, eps: float = 1e-10,
                  max_gain_db: float = 60.0) -> torch.Tensor:
    """Scale each item to RMS ``target_db`` dBFS (gain capped at ``max_gain_db``; silence stays silent)."""
    gain_db = (target_db - rms_db(x, eps=eps)).clamp(max=max_gain_db)
    return x * torch.pow(10.0, gain_db / 20.0)[:, None, None]


def k_weighting_coefficients(sample_rate: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(b, a), (b, a)]``: the BS.1770 shelf and high-pass biquads designed for ``sample_rate``.

    At 48 kHz these equal the coefficients printed in the recommendation.
    """
    fs = check_sample_rate(sample_rate)
    k = math.tan(math.pi * _SHELF["f0"] / fs)
    vh = 10.0 ** (_SHELF["gain_db"] / 20.0)
    vb = vh ** 0.4996667741545416
    q = _SHELF["q"]
    a0 = 1.0 + k / q + k * k
    shelf_b = np.array([vh + vb * k / q + k * k, 2.0 * (k * k - vh), vh - vb * k / q + k * k]) / a0
    shelf_a = np.array([a0, 2.0 * (k * k - 1.0), 1.0 - k / q + k * k]) / a0
    k = math.tan(math.pi * _HIGHPASS["f0"] / fs)
    q = _HIGHPASS["q"]
    a0 = 1.0 + k / q + k * k
    hp_a = np.array([a0, 2.0 * (k * k - 1.0), 1.0 - k / q + k * k]) / a0
    hp_b = np.array([1.0, -2.0, 1.0])
    return [(shelf_b, shelf_a), (hp_b, hp_a)]


def _k_response(n: int, sample_rate: int) -> np.ndarray:
    """Complex response of the K-weighting cascade on the ``rfft`` grid of length ``n``."""
    z1 = np.exp(-2j * np.pi * np.fft.rfftfreq(n))
    h = np.ones_like(z1)
    for b, a in k_weighting_coefficients(sample_rate):
        h *= (b[0] + b[1] * z1 + b[2] * z1**2) / (a[0] + a[1] * z1 + a[2] * z1**2)
    return h


def k_weight(x: torch.Tensor, sample_rate: int, *, tail_seconds: float = 0.25) -> torch.Tensor:
    """K-weighted ``x`` ``(batch, channels, samples)``, same shape (zero initial state).

    Filtered by FFT with ``tail_seconds`` of zero padding (the filters' impulse responses
    decay well within it), so it is differentiable and batched.
    """
    _check(x)
    t = x.shape[-1]
    n = t + int(tail_seconds * check_sample_rate(sample_rate))
    h = torch.from_numpy(_k_response(n, sample_rate)).to(device=x.device)
    h = h.to(torch.complex128 if x.dtype == torch.float64 else torch.complex64)
    return torch.fft.irfft(torch.fft.rfft(x, n=n) * h, n=n)[..., :t]


def block_energies(x: torch.Tensor, sample_rate: int, *, block_seconds: float = 0.4,
                   overlap: float = 0.75) -> torch.Tensor:
    """Mean-square energy of K-weighted 400 ms blocks (75 % overlap), summed over channels.

    Returns ``(batch, blocks)``; a signal shorter than one block is one block.
    """
    y = k_weight(x, sample_rate).square().sum(1)
    block = int(round(block_seconds * sample_rate))
    hop = max(1, int(round(block * (1.0 - overlap))))
    if y.shape[-1] < block:
        return y.mean(-1, keepdim=True)
    return y.unfold(-1, block, hop).mean(-1)


def lufs(x: torch.Tensor, sample_rate: int, *, absolute_gate: float = -70.0, relative_gate: float = -10.0,
         floor: float = -100.0) -> torch.Tensor:
    """Gated integrated loudness (BS.1770-4) in LUFS per item: ``(batch,)``.

    ``floor`` (LUFS) is returned where no block passes the absolute gate (e.g. silence); it is
    also the stability floor inside the logarithm. Channel weights are 1 (mono/stereo).
    """
    sample_rate = check_sample_rate(sample_rate)
    z = block_energies(x, sample_rate)
    energy_floor = 10.0 ** ((floor + 0.691) / 10.0)
    loud = -0.691 + 10.0 * torch.log10(z.clamp_min(energy_floor))
    gated = (loud > absolute_gate).to(z.dtype)
    mean_abs = (z * gated).sum(-1) / gated.sum(-1).clamp_min(1.0)
    threshold = -0.691 + 10.0 * torch.log10(mean_abs.clamp_min(energy_floor)) + relative_gate
    keep = gated * (loud > threshold[:, None]).to(z.dtype)
    mean = (z * keep).sum(-1) / keep.sum(-1).clamp_min(1.0)
    out = -0.691 + 10.0 * torch.log10(mean.clamp_min(energy_floor))
    return torch.where(keep.sum(-1) > 0, out, torch.full_like(out, floor))


def loudness_normalize(x: torch.Tensor, sample_rate: int, target_lufs: float = -23.0, *,
                       max_gain_db: float = 60.0, floor: float = -100.0) -> torch.Tensor:
    """Scale each item to ``target_lufs`` integrated loudness (gain capped at ``max_gain_db``).

    Differentiable in ``x`` (the gain depends on ``x`` through :func:`lufs`).
    """
    if max_gain_db <= 0:
        raise ConfigError(f"max_gain_db must be positive, got {max_gain_db}")
    gain_db = (target_lufs - lufs(x, sample_rate, floor=floor)).clamp(max=max_gain_db)
    return x * torch.pow(10.0, gain_db / 20.0)[:, None, None].to(x.dtype)

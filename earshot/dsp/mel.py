"""Mel scales, mel filterbanks (Slaney and HTK, as librosa defines them) and a mel spectrogram module."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from earshot.dsp.stft import make_window, magnitude, stft
from earshot.errors import ConfigError
from earshot.validate import check_sample_rate

_F_SP = 200.0 / 3.0          # Slaney: 66.67 Hz per mel below 1 kHz
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(freq, *, htk: bool = False) -> np.ndarray:
    """Hz -> mel: HTK (``2595 log10(1 + f/700)``) or Slaney (linear below 1 kHz, log above)."""
    f = np.asarray(freq, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    mel = f / _F_SP
    log_part = _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log_part, mel)


def mel_to_hz(mel, *, htk: bool = False) -> np.ndarray:
    """Mel -> Hz, the inverse of :func:`hz_to_mel`."""
    m = np.asarray(mel, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    log_part = _MIN_LOG_HZ * np.exp(_LOGSTEP * (np.maximum(m, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(m >= _MIN_LOG_MEL, log_part, _F_SP * m)


def mel_frequencies(n: int, *, f_min: float = 0.0, f_max: float = 11025.0, htk: bool = False) -> np.ndarray:
    """``n`` frequencies (Hz) evenly spaced on the mel scale between ``f_min`` and ``f_max``."""
    mels = np.linspace(hz_to_mel(f_min, htk=htk), hz_to_mel(f_max, htk=htk), n)
    return mel_to_hz(mels, htk=htk)


def mel_filterbank(*, sample_rate: int, n_fft: int, n_mels: int = 128, f_min: float = 0.0,
                   f_max: float | None = None, htk: bool = False, norm: str | float | None = "slaney",
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Triangular mel filterbank ``(n_mels, n_fft // 2 + 1)``, equal to ``librosa.filters.mel``.

    ``htk`` picks the HTK mel scale (else Slaney's). ``norm="slaney"`` scales each triangle to
    unit area (2 / bandwidth); a number ``p`` normalises each row to unit p-norm; None leaves
    peaks at 1. Computed in float64, returned as ``dtype``.
    """
    sample_rate = check_sample_rate(sample_rate)
    f_max = sample_rate / 2.0 if f_max is None else float(f_max)
    if not 0 <= f_min < f_max <= sample_rate / 2.0:
        raise ConfigError(f"need 0 <= f_min < f_max <= sample_rate/2, got f_min={f_min}, f_max={f_max}")
    if n_mels < 1 or n_fft < 2:
        raise ConfigError(f"need n_mels >= 1 and n_fft >= 2, got n_mels={n_mels}, n_fft={n_fft}")
    fft_freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    mel_f = mel_frequencies(n_mels + 2, f_min=f_min, f_max=f_max, htk=htk)
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":
        weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    elif norm is not None and not isinstance(norm, str):
        size = np.linalg.norm(weights, ord=norm, axis=-1, keepdims=True)
        weights = weights / np.where(size > 0, size, 1.0)
    elif norm is not None:
        raise ConfigError(f"norm must be 'slaney', a number or None, got {norm!r}")
    return torch.from_numpy(weights).to(dtype)


class MelSpectrogram(nn.Module):
    """Mel spectrogram: ``(batch, channels, samples)`` -> ``(batch, channels, n_mels, frames)``.

    ``|STFT| ** power`` (power floored at ``eps`` before the exponent) projected on a mel
    filterbank held as a buffer. ``sample_rate`` is required (Hz).
    """

    def __init__(self, sample_rate: int, n_fft: int = 1024, hop_length: int | None = None,
                 win_length: int | None = None, n_mels: int = 128, *, f_min: float = 0.0,
                 f_max: float | None = None, power: float = 2.0, htk: bool = False,
                 norm: str | float | None = "slaney", window: str = "hann", center: bool = True,
                 pad_mode: str = "reflect", eps: float = 0.0):
        super().__init__()
        self.sample_rate = check_sample_rate(sample_rate)
        win_length = win_length or n_fft
        self.n_fft, self.win_length = n_fft, win_length
        self.hop_length = hop_length or win_length // 4
        self.power, self.center, self.pad_mode, self.eps = power, center, pad_mode, eps
        self.register_buffer("window", make_window(window, win_length), persistent=False)
        fb = mel_filterbank(sample_rate=sample_rate, n_fft=n_fft, n_mels=n_mels, f_min=f_min,
                            f_max=f_max, htk=htk, norm=norm)
        self.register_buffer("filterbank", fb, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec = stft(x, self.n_fft, self.hop_length, self.window, center=self.center, pad_mode=self.pad_mode)
        mag = magnitude(spec, power=self.power, eps=self.eps)
        return torch.matmul(self.filterbank, mag)

"""Finishing steps shared by every corpus source: trim silence, resample, fade, set the level.

All take and return mono float ``(samples,)`` arrays.
"""

from __future__ import annotations

import numpy as np

from earshot.audio.resample import resample


def trim_silence(audio, sample_rate: int, *, threshold_db: float = -50.0, margin: float = 0.1) -> np.ndarray:
    """Cut leading and trailing samples quieter than ``threshold_db`` below the peak, keeping
    ``margin`` seconds on each side. Digital silence comes back unchanged."""
    audio = np.asarray(audio)
    loud = np.nonzero(np.abs(audio) > np.abs(audio).max() * 10 ** (threshold_db / 20))[0]
    if loud.size == 0:
        return audio
    pad = int(margin * sample_rate)
    return audio[max(0, loud[0] - pad): loud[-1] + pad]


def to_rate(audio, orig: int, target: int) -> np.ndarray:
    """Resample from ``orig`` to ``target`` Hz (the toolkit's resampler); float32."""
    import torch

    if orig == target:
        return np.asarray(audio, dtype=np.float32)
    return resample(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)), orig, target).numpy()


def fade(audio, sample_rate: int, *, fade_in: float = 0.01, fade_out: float = 0.01) -> np.ndarray:
    """Linear fades of ``fade_in`` / ``fade_out`` seconds at the two ends; float64."""
    audio = np.asarray(audio, dtype=np.float64).copy()
    n_in, n_out = int(fade_in * sample_rate), int(fade_out * sample_rate)
    audio[:n_in] *= np.linspace(0, 1, n_in)
    audio[len(audio) - n_out:] *= np.linspace(1, 0, n_out)
    return audio


def set_level(audio, level_db: float) -> np.ndarray:
    """Scale to ``level_db`` dBFS RMS, then limit the peak to 0.99; float32."""
    audio = np.asarray(audio, dtype=np.float64)
    rms = np.sqrt(np.mean(audio**2))
    if rms > 0:
        audio = audio * (10 ** (level_db / 20) / rms)
    peak = np.abs(audio).max()
    if peak > 0.99:
        audio = audio * (0.99 / peak)
    return audio.astype(np.float32)

"""Deterministic test signals for the data tests (speech-like and music-like)."""

from __future__ import annotations

import numpy as np
import torch
from scipy.signal import lfilter


def vowel(sample_rate: int = 16000, seconds: float = 1.0, seed: int = 0) -> torch.Tensor:
    """Speech-like ``(1, T)``: a pulse train with wandering f0 through two formants, syllabic envelope."""
    rng = np.random.default_rng(seed)
    n = int(sample_rate * seconds)
    t = np.arange(n) / sample_rate
    f0 = 120 + 30 * np.sin(2 * np.pi * 2.1 * t + rng.uniform(0, 6))
    x = np.diff(np.floor(np.cumsum(f0) / sample_rate), prepend=0.0)
    for formant, bw in ((700, 120), (1200, 150), (2600, 200)):
        r = np.exp(-np.pi * bw / sample_rate)
        x = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * formant / sample_rate), r * r], x)
    x = x * (0.2 + 0.8 * np.sin(np.pi * 3 * t) ** 2) + 0.002 * rng.standard_normal(n)
    return torch.from_numpy((0.5 * x / np.abs(x).max()).astype(np.float32))[None]


def chord(sample_rate: int = 16000, seconds: float = 1.0) -> torch.Tensor:
    """Music-like ``(1, T)``: decaying notes of a chord with a few harmonics."""
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    x = sum(0.1 / k * np.sin(2 * np.pi * f * k * t) for f in (196.0, 247.0, 294.0) for k in (1, 2, 3, 5))
    return torch.from_numpy((x * np.exp(-3 * (t % 0.5))).astype(np.float32))[None]

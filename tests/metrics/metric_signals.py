"""Test signals for the metric tests: a speech-like signal that PESQ and STOI accept."""

from __future__ import annotations

import math

import numpy as np
import scipy.signal
import torch


def speechlike(sample_rate: int = 16000, seconds: float = 1.5, seed: int = 0) -> torch.Tensor:
    """A ``(1, 1, samples)`` voiced source-filter signal: a glottal pulse train (pitch gliding
    100-180 Hz) through two formant resonators that move every syllable, with a 4 Hz
    syllabic envelope and short pauses, so PESQ's and STOI's voice activity detection see
    utterances."""
    rng = np.random.default_rng(seed)
    n = int(sample_rate * seconds)
    t = np.arange(n) / sample_rate
    f0 = 140 + 40 * np.sin(2 * math.pi * 0.7 * t + rng.uniform(0, 6))
    phase = np.cumsum(f0 / sample_rate)
    source = (np.diff(np.floor(phase), prepend=0) > 0).astype(float)
    source += 0.02 * rng.standard_normal(n)
    out = np.zeros(n)
    syllable = int(0.25 * sample_rate)
    for start in range(0, n, syllable):
        seg = slice(start, min(n, start + syllable))
        y = source[seg]
        for formant, bw in ((rng.uniform(300, 900), 80), (rng.uniform(900, 2500), 120)):
            r = math.exp(-math.pi * bw / sample_rate)
            w = 2 * math.pi * formant / sample_rate
            y = scipy.signal.lfilter([1 - r], [1, -2 * r * math.cos(w), r * r], y)
        out[seg] = y
    envelope = np.clip(np.sin(2 * math.pi * 2 * t) ** 2 * 1.4 - 0.2, 0, 1)
    out *= envelope
    out = 0.5 * out / np.abs(out).max()
    return torch.from_numpy(out).float().reshape(1, 1, n)


def add_noise(x: torch.Tensor, snr_db: float, seed: int = 1) -> torch.Tensor:
    """``x`` plus white noise scaled to exactly ``snr_db`` over the whole item."""
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
    scale = (x.square().sum() / noise.square().sum() / 10 ** (snr_db / 10)).sqrt()
    return x + scale * noise

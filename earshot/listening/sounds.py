"""Sounds the app makes itself for the volume and headphone checks (16-bit stereo WAV bytes).

- ``calibration``: 2 s of pink noise at -23 dBFS RMS in both ears, for setting a comfortable
  volume before the test.
- ``left`` / ``right``: a 1 s, 500 Hz tone (10 ms ramps) in one ear only; the participant says
  which ear heard it. A participant on loudspeakers, or with swapped or mono headphones, fails.
"""

from __future__ import annotations

import functools
import io

import numpy as np
import soundfile as sf

from earshot.errors import ConfigError

SAMPLE_RATE = 16000
NAMES = ("calibration", "left", "right")


def _ramp(x: np.ndarray, seconds: float = 0.01) -> np.ndarray:
    n = int(seconds * SAMPLE_RATE)
    env = np.ones_like(x)
    env[:n] = np.linspace(0, 1, n)
    env[-n:] = np.linspace(1, 0, n)
    return x * env


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size)
    f[0] = 1
    x = np.fft.irfft(spec / np.sqrt(f), n)
    return x / np.sqrt(np.mean(x**2))


@functools.lru_cache(maxsize=None)
def check_sound(name: str) -> bytes:
    """The WAV bytes of check sound ``name`` (one of `NAMES`); deterministic."""
    if name not in NAMES:
        raise ConfigError(f"unknown check sound {name!r}; expected one of {NAMES}")
    if name == "calibration":
        mono = _ramp(_pink(2 * SAMPLE_RATE, np.random.default_rng(0)) * 10 ** (-23 / 20))
        stereo = np.stack([mono, mono], axis=1)
    else:
        t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
        tone = _ramp(0.25 * np.sin(2 * np.pi * 500 * t))
        stereo = np.zeros((tone.size, 2))
        stereo[:, 0 if name == "left" else 1] = tone
    buf = io.BytesIO()
    sf.write(buf, stereo.astype(np.float32), SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return buf.getvalue()

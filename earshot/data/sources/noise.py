"""Noise and ambience for the corpus: coloured noises, babble from corpus speech, synthetic scenes.

``draw_noise(rng, seconds)`` draws a noise item's parameters; ``render_noise(params, sample_rate,
speech=...)`` makes it deterministically (babble and cafe need the corpus' speech clips).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt

COLOURS = {"white": 0.0, "pink": -1.0, "brown": -2.0, "blue": 1.0, "violet": 2.0}  # power-spectrum slope
AMBIENCES = ("rain", "wind", "hum", "fan", "keyboard", "waves", "traffic")
NEEDS_SPEECH = ("babble", "cafe")
NOISE_TYPES = tuple(COLOURS) + AMBIENCES + NEEDS_SPEECH


def coloured_noise(n: int, colour: str | float, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of noise whose power spectrum goes as ``f ** slope`` (unit RMS, float64).

    ``colour`` is a name in ``COLOURS`` (white 0, pink -1, brown -2, blue +1, violet +2) or a slope.
    """
    slope = COLOURS[colour] if isinstance(colour, str) else float(colour)
    white = rng.standard_normal(max(n, 2))
    if slope == 0.0:
        out = white
    else:
        spec = np.fft.rfft(white)
        f = np.arange(spec.size, dtype=np.float64)
        f[0] = f[1]
        out = np.fft.irfft(spec * f ** (slope / 2), max(n, 2))
    out = out[:n]
    return out / max(np.sqrt(np.mean(out**2)), 1e-12)


def draw_noise(rng: np.random.Generator, seconds: float, *, types=NOISE_TYPES) -> dict:
    """Draw one noise item: its type, a seed for its texture, its level and type settings."""
    kind = str(rng.choice(types))
    params = {"type": kind, "seed": int(rng.integers(0, 2**31 - 1)), "seconds": float(seconds),
              "level_db": float(np.round(rng.uniform(-34, -20), 2))}
    if kind in NEEDS_SPEECH:
        params["talkers"] = int(rng.integers(3, 9) if kind == "babble" else rng.integers(2, 5))
    if kind == "hum":
        params["mains_hz"] = int(rng.choice((50, 60)))
    if kind == "rain":
        params["drops_per_second"] = float(np.round(rng.uniform(20, 250), 1))
    if kind == "fan":
        params["blade_hz"] = float(np.round(rng.uniform(60, 220), 1))
    return params


def render_noise(params: dict, sample_rate: int, *, speech: list[np.ndarray] | None = None) -> np.ndarray:
    """Render a noise item to float32 mono ``(samples,)`` at ``sample_rate``, normalised to
    ``params['level_db']`` dBFS RMS. ``speech``: clips to mix for babble/cafe (same split)."""
    rng = np.random.default_rng(params["seed"])
    n = int(round(params["seconds"] * sample_rate))
    kind = params["type"]
    if kind in COLOURS:
        x = coloured_noise(n, kind, rng)
    elif kind in NEEDS_SPEECH:
        if not speech:
            raise ValueError(f"{kind} noise needs speech clips")
        x = _babble(rng, n, speech, params["talkers"])
        if kind == "cafe":
            x = x / _rms(x) + 0.6 * _clinks(rng, n, sample_rate) + 0.3 * _lowpass(coloured_noise(n, "brown", rng), 300, sample_rate)
    else:
        x = _AMBIENCE[kind](rng, n, sample_rate, params)
    x = x / max(_rms(x), 1e-12) * 10 ** (params["level_db"] / 20)
    peak = np.abs(x).max()
    if peak > 0.99:
        x *= 0.99 / peak
    return x.astype(np.float32)


def _rms(x):
    return float(np.sqrt(np.mean(x**2)))


def _lowpass(x, cutoff, sr, order=4):
    return sosfilt(butter(order, min(cutoff, 0.45 * sr), fs=sr, output="sos"), x)


def _bandpass(x, lo, hi, sr, order=2):
    return sosfilt(butter(order, (lo, min(hi, 0.45 * sr)), btype="band", fs=sr, output="sos"), x)


def _smooth_random(rng, n, sr, rate_hz):
    """A slowly wandering positive envelope (random values at ``rate_hz``, interpolated)."""
    points = max(2, int(n / sr * rate_hz) + 2)
    values = rng.uniform(0.2, 1.0, points)
    return np.interp(np.arange(n), np.linspace(0, n, points), values)


def _bursts(rng, n, sr, times, length_s, freq_range, decay_s):
    """Sum of short decaying band-limited noise bursts starting at ``times`` (seconds)."""
    out = np.zeros(n)
    m = int(length_s * sr)
    env = np.exp(-np.arange(m) / (decay_s * sr))
    for t in times:
        a = int(t * sr)
        if a >= n:
            continue
        lo = rng.uniform(*freq_range)
        burst = _bandpass(rng.standard_normal(m), lo, lo * rng.uniform(1.3, 2.5), sr) * env * rng.uniform(0.3, 1.0)
        out[a:a + m] += burst[: n - a]
    return out


def _rain(rng, n, sr, p):
    seconds = n / sr
    drops = np.sort(rng.uniform(0, seconds, int(p["drops_per_second"] * seconds)))
    bed = _lowpass(coloured_noise(n, "pink", rng), 6000, sr)
    return 0.5 * bed + 3 * _bursts(rng, n, sr, drops, 0.03, (800, 4000), 0.004)


def _wind(rng, n, sr, p):
    gusts = _smooth_random(rng, n, sr, 0.6) ** 2
    return _bandpass(coloured_noise(n, "brown", rng), 40, 900, sr) * gusts + 0.05 * coloured_noise(n, "pink", rng) * gusts


def _hum(rng, n, sr, p):
    t = np.arange(n) / sr
    f = p["mains_hz"]
    tones = sum(rng.uniform(0.1, 1.0) / k * np.sin(2 * np.pi * f * k * t + rng.uniform(0, 6)) for k in range(1, 12) if f * k < sr / 2)
    return tones + 0.05 * coloured_noise(n, "pink", rng)


def _fan(rng, n, sr, p):
    t = np.arange(n) / sr
    b = p["blade_hz"] * (1 + 0.003 * np.sin(2 * np.pi * 0.2 * t))
    phase = 2 * np.pi * np.cumsum(b) / sr
    tones = sum(0.3 / k * np.sin(k * phase) for k in range(1, 5))
    return _lowpass(coloured_noise(n, "pink", rng), 3000, sr) + tones


def _keyboard(rng, n, sr, p):
    seconds, times, t = n / sr, [], rng.uniform(0, 0.5)
    while t < seconds:  # typing bursts with pauses
        t += rng.exponential(0.12) if rng.random() > 0.08 else rng.uniform(0.5, 1.5)
        times.append(t)
    return _bursts(rng, n, sr, times, 0.02, (1500, 5000), 0.003) + 0.01 * coloured_noise(n, "pink", rng)


def _waves(rng, n, sr, p):
    t = np.arange(n) / sr
    period = rng.uniform(5, 10)
    swell = (0.5 + 0.5 * np.sin(2 * np.pi * t / period + rng.uniform(0, 6))) ** 3
    return _lowpass(coloured_noise(n, "brown", rng), 1200, sr) * 0.3 + _bandpass(coloured_noise(n, "pink", rng), 300, 5000, sr) * swell


def _traffic(rng, n, sr, p):
    seconds = n / sr
    t = np.arange(n) / sr
    out = 0.4 * _lowpass(coloured_noise(n, "brown", rng), 250, sr)
    for c in rng.uniform(-1, seconds + 1, int(rng.integers(1, 4) * max(1, seconds / 5))):
        env = np.exp(-0.5 * ((t - c) / rng.uniform(0.8, 2.0)) ** 2)
        out += env * _lowpass(coloured_noise(n, "pink", rng), rng.uniform(600, 2500), sr) * rng.uniform(0.5, 1.5)
    return out


_AMBIENCE = {"rain": _rain, "wind": _wind, "hum": _hum, "fan": _fan, "keyboard": _keyboard,
             "waves": _waves, "traffic": _traffic}


def _babble(rng, n, speech, talkers):
    """``talkers`` voices, each a chain of random clips at random offsets, equal RMS, summed."""
    out = np.zeros(n)
    for _ in range(talkers):
        voice, at = np.zeros(n), int(rng.integers(-n // 4, n // 4))
        while at < n:
            clip = speech[int(rng.integers(len(speech)))]
            a, b = max(at, 0), min(at + len(clip), n)
            if b > a:
                voice[a:b] += clip[a - at:b - at]
            at += len(clip) + int(rng.integers(0, n // 20 + 1))
        out += voice / max(_rms(voice), 1e-9)
    return out


def _clinks(rng, n, sr):
    t = np.arange(int(0.25 * sr)) / sr
    out = np.zeros(n)
    for start in rng.uniform(0, n / sr, int(rng.integers(2, 6) * n / sr / 3) + 1):
        a = int(start * sr)
        f = rng.uniform(2000, 5000)
        clink = np.sin(2 * np.pi * f * t) * np.exp(-t * rng.uniform(15, 40)) * rng.uniform(0.5, 2)
        m = min(len(clink), n - a)
        out[a:a + m] += clink[:m]
    return out

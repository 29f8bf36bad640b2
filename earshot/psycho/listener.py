"""A SIMULATED listener: a psychoacoustic detector that stands in for human JND judgments.

THIS IS NOT HUMAN DATA. Judgments made here bootstrap a JND metric where no listening test has
been run; every dataset, weight file and report built from them must say "simulated listener".
Replace them with real judgments (the web listening test, DPAM's public lists) when you can.

The detector is a small masking model in the spirit of the noise-to-mask ratio (NMR) of
Brandenburg (1987) and the PEAQ basic model, not a reimplementation of either:

1. Both clips are framed (about 32 ms Hann windows, half overlap) and calibrated to dB SPL
   (a full-scale sine = ``level_db``, 92 dB SPL by default).
2. Power is summed in half-Bark bands (Zwicker's Bark scale, Traunmueller-style formula).
3. The reference's band powers are spread across bands with Schroeder's spreading function,
   lowered by ``mask_offset_db``, carried forward in time with a ``forward_decay_db`` per-frame
   decay (forward masking), and floored at the absolute threshold of hearing (Terhardt).
4. The difference ``test - reference`` is the "noise"; its band powers over the masked
   threshold give the NMR per band and frame.
5. The detection statistic is the power mean (exponent ``pool``) of the NMR over bands and
   frames, in dB: 0 dB means the difference sits at the masked threshold on average.

A listener turns the statistic ``s`` into a decision with a psychometric function
``P(different) = lapse + (1 - 2 lapse) * Phi((s - threshold_db) / noise_db)``; each simulated
listener of a panel has its own threshold and internal noise.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import ndtr

from earshot.errors import ConfigError, ShapeError
from earshot.validate import check_sample_rate


def bark(freq: np.ndarray) -> np.ndarray:
    """Critical-band rate in Bark for frequencies in Hz (Zwicker and Terhardt, 1980)."""
    f = np.asarray(freq, dtype=np.float64)
    return 13.0 * np.arctan(0.00076 * f) + 3.5 * np.arctan((f / 7500.0) ** 2)


def threshold_in_quiet(freq: np.ndarray) -> np.ndarray:
    """Absolute threshold of hearing in dB SPL (Terhardt, 1979), for frequencies in Hz."""
    f = np.maximum(np.asarray(freq, dtype=np.float64), 20.0) / 1000.0
    return 3.64 * f ** -0.8 - 6.5 * np.exp(-0.6 * (f - 3.3) ** 2) + 1e-3 * f ** 4


def schroeder_spreading(dz: np.ndarray) -> np.ndarray:
    """Schroeder et al. (1979) spreading function in dB at Bark distance ``dz`` (masker to maskee)."""
    x = np.asarray(dz, dtype=np.float64) + 0.474
    return 15.81 + 7.5 * x - 17.5 * np.sqrt(1.0 + x * x)


class NMRDetector:
    """Noise-to-mask ratio of ``test - reference``: a simulated listener's ear (see the module doc).

    Audio is numpy or torch ``(channels, samples)`` or ``(samples,)`` at ``sample_rate``;
    channels are averaged in the power domain. Every epsilon and constant is an argument.
    """

    def __init__(self, sample_rate: int, *, frame_seconds: float = 0.032, level_db: float = 92.0,
                 band_width_bark: float = 0.5, mask_offset_db: float = 10.0, forward_decay_db: float = 6.0,
                 pool: float = 3.0, eps: float = 1e-12):
        self.sample_rate = check_sample_rate(sample_rate)
        if pool < 1 or band_width_bark <= 0:
            raise ConfigError(f"need pool >= 1 and band_width_bark > 0, got {pool}, {band_width_bark}")
        self.n_fft = 2 ** int(round(math.log2(frame_seconds * sample_rate)))
        self.hop = self.n_fft // 2
        self.level_db, self.mask_offset_db = level_db, mask_offset_db
        self.forward_decay_db, self.pool, self.eps = forward_decay_db, pool, eps
        self.window = np.hanning(self.n_fft + 1)[:-1]
        freqs = np.fft.rfftfreq(self.n_fft, 1.0 / sample_rate)
        z = bark(freqs)
        edges = np.arange(0.0, z[-1] + band_width_bark, band_width_bark)
        band = np.clip(np.searchsorted(edges, z, side="right") - 1, 0, len(edges) - 2)
        used = np.unique(band)
        self.bands = np.zeros((len(used), len(freqs)))  # (bands, bins) 0/1 grouping
        for i, b in enumerate(used):
            self.bands[i, band == b] = 1.0
        centres = (self.bands @ z) / self.bands.sum(1)
        self.centres_bark = centres
        spread_db = schroeder_spreading(centres[None, :] - centres[:, None])  # [masker, maskee]
        self.spread = 10.0 ** (spread_db / 10.0)
        ath_db = threshold_in_quiet(freqs)
        self.ath = np.array([10.0 ** (ath_db[self.bands[i] > 0].min() / 10.0) for i in range(len(used))])
        # scale so that a full-scale sine peaks at level_db in its bin
        self.calibration = 10.0 ** (level_db / 10.0) / (self.window.sum() / 2.0) ** 2

    def band_power(self, audio) -> np.ndarray:
        """``(frames, bands)`` band power in SPL units (power, not dB), channels averaged."""
        x = _as_2d(audio)
        if x.shape[-1] < self.n_fft:
            x = np.pad(x, ((0, 0), (0, self.n_fft - x.shape[-1])))
        frames = np.lib.stride_tricks.sliding_window_view(x, self.n_fft, axis=-1)[:, :: self.hop]
        spec = np.abs(np.fft.rfft(frames * self.window, axis=-1)) ** 2  # (C, frames, bins)
        return (spec.mean(0) @ self.bands.T) * self.calibration

    def masked_threshold(self, ref_power: np.ndarray) -> np.ndarray:
        """``(frames, bands)`` masked threshold of a reference's band power, floored by the ATH."""
        mask = ref_power @ self.spread * 10.0 ** (-self.mask_offset_db / 10.0)
        decay = 10.0 ** (-self.forward_decay_db / 10.0)
        for t in range(1, mask.shape[0]):
            mask[t] = np.maximum(mask[t], mask[t - 1] * decay)
        return np.maximum(mask, self.ath[None, :])

    def nmr(self, reference, test) -> np.ndarray:
        """``(frames, bands)`` noise-to-mask ratio (power ratio) of ``test - reference``."""
        ref, tst = _as_2d(reference), _as_2d(test)
        if ref.shape != tst.shape:
            raise ShapeError(f"reference shape {ref.shape} does not match test shape {tst.shape}")
        noise = self.band_power(tst - ref)
        return noise / (self.masked_threshold(self.band_power(ref)) + self.eps)

    def statistic(self, reference, test) -> float:
        """Detection statistic in dB: the power mean (exponent ``pool``) of the NMR."""
        ratio = self.nmr(reference, test)
        pooled = np.mean(ratio ** self.pool) ** (1.0 / self.pool)
        return float(10.0 * np.log10(pooled + self.eps))


@dataclass
class SimulatedListener:
    """One simulated listener: the psychometric function on the detector's statistic (dB).

    ``P(different) = lapse + (1 - 2 lapse) * Phi((s - threshold_db) / noise_db)``.
    A stand-in for a person, never a person: label everything it produces as simulated.
    """

    threshold_db: float = 0.0
    noise_db: float = 2.0
    lapse: float = 0.02
    name: str = "sim-0"

    def p_different(self, statistic_db: float) -> float:
        return float(self.lapse + (1 - 2 * self.lapse) * ndtr((statistic_db - self.threshold_db) / self.noise_db))

    def judge(self, statistic_db: float, rng: np.random.Generator) -> bool:
        """One "different" (True) / "exactly identical" (False) answer, drawn with ``rng``."""
        return bool(rng.random() < self.p_different(statistic_db))

    def to_dict(self) -> dict:
        return asdict(self)


def listener_panel(n: int, *, seed: int = 0, threshold_db: float = 0.0, threshold_spread_db: float = 2.0,
                   noise_db: float = 2.0, noise_spread: float = 0.3, lapse: float = 0.02) -> list[SimulatedListener]:
    """``n`` simulated listeners with thresholds ~ N(threshold_db, spread) and log-normal noise."""
    if n < 1:
        raise ConfigError(f"a panel needs at least one listener, got n={n}")
    rng = np.random.default_rng(seed)
    return [
        SimulatedListener(
            threshold_db=float(threshold_db + threshold_spread_db * rng.standard_normal()),
            noise_db=float(noise_db * math.exp(noise_spread * rng.standard_normal())),
            lapse=lapse, name=f"sim-{seed}-{i}",
        )
        for i in range(n)
    ]


def _as_2d(audio) -> np.ndarray:
    if hasattr(audio, "detach"):
        audio = audio.detach().cpu().numpy()
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2:
        raise ShapeError(f"audio must be (channels, samples) or (samples,), got shape {x.shape}")
    return x

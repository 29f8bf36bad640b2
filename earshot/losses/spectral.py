"""Spectral losses: STFT magnitude distances at one or many resolutions, on linear or mel frequency.

Every loss here takes audio ``(batch, channels, samples)`` and returns, with
``reduction="none"``, one value per batch item (multi-resolution ones included). All run on
the fused engine :func:`earshot.dsp.spectral_distance.spectral_distance`: input and target
share one batched FFT per resolution, and the backward pass is written out by hand.

References: spectral convergence and log-magnitude STFT loss (Arik et al. 2018,
arXiv:1808.06719), multi-resolution STFT loss (Yamamoto et al. 2020, arXiv:1910.11480; the
defaults are auraloss's), multi-resolution mel loss (Kumar et al. 2023, DAC, arXiv:2306.06546),
multi-scale spectral loss (Zeghidour et al. 2021, SoundStream, arXiv:2107.03312), sum and
difference stereo loss (Steinmetz et al. 2020, arXiv:2010.10291), A-weighting pre-filter
(Wright & Välimäki 2019, arXiv:1911.08922).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from earshot.dsp.mel import mel_filterbank
from earshot.dsp.spectral_distance import DistanceTerms, spectral_distance
from earshot.dsp.stft import make_window
from earshot.dsp.weighting import a_weighting, fir_filter, preemphasis
from earshot.errors import ConfigError, ShapeError
from earshot.losses.precision import float32_loss
from earshot.validate import check_pair, check_reduction, check_sample_rate, reduce


@dataclass(frozen=True)
class Resolution:
    """One STFT resolution: FFT size, hop, window length, and mel bins (None: linear frequency)."""

    n_fft: int
    hop_length: int
    win_length: int
    n_mels: int | None = None

    def __post_init__(self):
        if not (1 <= self.win_length <= self.n_fft) or self.hop_length < 1:
            raise ConfigError(f"invalid resolution {self}: need 1 <= win_length <= n_fft and hop_length >= 1")


class SpectralLoss(nn.Module):
    """Weighted sum over resolutions of per-item spectral distances (the base of every loss here).

    Args:
        resolutions: the STFT resolutions.
        terms: the distance terms, one for all resolutions or one per resolution.
        weights: per-resolution weights; ``combine="mean"`` divides their sum by the count.
        sample_rate: Hz; required for mel resolutions and A-weighting.
        window: window name (see :func:`earshot.dsp.stft.make_window`).
        prefilter: None, ``"a_weighting"`` (FIR designed for ``sample_rate``) or ``"preemphasis"``.
        sum_difference: for stereo ``(B, 2, T)``: compare the sum and difference signals
            instead, ``(w_sum * L(sum) + w_diff * L(diff)) / 2``.
        mel: dict of mel filterbank options (f_min, f_max, htk, norm).
        reduction: ``"mean" | "sum" | "none"`` (one value per batch item).
    """

    def __init__(self, resolutions: Sequence[Resolution], terms: DistanceTerms | Sequence[DistanceTerms], *,
                 weights: Sequence[float] | None = None, combine: str = "mean", sample_rate: int | None = None,
                 window: str = "hann", prefilter: str | None = None, preemphasis_coef: float = 0.85,
                 sum_difference: bool = False, w_sum: float = 1.0, w_diff: float = 1.0,
                 mel: dict | None = None, reduction: str = "mean"):
        super().__init__()
        self.resolutions = list(resolutions)
        if not self.resolutions:
            raise ConfigError("at least one resolution is required")
        self.terms = [terms] * len(self.resolutions) if isinstance(terms, DistanceTerms) else list(terms)
        self.weights = [1.0] * len(self.resolutions) if weights is None else [float(w) for w in weights]
        if not len(self.terms) == len(self.weights) == len(self.resolutions):
            raise ConfigError("terms and weights need one entry per resolution")
        if combine not in ("mean", "sum"):
            raise ConfigError(f"combine must be 'mean' or 'sum', got {combine!r}")
        self.combine = combine
        self.reduction = check_reduction(reduction)
        needs_rate = prefilter == "a_weighting" or any(r.n_mels for r in self.resolutions)
        self.sample_rate = check_sample_rate(sample_rate) if needs_rate or sample_rate is not None else None
        self.sum_difference, self.w_sum, self.w_diff = sum_difference, w_sum, w_diff
        for i, res in enumerate(self.resolutions):
            self.register_buffer(f"window_{i}", make_window(window, res.win_length), persistent=False)
            if res.n_mels:
                fb = mel_filterbank(sample_rate=self.sample_rate, n_fft=res.n_fft, n_mels=res.n_mels, **(mel or {}))
                self.register_buffer(f"filterbank_{i}", fb, persistent=False)
        if prefilter == "a_weighting":
            self.register_buffer("prefilter_taps", a_weighting(self.sample_rate), persistent=False)
        elif prefilter == "preemphasis":
            self.register_buffer("prefilter_taps", preemphasis(preemphasis_coef), persistent=False)
        elif prefilter is not None:
            raise ConfigError(f"prefilter must be None, 'a_weighting' or 'preemphasis', got {prefilter!r}")
        self.prefilter = prefilter

    def _prepare(self, input: torch.Tensor, target: torch.Tensor):
        """Validated pair -> (x rows, y rows, items): rows are (item, channel) pairs flattened."""
        check_pair(input, target)
        b, c, t = input.shape
        if self.prefilter is not None:
            both = fir_filter(torch.cat([input, target]), self.prefilter_taps)
            input, target = both[:b], both[b:]
        if self.sum_difference:
            if c != 2:
                raise ShapeError(f"sum_difference needs stereo input (batch, 2, samples), got {tuple(input.shape)}")
            input = torch.stack([input.sum(1), input[:, 0] - input[:, 1]])
            target = torch.stack([target.sum(1), target[:, 0] - target[:, 1]])
            return input.reshape(2 * b, t), target.reshape(2 * b, t), 2 * b
        return input.reshape(b * c, t), target.reshape(b * c, t), b

    @float32_loss
    def per_resolution(self, input: torch.Tensor, target: torch.Tensor) -> list[torch.Tensor]:
        """Unweighted per-item distance at each resolution: a list of ``(batch,)`` tensors."""
        x, y, items = self._prepare(input, target)
        out = []
        for i, (res, terms) in enumerate(zip(self.resolutions, self.terms)):
            d = spectral_distance(x, y, n_fft=res.n_fft, hop_length=res.hop_length,
                                  window=getattr(self, f"window_{i}"), terms=terms, items=items,
                                  filterbank=getattr(self, f"filterbank_{i}", None))
            if self.sum_difference:
                d = (self.w_sum * d[: items // 2] + self.w_diff * d[items // 2:]) / 2
            out.append(d)
        return out

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``input``, ``target``: ``(batch, channels, samples)`` -> reduced float32 loss (``(batch,)`` for "none");
        float32 through `per_resolution`."""
        parts = self.per_resolution(input, target)
        total = sum(w * d for w, d in zip(self.weights, parts))
        if self.combine == "mean":
            total = total / len(parts)
        return reduce(total, self.reduction)


def _mag_terms(log: bool, distance: str, eps: float, weight: float = 1.0) -> DistanceTerms:
    distance = distance.lower()
    if distance not in ("l1", "l2"):
        raise ConfigError(f"distance must be 'l1' or 'l2', got {distance!r}")
    key = ("log_" if log else "lin_") + ("l1" if distance == "l1" else "mse")
    return DistanceTerms(power_eps=eps, **{key: weight})


class SpectralConvergenceLoss(SpectralLoss):
    """Spectral convergence ``||S_y - S_x||_F / ||S_y||_F`` of STFT magnitudes, per item (Arik et al. 2018).

    ``eps`` floors the power spectrum (so silence gives finite values and gradients).
    """

    def __init__(self, n_fft: int = 1024, hop_length: int = 256, win_length: int | None = None, *,
                 window: str = "hann", eps: float = 1e-8, reduction: str = "mean"):
        super().__init__([Resolution(n_fft, hop_length, win_length or n_fft)],
                         DistanceTerms(sc=1.0, power_eps=eps), window=window, reduction=reduction)


class STFTMagnitudeLoss(SpectralLoss):
    """Mean distance between STFT magnitudes, log (default) or linear, L1 (default) or L2 (squared)."""

    def __init__(self, n_fft: int = 1024, hop_length: int = 256, win_length: int | None = None, *,
                 log: bool = True, distance: str = "l1", window: str = "hann", eps: float = 1e-8,
                 reduction: str = "mean"):
        super().__init__([Resolution(n_fft, hop_length, win_length or n_fft)], _mag_terms(log, distance, eps),
                         window=window, reduction=reduction)


def _stft_terms(w_sc, w_log_mag, w_lin_mag, mag_distance, eps, log_floor=None, mel=False):
    if log_floor is None:   # mel bands can be empty (all-zero filters): floor them, far below any real band
        log_floor = 1e-12 if mel else 0.0
    log = _mag_terms(True, mag_distance, eps, w_log_mag)
    lin = _mag_terms(False, mag_distance, eps, w_lin_mag)
    return DistanceTerms(sc=w_sc, log_l1=log.log_l1, log_mse=log.log_mse, lin_l1=lin.lin_l1,
                         lin_mse=lin.lin_mse, power_eps=eps, log_floor=log_floor)


class STFTLoss(SpectralLoss):
    """Spectral convergence + log-magnitude L1 at one resolution (Yamamoto et al. 2020; auraloss's STFTLoss).

    Equal to ``auraloss.freq.STFTLoss`` per batch item (auraloss takes the spectral convergence
    over the whole batch; here it is per item, so that ``reduction="none"`` is meaningful).
    ``n_mels`` (with ``sample_rate``) switches to a mel-scale magnitude. ``eps`` floors the power;
    ``log_floor`` floors the (mel) magnitude before the log (default: 0, or 1e-12 with mel bands,
    so that empty mel filters give zero instead of NaN).
    """

    def __init__(self, n_fft: int = 1024, hop_length: int = 256, win_length: int | None = None, *,
                 window: str = "hann", w_sc: float = 1.0, w_log_mag: float = 1.0, w_lin_mag: float = 0.0,
                 mag_distance: str = "l1", eps: float = 1e-8, sample_rate: int | None = None,
                 n_mels: int | None = None, log_floor: float | None = None, perceptual_weighting: bool = False,
                 sum_difference: bool = False, reduction: str = "mean"):
        super().__init__([Resolution(n_fft, hop_length, win_length or n_fft, n_mels)],
                         _stft_terms(w_sc, w_log_mag, w_lin_mag, mag_distance, eps, log_floor, bool(n_mels)),
                         sample_rate=sample_rate,
                         window=window, prefilter="a_weighting" if perceptual_weighting else None,
                         sum_difference=sum_difference, reduction=reduction)


class MultiResolutionSTFTLoss(SpectralLoss):
    """Mean of :class:`STFTLoss` over resolutions (Yamamoto et al. 2020), auraloss's defaults.

    Defaults: FFT sizes (1024, 2048, 512), hops (120, 240, 50), windows (600, 1200, 240) hann,
    spectral convergence + log-magnitude L1, power floor 1e-8. Equal per batch item to
    ``auraloss.freq.MultiResolutionSTFTLoss`` with the same settings, at about 2.3x its speed on
    CPU and, compiled, 2.2x on an H200 (benchmarks/losses.py; docs/losses.md). ``perceptual_weighting`` A-weights both signals first (needs
    ``sample_rate``); ``sum_difference`` compares stereo sum and difference signals.
    """

    def __init__(self, fft_sizes: Sequence[int] = (1024, 2048, 512), hop_sizes: Sequence[int] = (120, 240, 50),
                 win_lengths: Sequence[int] = (600, 1200, 240), *, window: str = "hann", w_sc: float = 1.0,
                 w_log_mag: float = 1.0, w_lin_mag: float = 0.0, mag_distance: str = "l1", eps: float = 1e-8,
                 sample_rate: int | None = None, n_mels: int | None = None, log_floor: float | None = None,
                 perceptual_weighting: bool = False, sum_difference: bool = False, w_sum: float = 1.0,
                 w_diff: float = 1.0, reduction: str = "mean"):
        if not len(fft_sizes) == len(hop_sizes) == len(win_lengths):
            raise ConfigError("fft_sizes, hop_sizes and win_lengths need the same length")
        res = [Resolution(f, h, w, n_mels) for f, h, w in zip(fft_sizes, hop_sizes, win_lengths)]
        super().__init__(res, _stft_terms(w_sc, w_log_mag, w_lin_mag, mag_distance, eps, log_floor, bool(n_mels)),
                         sample_rate=sample_rate,
                         window=window, prefilter="a_weighting" if perceptual_weighting else None,
                         sum_difference=sum_difference, w_sum=w_sum, w_diff=w_diff, reduction=reduction)


class MultiResolutionMelLoss(SpectralLoss):
    """Multi-resolution mel loss, DAC style (Kumar et al. 2023): sum over resolutions of
    ``w_log * L1(log10 mel) + w_lin * L1(mel)`` with per-resolution mel bins.

    Defaults are DAC's: windows 32..2048 (hop = window / 4, n_fft = window) with 5..320 mel bins,
    magnitude (not power) mel, ``log10(max(mel, log_floor=1e-5))``, ``w_lin = 0``. ``w_sc`` adds a
    spectral convergence term; ``log10=False`` uses the natural log; ``power_eps`` floors
    ``|X|^2``. ``sample_rate`` (Hz) is required.
    """

    def __init__(self, sample_rate: int, *, window_lengths: Sequence[int] = (32, 64, 128, 256, 512, 1024, 2048),
                 n_mels: Sequence[int] | int = (5, 10, 20, 40, 80, 160, 320), hop_lengths: Sequence[int] | None = None,
                 n_ffts: Sequence[int] | None = None, w_log: float = 1.0, w_lin: float = 0.0, w_sc: float = 0.0,
                 log10: bool = True, log_floor: float = 1e-5, power_eps: float = 0.0, combine: str = "sum",
                 f_min: float = 0.0, f_max: float | None = None, window: str = "hann",
                 perceptual_weighting: bool = False, sum_difference: bool = False, reduction: str = "mean"):
        k = len(window_lengths)
        n_mels = [n_mels] * k if isinstance(n_mels, int) else list(n_mels)
        hops = hop_lengths or [max(1, w // 4) for w in window_lengths]
        ffts = n_ffts or list(window_lengths)
        if not len(n_mels) == len(hops) == len(ffts) == k:
            raise ConfigError("window_lengths, n_mels, hop_lengths and n_ffts need the same length")
        scale = 1.0 / math.log(10.0) if log10 else 1.0
        terms = DistanceTerms(sc=w_sc, log_l1=w_log * scale, lin_l1=w_lin, power_eps=power_eps, log_floor=log_floor)
        res = [Resolution(f, h, w, m) for f, h, w, m in zip(ffts, hops, window_lengths, n_mels)]
        super().__init__(res, terms, combine=combine, sample_rate=sample_rate, window=window,
                         prefilter="a_weighting" if perceptual_weighting else None,
                         sum_difference=sum_difference, mel=dict(f_min=f_min, f_max=f_max), reduction=reduction)


class MultiScaleSpectralLoss(SpectralLoss):
    """SoundStream's multi-scale spectral reconstruction loss (Zeghidour et al. 2021).

    For each window length ``s`` in 64..2048 (hop ``s / 4``, 64 mel bins, magnitude mel ``S``):
    per frame, ``||S_x - S_y||_1 + sqrt(s / 2) * ||log S_x - log S_y||_2`` over mel bins, averaged
    over frames and channels (the paper sums over frames; the mean keeps values independent of
    length), summed over scales. ``log_floor`` floors ``S`` before the log; ``l2_eps`` is added
    under the square root. ``sample_rate`` (Hz) is required.
    """

    def __init__(self, sample_rate: int, *, window_lengths: Sequence[int] = (64, 128, 256, 512, 1024, 2048),
                 n_mels: int = 64, log_floor: float = 1e-5, l2_eps: float = 1e-8, power_eps: float = 0.0,
                 window: str = "hann", perceptual_weighting: bool = False, sum_difference: bool = False,
                 reduction: str = "mean"):
        res = [Resolution(s, max(1, s // 4), s, n_mels) for s in window_lengths]
        terms = [DistanceTerms(lin_l1=float(n_mels), log_l2=math.sqrt(s / 2), log_floor=log_floor,
                               l2_eps=l2_eps, power_eps=power_eps) for s in window_lengths]
        super().__init__(res, terms, combine="sum", sample_rate=sample_rate, window=window,
                         prefilter="a_weighting" if perceptual_weighting else None,
                         sum_difference=sum_difference, reduction=reduction)

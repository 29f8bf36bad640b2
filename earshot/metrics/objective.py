"""Objective metrics of a degraded or estimated signal against its reference.

Every metric takes ``estimate`` and ``reference`` audio ``(batch, channels, samples)`` of the
same shape (prediction first, like the losses) and returns a ``(batch,)`` tensor: one value per
item. Multi-channel items: energy ratios (SNR, SI-SDR) sum energies over the channels, as
BSS-eval's images do; PESQ and STOI score each channel and average them; spectral distances
average over channels like every other element.

==================  =====  ==============  ===========================================
metric              better differentiable  definition
==================  =====  ==============  ===========================================
si_sdr              higher yes             Le Roux et al. 2019, zero-mean by default
snr                 higher yes             10 log10(|s|^2 / |s - s_hat|^2)
sdr                 higher yes             BSS-eval v4 (see :mod:`earshot.metrics.bss`)
sar, isr, sir       higher no              BSS-eval v4 (see :mod:`earshot.metrics.bss`)
pesq                higher no              ITU-T P.862 / P.862.2 via the ``pesq`` package
stoi, estoi         higher no              Taal 2011 / Jensen 2016 via ``pystoi``
mel_distance        lower  yes             DAC's multi-scale mel L1 of log-magnitude
stft_distance       lower  yes             DAC's multi-scale STFT L1 (log + linear)
log_spectral_dist.  lower  yes             mean over frames of RMS log10-power difference
==================  =====  ==============  ===========================================
"""

from __future__ import annotations

import functools
import warnings
from typing import Sequence

import numpy as np
import torch

from earshot.audio.resample import resample
from earshot.dsp.mel import mel_filterbank
from earshot.dsp.stft import make_window, stft
from earshot.errors import ConfigError, EarshotError
from earshot.metrics.checks import check_inputs, warn_undefined
from earshot.validate import check_sample_rate, require_module

DAC_MEL_WINDOWS = (32, 64, 128, 256, 512, 1024, 2048)
DAC_MEL_BINS = (5, 10, 20, 40, 80, 160, 320)
DAC_STFT_WINDOWS = (2048, 512)
PESQ_RATES = {"wb": 16000, "nb": 8000}
PESQ_MAX_SECONDS = 30  # the pesq C code holds 50 utterances; beyond, it writes past its arrays
STOI_RATE, STOI_MIN_SAMPLES = 10000, 4097  # pystoi: 256-sample frames, hop 128, 30 frames + 1


class MetricError(EarshotError, ValueError):
    """A metric cannot be computed for an item (e.g. PESQ finds no utterance); names the item."""


# --------------------------------------------------------------------------- energy ratios


def snr(estimate: torch.Tensor, reference: torch.Tensor, *, eps: float = 1e-8) -> torch.Tensor:
    """Signal-to-noise ratio in dB: ``10 log10(|s|^2 / |s - s_hat|^2)`` per item.

    Args:
        estimate, reference: ``(batch, channels, samples)`` at any sample rate.
        eps: added to both energies, so identical or silent inputs stay finite.

    Returns:
        ``(batch,)`` SNR in dB (higher is better). Not scale invariant. Differentiable.
    """
    estimate, reference = check_inputs(estimate, reference)
    signal = reference.square().sum(dim=(1, 2))
    noise = (reference - estimate).square().sum(dim=(1, 2))
    return 10 * torch.log10((signal + eps) / (noise + eps))


def si_sdr(estimate: torch.Tensor, reference: torch.Tensor, *, zero_mean: bool = True,
           eps: float = 1e-8) -> torch.Tensor:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al., ICASSP 2019).

    Each channel's reference is scaled by the optimal gain ``<s_hat, s> / |s|^2``; target and
    residual energies are summed over channels. ``zero_mean`` removes each channel's mean first.

    Args:
        estimate, reference: ``(batch, channels, samples)`` at any sample rate.
        eps: stabiliser in the gain and in both energies (silence gives finite values).

    Returns:
        ``(batch,)`` SI-SDR in dB (higher is better). Differentiable.
    """
    estimate, reference = check_inputs(estimate, reference)
    if zero_mean:
        estimate = estimate - estimate.mean(dim=-1, keepdim=True)
        reference = reference - reference.mean(dim=-1, keepdim=True)
    gain = (estimate * reference).sum(-1, keepdim=True) / (reference.square().sum(-1, keepdim=True) + eps)
    target = gain * reference
    residual = estimate - target
    num = target.square().sum(dim=(1, 2))
    den = residual.square().sum(dim=(1, 2))
    return 10 * torch.log10((num + eps) / (den + eps))


# --------------------------------------------------------------------------- PESQ and STOI


def pesq(estimate: torch.Tensor, reference: torch.Tensor, sample_rate: int, mode: str = "wb", *,
         on_error: str = "nan") -> torch.Tensor:
    """PESQ (ITU-T P.862 narrow band, P.862.2 wide band) MOS-LQO per item, via ``pesq``.

    Audio is resampled (soxr) to 16 kHz for ``mode="wb"``; narrow band runs at 8 kHz, or at
    16 kHz when the input already is (both are valid P.862 rates). Each channel is scored and
    the channel scores averaged. Silent items, items shorter than 0.25 s or longer than 30 s
    (the pesq library's C code has room for 50 utterances and crashed the process on a 362 s
    input) and items where PESQ detects no utterance have no score: ``on_error="nan"`` gives NaN with a warning,
    ``on_error="raise"`` raises :class:`MetricError` naming the item.

    Args:
        estimate, reference: ``(batch, channels, samples)`` at ``sample_rate``.
        mode: ``"wb"`` (wide band, -0.5..4.64) or ``"nb"`` (narrow band, -0.5..4.55).

    Returns:
        ``(batch,)`` float32 MOS-LQO (higher is better). Not differentiable.
    """
    pesq_lib = require_module("pesq", "metrics")
    estimate, reference = check_inputs(estimate, reference)
    sample_rate = check_sample_rate(sample_rate)
    if mode not in PESQ_RATES:
        raise ConfigError(f"PESQ mode must be 'wb' or 'nb', got {mode!r}")
    _check_on_error(on_error)
    rate = 16000 if (mode == "nb" and sample_rate == 16000) else PESQ_RATES[mode]
    est, ref = _to_numpy_at(estimate, sample_rate, rate), _to_numpy_at(reference, sample_rate, rate)
    scores = np.full(est.shape[:2], np.nan)
    for b, c in np.ndindex(*est.shape[:2]):
        reason = _pesq_precheck(ref[b, c], est[b, c], rate)
        if reason is None:
            try:
                scores[b, c] = pesq_lib.pesq(rate, ref[b, c], est[b, c], mode)
            except pesq_lib.PesqError as exc:
                reason = _decode(exc)
        if reason is not None:
            _fail("PESQ" if mode == "wb" else "PESQ-NB", f"item {b} channel {c}", reason, on_error)
    return torch.from_numpy(scores.mean(axis=1)).float()


def stoi(estimate: torch.Tensor, reference: torch.Tensor, sample_rate: int, *,
         extended: bool = False) -> torch.Tensor:
    """Short-time objective intelligibility (Taal et al. 2011), or ESTOI (Jensen & Taal 2016)
    with ``extended=True``, via ``pystoi`` (which resamples to 10 kHz itself).

    Each channel is scored and the scores averaged. STOI needs 30 frames of 25.6 ms (hop
    12.8 ms at 10 kHz) left after pystoi removes the frames 40 dB below the loudest: an item
    shorter than about 0.41 s, with a silent reference, or with too little sound left is
    undefined and scores NaN with an :class:`~earshot.errors.UndefinedMetricWarning` (pystoi
    itself would return 1e-5, or crash below 300 samples).

    Args:
        estimate, reference: ``(batch, channels, samples)`` at ``sample_rate``.

    Returns:
        ``(batch,)`` float32 in roughly [0, 1] (higher is better). Not differentiable.
    """
    stoi_lib = require_module("pystoi", "metrics").stoi
    estimate, reference = check_inputs(estimate, reference)
    sample_rate = check_sample_rate(sample_rate)
    est = estimate.detach().cpu().double().numpy()
    ref = reference.detach().cpu().double().numpy()
    name = "ESTOI" if extended else "STOI"
    scores = np.full(est.shape[:2], np.nan)
    for b, c in np.ndindex(*est.shape[:2]):
        reason = _stoi_precheck(ref[b, c], sample_rate)
        if reason is None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                value = stoi_lib(ref[b, c], est[b, c], sample_rate, extended=extended)
            if any("Not enough STFT frames" in str(w.message) for w in caught):
                reason = "fewer than 30 frames of sound left after removing silent frames"
            else:
                scores[b, c] = value
        if reason is not None:
            warn_undefined(name, f"item {b} channel {c}", reason)
    return torch.from_numpy(scores.mean(axis=1)).float()


def estoi(estimate: torch.Tensor, reference: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Extended STOI (Jensen & Taal 2016): :func:`stoi` with ``extended=True``. ``(batch,)``."""
    return stoi(estimate, reference, sample_rate, extended=True)


def _to_numpy_at(x: torch.Tensor, rate: int, target: int) -> np.ndarray:
    x = x.detach().cpu().float()
    if rate != target:
        x = resample(x, rate, target)
    return x.double().numpy()


def _stoi_precheck(ref: np.ndarray, rate: int) -> str | None:
    if ref.shape[-1] * STOI_RATE < STOI_MIN_SAMPLES * rate:
        return f"needs at least {STOI_MIN_SAMPLES / STOI_RATE:.3f} s of audio, got {ref.shape[-1] / rate:.3f} s"
    if not np.any(ref):
        return "the reference is digital silence"
    return None


def _pesq_precheck(ref: np.ndarray, est: np.ndarray, rate: int) -> str | None:
    if ref.shape[-1] < rate // 4:
        return f"needs at least 0.25 s of audio, got {ref.shape[-1] / rate:.3f} s"
    if ref.shape[-1] > PESQ_MAX_SECONDS * rate:
        return (f"takes at most {PESQ_MAX_SECONDS} s of audio, got {ref.shape[-1] / rate:.1f} s (score "
                f"shorter segments: longer files can crash the pesq library)")
    if not np.any(ref) or not np.any(est):
        return "the reference or the estimate is digital silence"
    return None


def _decode(exc: Exception) -> str:
    msg = exc.args[0] if exc.args else type(exc).__name__
    return msg.decode() if isinstance(msg, bytes) else str(msg)


def _check_on_error(on_error: str) -> None:
    if on_error not in ("nan", "raise"):
        raise ConfigError(f"on_error must be 'nan' or 'raise', got {on_error!r}")


def _fail(metric: str, where: str, reason: str, on_error: str) -> None:
    if on_error == "raise":
        raise MetricError(f"{metric} of {where}: {reason}")
    warn_undefined(metric, where, reason, stacklevel=4)


# --------------------------------------------------------------------------- spectral distances


def mel_distance(estimate: torch.Tensor, reference: torch.Tensor, sample_rate: int, *,
                 window_lengths: Sequence[int] = DAC_MEL_WINDOWS, n_mels: Sequence[int] = DAC_MEL_BINS,
                 clamp_eps: float = 1e-5, pow: float = 1.0, log_weight: float = 1.0,
                 mag_weight: float = 0.0, fmin: float = 0.0, fmax: float | None = None) -> torch.Tensor:
    """Multi-scale mel distance as the Descript Audio Codec reports it (Kumar et al. 2023).

    For each window length ``w`` (hop ``w // 4``, periodic Hann, centred reflect-padded STFT)
    and its mel bin count (Slaney mel filterbank, librosa's default): ``log_weight *
    L1(log10(clamp(M_hat, clamp_eps) ** pow), log10(clamp(M, clamp_eps) ** pow)) + mag_weight *
    L1(M_hat, M)`` on magnitude mel spectrograms, summed over scales; L1 is the mean over
    channels, bins and frames of each item. The defaults are DAC's training configuration
    (``conf/base.yml``: 7 scales 32..2048 with 5..320 mels, ``pow=1``, ``mag_weight=0``); DAC's
    class defaults (2 scales, ``pow=2``, ``mag_weight=1``) are available through the arguments.

    Args:
        estimate, reference: ``(batch, channels, samples)`` at ``sample_rate``.
        clamp_eps: floor on mel magnitudes before the log.

    Returns:
        ``(batch,)`` distance (lower is better; 0 for identical inputs). Differentiable.
    """
    estimate, reference = check_inputs(estimate, reference)
    sample_rate = check_sample_rate(sample_rate)
    if len(window_lengths) != len(n_mels):
        raise ConfigError(f"window_lengths {tuple(window_lengths)} and n_mels {tuple(n_mels)} differ in length")
    total = estimate.new_zeros(estimate.shape[0])
    for w, bins in zip(window_lengths, n_mels):
        mag = _magnitude(torch.cat([estimate, reference]), w)
        fb = _mel_fb(sample_rate, w, bins, fmin, fmax).to(mag)
        mel = torch.einsum("mf,bcft->bcmt", fb, mag)
        total = total + _log_lin_l1(mel, clamp_eps, pow, log_weight, mag_weight)
    return total


def stft_distance(estimate: torch.Tensor, reference: torch.Tensor, *,
                  window_lengths: Sequence[int] = DAC_STFT_WINDOWS, clamp_eps: float = 1e-5,
                  pow: float = 2.0, log_weight: float = 1.0, mag_weight: float = 1.0) -> torch.Tensor:
    """Multi-scale STFT distance as DAC defines it (its ``MultiScaleSTFTLoss`` defaults).

    For each window length ``w`` (hop ``w // 4``, periodic Hann, centred reflect-padded STFT):
    ``log_weight * L1(log10(clamp(|X_hat|, clamp_eps) ** pow), log10(clamp(|X|, clamp_eps) **
    pow)) + mag_weight * L1(|X_hat|, |X|)``, summed over windows (2048 and 512).

    Args:
        estimate, reference: ``(batch, channels, samples)``; sample-rate independent.

    Returns:
        ``(batch,)`` distance (lower is better; 0 for identical inputs). Differentiable.
    """
    estimate, reference = check_inputs(estimate, reference)
    total = estimate.new_zeros(estimate.shape[0])
    for w in window_lengths:
        mag = _magnitude(torch.cat([estimate, reference]), w)
        total = total + _log_lin_l1(mag, clamp_eps, pow, log_weight, mag_weight)
    return total


def log_spectral_distance(estimate: torch.Tensor, reference: torch.Tensor, *, n_fft: int = 2048,
                          hop_length: int = 512, eps: float = 1e-10) -> torch.Tensor:
    """Log-spectral distance (as in Kuleshov et al. 2017 and the bandwidth-extension literature).

    ``LSD = mean_frames sqrt(mean_freq (log10(|X|^2 + eps) - log10(|X_hat|^2 + eps))^2)`` on a
    Hann STFT (``n_fft``, ``hop_length``), averaged over channels. Units are log10 of power
    (multiply by 10 for dB).

    Args:
        estimate, reference: ``(batch, channels, samples)``; sample-rate independent.
        eps: floor added to the power spectra before the log.

    Returns:
        ``(batch,)`` distance (lower is better; exactly 0 for identical inputs). Differentiable,
        with finite gradients everywhere (including identical inputs).
    """
    estimate, reference = check_inputs(estimate, reference)
    mag = _magnitude(torch.cat([estimate, reference]), n_fft, hop_length)
    logp = torch.log10(mag.square() + eps)
    est, ref = logp.chunk(2)
    msq = (est - ref).square().mean(dim=2)  # (batch, channels, frames)
    positive = msq > 0
    per_frame = torch.where(positive, torch.sqrt(torch.where(positive, msq, torch.ones_like(msq))), 0.0)
    return per_frame.mean(dim=(1, 2))


def _magnitude(x: torch.Tensor, n_fft: int, hop_length: int | None = None) -> torch.Tensor:
    """``|STFT|`` ``(batch, channels, freq, frames)`` with a periodic Hann window of ``n_fft``."""
    window = _hann(n_fft, x.dtype, str(x.device))
    return stft(x, n_fft, hop_length or n_fft // 4, window).abs()


@functools.lru_cache(maxsize=64)
def _hann(n: int, dtype: torch.dtype, device: str) -> torch.Tensor:
    return make_window("hann", n, dtype=dtype).to(device)


def _log_lin_l1(spec: torch.Tensor, clamp_eps: float, pow: float, log_weight: float,
                mag_weight: float) -> torch.Tensor:
    """``spec`` holds estimate then reference along the batch; per-item weighted L1 terms."""
    est, ref = spec.chunk(2)
    out = est.new_zeros(est.shape[0])
    if log_weight:
        log_est = est.clamp(min=clamp_eps).pow(pow).log10()
        log_ref = ref.clamp(min=clamp_eps).pow(pow).log10()
        out = out + log_weight * (log_est - log_ref).abs().mean(dim=(1, 2, 3))
    if mag_weight:
        out = out + mag_weight * (est - ref).abs().mean(dim=(1, 2, 3))
    return out


@functools.lru_cache(maxsize=64)
def _mel_fb(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None) -> torch.Tensor:
    """Slaney mel filterbank ``(n_mels, n_fft // 2 + 1)`` (librosa's default, as DAC uses)."""
    return mel_filterbank(sample_rate=sample_rate, n_fft=n_fft, n_mels=n_mels, f_min=fmin, f_max=fmax,
                          dtype=torch.float64)

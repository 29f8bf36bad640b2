"""Noise mixed into a signal at a signal-to-noise ratio: the one place that scales noise to an SNR.

Used by the additive-noise perturbations, the training recipes that make noisy inputs, and the
evaluations that code noisy clips. Works on numpy arrays and torch tensors alike.
"""

from __future__ import annotations

from earshot.errors import ShapeError


def rms(x) -> float:
    """Root mean square of every element of ``x`` (array or tensor); 0.0 for an empty one."""
    return float((x * x).mean() ** 0.5) if _size(x) else 0.0


def mix_at_snr(signal, noise, snr_db: float, *, floor_rms: float = 0.0, eps: float = 1e-8):
    """``signal + gain * noise``, the noise scaled to lie ``snr_db`` dB below the signal.

    Args:
        signal, noise: arrays or tensors of one shape, e.g. ``(channels, samples)``; the RMS of
            each is taken over all its elements (channels together).
        snr_db: ``20 log10(rms(signal) / rms(gain * noise))``.
        floor_rms: the signal's RMS is floored at this, so silence gets noise too (0: silence
            stays silent).
        eps: floor on the noise's RMS (silent noise adds nothing, never NaN).

    Returns the mixture, of the type and shape of ``signal`` (no clipping or peak scaling).
    """
    if tuple(signal.shape) != tuple(noise.shape):
        raise ShapeError(f"signal {tuple(signal.shape)} and noise {tuple(noise.shape)} must have one shape")
    gain = max(rms(signal), floor_rms) / max(rms(noise), eps) * 10 ** (-snr_db / 20)
    return signal + gain * noise


def _size(x) -> int:
    size = x.numel() if hasattr(x, "numel") else x.size
    return int(size)

"""ViSQOL v3 (Chinen et al., QoMEX 2020) MOS-LQO through the ``visqol-python`` package.

Two modes, as Google's ViSQOL: ``"speech"`` compares at 16 kHz (the deep-lattice mapping that is
ViSQOL v3.3's default when ``ai-edge-litert`` is installed, else the package's polynomial
mapping, which reads higher), ``"audio"`` at 48 kHz with the support-vector mapping (music and
general audio). Inputs at other rates are resampled (soxr) to the mode's rate.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from earshot.errors import ConfigError
from earshot.metrics.checks import check_inputs
from earshot.metrics.objective import _to_numpy_at
from earshot.validate import check_sample_rate, require_module

VISQOL_RATES = {"speech": 16000, "audio": 48000}
MIN_SECONDS = 0.5


def lattice_available() -> bool:
    """Whether speech mode uses ViSQOL v3.3's deep-lattice mapping (``ai-edge-litert`` installed)."""
    try:
        import ai_edge_litert  # noqa: F401
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=4)
def _api(mode: str, lattice: bool):
    visqol_lib = require_module("visqol", "metrics")
    api = visqol_lib.VisqolApi()
    if mode == "speech":
        api.create(mode="speech", use_lattice_model=lattice)
    else:
        api.create(mode="audio")
    return api


def visqol(estimate: torch.Tensor, reference: torch.Tensor, sample_rate: int, *, mode: str = "speech",
           lattice: bool | None = None) -> torch.Tensor:
    """ViSQOL MOS-LQO per item (1..5, higher is better), channels averaged.

    Args:
        estimate, reference: ``(batch, channels, samples)`` at ``sample_rate``, at least 0.5 s.
        mode: ``"speech"`` (16 kHz) or ``"audio"`` (48 kHz).
        lattice: speech mode's mapping; ``None`` = the lattice model where it is installed.

    Returns:
        ``(batch,)`` float32; NaN for an item whose reference is digital silence. Not differentiable.
    """
    if mode not in VISQOL_RATES:
        raise ConfigError(f"ViSQOL mode must be one of {sorted(VISQOL_RATES)}, got {mode!r}")
    estimate, reference = check_inputs(estimate, reference)
    sample_rate = check_sample_rate(sample_rate)
    if reference.shape[-1] < MIN_SECONDS * sample_rate:
        raise ConfigError(f"ViSQOL needs at least {MIN_SECONDS} s of audio, got {reference.shape[-1] / sample_rate:.3f} s")
    rate = VISQOL_RATES[mode]
    api = _api(mode, lattice_available() if lattice is None else bool(lattice))
    est, ref = _to_numpy_at(estimate, sample_rate, rate), _to_numpy_at(reference, sample_rate, rate)
    scores = np.full(est.shape[:2], np.nan)
    for b, c in np.ndindex(*est.shape[:2]):
        if np.any(ref[b, c]):
            scores[b, c] = api.measure_from_arrays(ref[b, c], est[b, c], rate).moslqo
    return torch.from_numpy(scores.mean(axis=1)).float()


def visqol_speech(estimate: torch.Tensor, reference: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """:func:`visqol` in speech mode (the registry's ``visqol``)."""
    return visqol(estimate, reference, sample_rate, mode="speech")


def visqol_audio(estimate: torch.Tensor, reference: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """:func:`visqol` in audio mode (the registry's ``visqol_audio``)."""
    return visqol(estimate, reference, sample_rate, mode="audio")


__all__ = ["VISQOL_RATES", "lattice_available", "visqol", "visqol_audio", "visqol_speech"]

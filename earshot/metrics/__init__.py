"""Objective metrics: functions of ``(estimate, reference)`` audio ``(batch, channels, samples)``
returning one value per item ``(batch,)``, a registry ``METRICS`` and :func:`score`.

See docs/metrics.md for the table of metrics, their references and directions.
"""

from earshot.metrics.bss import BSSEvalResult, bss_eval, isr, sar, sdr
from earshot.metrics.objective import (
    MetricError,
    estoi,
    log_spectral_distance,
    mel_distance,
    pesq,
    si_sdr,
    snr,
    stft_distance,
    stoi,
)
from earshot.metrics.registry import (
    METRICS,
    MetricSpec,
    available_metrics,
    default_metrics,
    get_metric,
    missing_metrics,
    score,
)
from earshot.metrics.stateful import PESQ, SISDR, STOI, JNDDistance, MeanMetric, MelDistance

__all__ = [
    "BSSEvalResult", "JNDDistance", "METRICS", "MeanMetric", "MelDistance", "MetricError", "MetricSpec", "PESQ",
    "SISDR", "STOI", "available_metrics", "bss_eval", "default_metrics", "estoi", "get_metric", "isr",
    "log_spectral_distance", "mel_distance", "missing_metrics", "pesq", "sar", "score", "sdr", "si_sdr", "snr",
    "stft_distance", "stoi",
]

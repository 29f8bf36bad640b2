"""The table of metrics, by name, and :func:`score` to compute several at once.

Every entry is called as ``fn(estimate, reference)`` or, when it needs the sample rate,
``fn(estimate, reference, sample_rate=sr)``, with ``(batch, channels, samples)`` tensors, and
returns a ``(batch,)`` tensor. An entry may name its function lazily as ``"module:function"``
(for metrics whose module another part of earshot provides, such as ``jnd``); listing the
table never imports it, and :attr:`MetricSpec.available` says whether it can be loaded.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Callable, Iterable, Union

import torch

from earshot.errors import ConfigError, EarshotError, MissingExtraError
from earshot.metrics import bss, objective
from earshot.metrics.checks import check_inputs
from earshot.registry import Registry, load_lazy
from earshot.validate import check_sample_rate

MetricFn = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its function (or ``"module:function"``), direction and properties."""

    name: str
    fn: Union[MetricFn, str]
    higher_is_better: bool
    differentiable: bool
    needs_sample_rate: bool
    description: str
    reference: str
    requires: tuple[str, ...] = ()   # optional packages the metric imports when called
    extra: str = "metrics"          # the earshot extra that installs them

    @property
    def available(self) -> bool:
        """Whether the function and the packages it needs can be loaded."""
        return self.unavailable_reason is None

    @property
    def missing(self) -> list[str]:
        """The required packages that are not installed."""
        return [m for m in self.requires if not installed(m)]

    @property
    def unavailable_reason(self) -> str | None:
        """None when available; else one line saying what to install."""
        try:
            self.load()
        except EarshotError as exc:
            return str(exc)
        return None

    def load(self) -> MetricFn:
        """The callable; MissingExtraError naming the extra when a package it needs is
        missing, ConfigError naming the module when a lazy entry cannot be imported."""
        if self.missing:
            raise MissingExtraError(self.missing[0], self.extra)
        if callable(self.fn):
            return self.fn
        return load_lazy("metric", self.name, self.fn)

    def __call__(self, estimate: torch.Tensor, reference: torch.Tensor,
                 sample_rate: int | None = None) -> torch.Tensor:
        fn = self.load()
        if self.needs_sample_rate:
            return fn(estimate, reference, sample_rate=check_sample_rate(sample_rate))
        return fn(estimate, reference)


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (``sys.modules[module] = None`` counts as missing)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ValueError, ImportError):
        return False


def _pesq_nb(estimate, reference, sample_rate):
    return objective.pesq(estimate, reference, sample_rate, mode="nb")


_ENTRIES = [
    MetricSpec("si_sdr", objective.si_sdr, True, True, False,
               "scale-invariant SDR, dB", "Le Roux et al., ICASSP 2019"),
    MetricSpec("snr", objective.snr, True, True, False,
               "signal-to-noise ratio, dB", "classic"),
    MetricSpec("sdr", bss.sdr, True, True, True,
               "BSS-eval v4 SDR (median of 1 s frames), dB", "Vincent 2006; SiSEC 2018 (museval)"),
    MetricSpec("sar", bss.sar, True, False, True,
               "BSS-eval v4 sources-to-artifacts ratio, dB", "Vincent 2006; SiSEC 2018 (museval)"),
    MetricSpec("pesq", objective.pesq, True, False, True,
               "PESQ wide band (P.862.2) MOS-LQO at 16 kHz", "ITU-T P.862.2; pesq package", ("pesq",)),
    MetricSpec("pesq_nb", _pesq_nb, True, False, True,
               "PESQ narrow band (P.862) MOS-LQO", "ITU-T P.862; pesq package", ("pesq",)),
    MetricSpec("stoi", objective.stoi, True, False, True,
               "short-time objective intelligibility", "Taal et al. 2011; pystoi", ("pystoi",)),
    MetricSpec("estoi", objective.estoi, True, False, True,
               "extended STOI", "Jensen & Taal 2016; pystoi", ("pystoi",)),
    MetricSpec("mel_distance", objective.mel_distance, False, True, True,
               "DAC multi-scale log-mel L1 distance", "Kumar et al. 2023 (DAC)"),
    MetricSpec("stft_distance", objective.stft_distance, False, True, False,
               "DAC multi-scale STFT distance (log + linear L1)", "Kumar et al. 2023 (DAC)"),
    MetricSpec("lsd", objective.log_spectral_distance, False, True, False,
               "log-spectral distance (log10 power RMS)", "Kuleshov et al. 2017"),
    MetricSpec("visqol", "earshot.metrics.visqol:visqol_speech", True, False, True,
               "ViSQOL v3 MOS-LQO, speech mode (16 kHz)", "Chinen et al. 2020; visqol-python", ("visqol",)),
    MetricSpec("visqol_audio", "earshot.metrics.visqol:visqol_audio", True, False, True,
               "ViSQOL v3 MOS-LQO, audio mode (48 kHz)", "Chinen et al. 2020; visqol-python", ("visqol",)),
    MetricSpec("jnd", "earshot.metrics.jnd:jnd_distance", False, False, True,
               "learned just-noticeable-difference distance", "Manocha et al. 2020 (DPAM)"),
]

METRICS = Registry("metric", {spec.name: spec for spec in _ENTRIES})


def available_metrics() -> list[str]:
    """Names of the metrics that can be computed here (lazy entries whose module loads)."""
    return [name for name, spec in METRICS.items() if spec.available]


def default_metrics() -> list[str]:
    """The metrics :func:`score` computes when none are named: every built-in one whose
    packages are installed (see :func:`missing_metrics`). Lazy entries (such as ``jnd``,
    which loads a network and its weights) are computed only when named."""
    return [name for name, spec in METRICS.items() if callable(spec.fn) and spec.available]


def missing_metrics() -> dict[str, str]:
    """Built-in metrics left out of the defaults because a package is missing: name -> why."""
    return {name: spec.unavailable_reason for name, spec in METRICS.items()
            if callable(spec.fn) and not spec.available}


def get_metric(name: str) -> MetricSpec:
    """The spec of ``name``; ConfigError listing the known names otherwise."""
    return METRICS.load(name)


def score(estimate: torch.Tensor, reference: torch.Tensor, sample_rate: int | None = None,
          metrics: Iterable[str] | str | None = None) -> dict[str, torch.Tensor]:
    """Compute several metrics of ``estimate`` against ``reference`` (estimate first, as every
    metric and loss; pass them by keyword, ``score(estimate=y, reference=x)``, to be sure).

    Args:
        estimate, reference: ``(batch, channels, samples)`` of one shape, at ``sample_rate``.
        sample_rate: needed by the metrics with ``needs_sample_rate`` (PESQ, STOI, mel, SDR).
        metrics: names (a list or a comma-separated string); ``None`` means
            :func:`default_metrics` (every built-in metric whose packages are installed). A
            metric whose package is missing raises MissingExtraError naming the extra.

    Returns:
        ``{name: (batch,) tensor}`` in the order asked. An item on which a metric is
        undefined is NaN, with an :class:`~earshot.errors.UndefinedMetricWarning`.
    """
    estimate, reference = check_inputs(estimate, reference)
    names = resolve_names(metrics)
    specs = [get_metric(n) for n in names]
    if sample_rate is None and any(s.needs_sample_rate for s in specs):
        needing = [s.name for s in specs if s.needs_sample_rate]
        raise ConfigError(f"sample_rate is required by {', '.join(needing)}")
    return {spec.name: spec(estimate, reference, sample_rate) for spec in specs}


def resolve_names(metrics: Iterable[str] | str | None) -> list[str]:
    """Metric names from a list, a comma-separated string, or ``None`` (the defaults)."""
    if metrics is None:
        return default_metrics()
    if isinstance(metrics, str):
        metrics = metrics.split(",")
    metrics = list(metrics) if isinstance(metrics, Iterable) else metrics
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise ConfigError(f"metrics must be names (a list of strings or a comma-separated string), got {metrics!r}")
    names = [m.strip() for m in metrics if m.strip()]
    if not names:
        raise ConfigError("no metric names given")
    for n in names:
        get_metric(n).load()  # MissingExtraError / ConfigError saying what to install
    return names

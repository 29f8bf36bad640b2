"""Metrics that accumulate over batches and processes, in the style of torchmetrics.

Each class wraps one functional metric of :mod:`earshot.metrics` and keeps two states, the sum
of its finite per-item values and their count (plus the count of undefined, NaN items)::

    metric = STOI(sample_rate=16000)
    for estimate, reference in loader:          # (batch, channels, samples) each
        batch_value = metric(estimate, reference)   # forward: this batch's mean, and accumulates
    value = metric.compute()                    # mean over every item seen (in every process)
    metric.reset()

- ``update(estimate, reference)`` accumulates; ``forward`` also returns the batch's mean.
- ``compute()`` returns the mean over all finite items so far; when ``torch.distributed`` is
  initialised it first all-reduces the sums and counts over the process group (every rank gets
  the same value; each rank's own states stay local, so ``update`` can go on). NaN when no
  item had a value.
- ``reset()`` clears the states. The states are buffers: ``.to(device)`` moves them.

No dependency on torchmetrics; a Lightning ``LightningModule`` calls ``update`` in
``validation_step`` and ``compute``/``reset`` in ``on_validation_epoch_end``.
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import torch
from torch import nn

from earshot.metrics import objective
from earshot.metrics.checks import check_inputs
from earshot.validate import check_sample_rate

STATES = ("total", "count", "undefined")


class MeanMetric(nn.Module):
    """The mean of a per-item metric ``fn(estimate, reference) -> (batch,)`` over every item.

    Args:
        fn: the functional metric (its other arguments bound, e.g. with functools.partial).
        name: shown in ``repr``.
    """

    higher_is_better: bool = True

    def __init__(self, fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], name: str):
        super().__init__()
        self.fn, self.name = fn, name
        self.register_buffer("total", torch.zeros((), dtype=torch.float64), persistent=False)
        self.register_buffer("count", torch.zeros((), dtype=torch.float64), persistent=False)
        self.register_buffer("undefined", torch.zeros((), dtype=torch.float64), persistent=False)

    def extra_repr(self) -> str:
        return self.name

    def values(self, estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """``(batch,)`` per-item values of ``(batch, channels, samples)`` inputs (NaN: undefined)."""
        estimate, reference = check_inputs(estimate, reference)
        with torch.no_grad():
            return self.fn(estimate, reference).detach().to(self.total.device, torch.float64)

    def _accumulate(self, values: torch.Tensor) -> None:
        finite = torch.isfinite(values)
        self.total += values[finite].sum()
        self.count += finite.sum()
        self.undefined += (~finite).sum()

    def update(self, estimate: torch.Tensor, reference: torch.Tensor) -> None:
        """Accumulate a batch ``(batch, channels, samples)`` (estimate first)."""
        self._accumulate(self.values(estimate, reference))

    def forward(self, estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """Accumulate a batch and return its own mean over finite items (NaN if none)."""
        values = self.values(estimate, reference)
        self._accumulate(values)
        finite = values[torch.isfinite(values)]
        return finite.mean().float() if finite.numel() else torch.tensor(math.nan)

    def synced(self) -> dict[str, torch.Tensor]:
        """The states summed over the process group (this process's own when not distributed)."""
        states = torch.stack([getattr(self, s) for s in STATES])
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            states = states.clone()
            torch.distributed.all_reduce(states, op=torch.distributed.ReduceOp.SUM)
        return dict(zip(STATES, states))

    def compute(self) -> torch.Tensor:
        """The mean over every finite item seen (in every process): a float32 scalar."""
        s = self.synced()
        if s["count"] == 0:
            return torch.tensor(math.nan)
        return (s["total"] / s["count"]).float()

    def reset(self) -> None:
        for s in STATES:
            getattr(self, s).zero_()


class SISDR(MeanMetric):
    """Mean SI-SDR in dB (:func:`earshot.metrics.si_sdr`), higher is better."""

    def __init__(self, *, zero_mean: bool = True, eps: float = 1e-8):
        super().__init__(functools.partial(objective.si_sdr, zero_mean=zero_mean, eps=eps), "si_sdr")


class PESQ(MeanMetric):
    """Mean PESQ MOS-LQO (:func:`earshot.metrics.pesq`, ``mode`` ``"wb"`` or ``"nb"``); items
    without a score (silent, shorter than 0.25 s) are counted in ``undefined``, not averaged."""

    def __init__(self, sample_rate: int, mode: str = "wb"):
        sample_rate = check_sample_rate(sample_rate)
        super().__init__(functools.partial(objective.pesq, sample_rate=sample_rate, mode=mode), f"pesq_{mode}")


class STOI(MeanMetric):
    """Mean STOI, or ESTOI with ``extended=True`` (:func:`earshot.metrics.stoi`); undefined
    items (shorter than 0.41 s, silent reference) are counted in ``undefined``."""

    def __init__(self, sample_rate: int, *, extended: bool = False):
        sample_rate = check_sample_rate(sample_rate)
        super().__init__(functools.partial(objective.stoi, sample_rate=sample_rate, extended=extended),
                         "estoi" if extended else "stoi")


class MelDistance(MeanMetric):
    """Mean DAC multi-scale mel distance (:func:`earshot.metrics.mel_distance`), lower is better;
    keyword arguments go to the function."""

    higher_is_better = False

    def __init__(self, sample_rate: int, **kwargs):
        sample_rate = check_sample_rate(sample_rate)
        super().__init__(functools.partial(objective.mel_distance, sample_rate=sample_rate, **kwargs),
                         "mel_distance")


class JNDDistance(MeanMetric):
    """Mean learned JND distance (:func:`earshot.metrics.jnd.jnd_distance`), lower is better.
    The network and its weights load on the first batch."""

    higher_is_better = False

    def __init__(self, sample_rate: int, *, weights: str | None = None):
        sample_rate = check_sample_rate(sample_rate)
        super().__init__(self._jnd, "jnd")
        self._kwargs = {"sample_rate": sample_rate, **({"weights": weights} if weights else {})}

    def _jnd(self, estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        from earshot.metrics.jnd import jnd_distance

        return jnd_distance(estimate, reference, **self._kwargs)

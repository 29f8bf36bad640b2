"""The learned JND metric: distance and probability that a listener hears a difference.

The default weights (``jnd-sim-16k``) were trained on judgments from earshot's SIMULATED
listener, a psychoacoustic detector standing in for people (see docs/jnd.md); treat the
probabilities as that model's, not as measured human ones.

>>> import torch
>>> x = torch.zeros(2, 1, 16000)
>>> jnd_distance(x, x, 16000).tolist()
[0.0, 0.0]
"""

from __future__ import annotations

import functools

import torch

from earshot.losses.jnd import DEFAULT_WEIGHTS, JNDJudgment, JNDLoss
from earshot.metrics.checks import check_inputs
from earshot.validate import check_sample_rate

__all__ = ["JNDJudgment", "jnd_distance", "jnd_judgment"]


@functools.lru_cache(maxsize=4)
def _loss(sample_rate: int, weights: str) -> JNDLoss:
    return JNDLoss(sample_rate, weights=weights, reduction="none")


def jnd_judgment(estimate: torch.Tensor, reference: torch.Tensor, sample_rate: int, *,
                 weights: str = DEFAULT_WEIGHTS) -> JNDJudgment:
    """`JNDJudgment` (distance and P(different), each ``(batch,)``) of ``(batch, channels, samples)`` clips."""
    estimate, reference = check_inputs(estimate, reference)
    sample_rate = check_sample_rate(sample_rate)
    with torch.no_grad():
        return _loss(sample_rate, str(weights)).judge(estimate.float(), reference.float())


def jnd_distance(estimate: torch.Tensor, reference: torch.Tensor, sample_rate: int, *,
                 weights: str = DEFAULT_WEIGHTS) -> torch.Tensor:
    """``(batch,)`` learned JND distance (lower is better; 0 for identical clips).

    ``estimate`` and ``reference`` are ``(batch, channels, samples)`` at ``sample_rate`` Hz.
    Not differentiable (use `earshot.losses.jnd.JNDLoss` to train with it).
    """
    return jnd_judgment(estimate, reference, sample_rate, weights=weights).distance

"""Waveform losses on ``(batch, channels, samples)`` audio; any sample rate.

Each returns, with ``reduction="none"``, one value per batch item. Ratio losses (ESR, SNR,
SI-SDR, SD-SDR) are computed per channel and averaged over channels, which makes
``reduction="mean"`` equal to auraloss's mean over batch and channels.

References: ESR (Wright & Välimäki 2019, arXiv:1911.08922), log-cosh (Chen et al. 2019,
"Log hyperbolic cosine loss improves variational auto-encoder"), SI-SDR and SD-SDR
(Le Roux et al. 2019, arXiv:1811.02508).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from earshot.losses.precision import float32_loss
from earshot.validate import check_pair, check_reduction, reduce


class _WaveformLoss(nn.Module):
    """Base: validates the pair, computes per-item values in float32 (float64 after ``.double()``), reduces."""

    def __init__(self, *, reduction: str = "mean"):
        super().__init__()
        self.reduction = check_reduction(reduction)
        self.register_buffer("precision", torch.zeros(()), persistent=False)   # its dtype: the compute dtype

    def per_item(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @float32_loss
    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``input``, ``target``: ``(batch, channels, samples)`` -> reduced float32 loss (``(batch,)`` for "none")."""
        check_pair(input, target)
        return reduce(self.per_item(input, target), self.reduction)


class L1Loss(_WaveformLoss):
    """Mean absolute error per item."""

    def per_item(self, input, target):
        return (input - target).abs().flatten(1).mean(1)


class L2Loss(_WaveformLoss):
    """Mean squared error per item."""

    def per_item(self, input, target):
        return (input - target).square().flatten(1).mean(1)


class ESRLoss(_WaveformLoss):
    """Error-to-signal ratio ``sum (y - x)^2 / (sum y^2 + eps)`` per channel, mean over channels."""

    def __init__(self, *, eps: float = 1e-8, reduction: str = "mean"):
        super().__init__(reduction=reduction)
        self.eps = eps

    def per_item(self, input, target):
        err = (target - input).square().sum(-1)
        return (err / (target.square().sum(-1) + self.eps)).mean(1)


class LogCoshLoss(_WaveformLoss):
    """Mean ``log(cosh(a (x - y))) / a`` per item, computed stably (no overflow for large errors).

    ``a`` sets the smoothness: quadratic for ``|x - y| << 1/a``, linear beyond. No epsilon is needed.
    """

    def __init__(self, *, a: float = 1.0, reduction: str = "mean"):
        super().__init__(reduction=reduction)
        self.a = float(a)

    def per_item(self, input, target):
        z = (self.a * (input - target)).abs()
        val = z + torch.log1p(torch.exp(-2.0 * z)) - math.log(2.0)
        return (val / self.a).flatten(1).mean(1)


def _zero_mean(x: torch.Tensor, on: bool) -> torch.Tensor:
    return x - x.mean(-1, keepdim=True) if on else x


def _db_ratio(num: torch.Tensor, den: torch.Tensor, eps: float) -> torch.Tensor:
    """``10 log10((num + eps) / (den + eps))``: finite for silence, with a gradient wherever ``den > 0``.

    Both energies are regularised by ``eps``, so a silent (or, after ``zero_mean``, DC or
    one-sample) target gives ``10 log10(eps / (|error|^2 + eps))``: 0 dB when the estimate is
    silent too, and a loss that pulls the estimate towards silence otherwise.
    """
    return 10.0 * torch.log10((num + eps) / (den + eps))


class SNRLoss(_WaveformLoss):
    """Negative signal-to-noise ratio in dB, ``-10 log10(|y|^2 / |y - x|^2)``, per channel, mean over channels.

    ``eps`` is added to both energies: identical inputs give ``-10 log10(|y|^2 / eps + 1)``, a silent
    target gives ``10 log10(1 + |x|^2 / eps)`` (0 for a silent estimate, with a gradient towards
    silence otherwise). ``zero_mean`` removes DC first.
    """

    def __init__(self, *, zero_mean: bool = True, eps: float = 1e-8, reduction: str = "mean"):
        super().__init__(reduction=reduction)
        self.zero_mean, self.eps = zero_mean, eps

    def per_item(self, input, target):
        x, y = _zero_mean(input, self.zero_mean), _zero_mean(target, self.zero_mean)
        return -_db_ratio(y.square().sum(-1), (x - y).square().sum(-1), self.eps).mean(1)


class SISDRLoss(_WaveformLoss):
    """Negative scale-invariant SDR in dB (Le Roux et al. 2019), per channel, mean over channels.

    ``SI-SDR = 10 log10((|a y|^2 + eps) / (|a y - x|^2 + eps))`` with ``a = <x, y> / (|y|^2 + eps)``.
    A scaled copy of the target gives a large value capped by ``eps``. A silent target (also a DC
    or one-sample one with ``zero_mean``) gives ``10 log10(1 + |x|^2 / eps)`` with a gradient
    towards silence, and 0 when both are silent: finite values and gradients, never a constant.
    """

    def __init__(self, *, zero_mean: bool = True, eps: float = 1e-8, reduction: str = "mean"):
        super().__init__(reduction=reduction)
        self.zero_mean, self.eps = zero_mean, eps

    def per_item(self, input, target):
        x, y = _zero_mean(input, self.zero_mean), _zero_mean(target, self.zero_mean)
        alpha = (x * y).sum(-1, keepdim=True) / (y.square().sum(-1, keepdim=True) + self.eps)
        proj = alpha * y
        return -_db_ratio(proj.square().sum(-1), (x - proj).square().sum(-1), self.eps).mean(1)


class SDSDRLoss(_WaveformLoss):
    """Negative scale-dependent SDR in dB (Le Roux et al. 2019): ``10 log10(|a y|^2 / |y - x|^2)``,
    with ``eps`` added to both energies (silence as in :class:`SISDRLoss`)."""

    def __init__(self, *, zero_mean: bool = True, eps: float = 1e-8, reduction: str = "mean"):
        super().__init__(reduction=reduction)
        self.zero_mean, self.eps = zero_mean, eps

    def per_item(self, input, target):
        x, y = _zero_mean(input, self.zero_mean), _zero_mean(target, self.zero_mean)
        alpha = (x * y).sum(-1, keepdim=True) / (y.square().sum(-1, keepdim=True) + self.eps)
        return -_db_ratio((alpha * y).square().sum(-1), (x - y).square().sum(-1), self.eps).mean(1)

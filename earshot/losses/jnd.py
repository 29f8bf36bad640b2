"""A learned just-noticeable-difference loss (DPAM-style; Manocha et al., Interspeech 2020).

A frozen `earshot.models.jndnet.JNDNet` measures how audibly two clips differ: its distance is
a weighted L1 between deep features of the two signals, trained so that a calibrated head maps
it to the probability that a listener hears a difference. The shipped weights ``jnd-sim-16k``
were trained on judgments from earshot's SIMULATED listener (`earshot.psycho.listener`), not on
human judgments; fine-tune them on real ones with ``earshot train jnd`` when you have them.

>>> import torch
>>> loss = JNDLoss(sample_rate=16000)
>>> float(loss(torch.zeros(1, 1, 8000), torch.zeros(1, 1, 8000)))
0.0
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from earshot.errors import ConfigError
from earshot.validate import check_pair, check_reduction, check_sample_rate, reduce
from earshot.losses.frozen import FrozenNetworkLoss
from earshot.losses.precision import float32_loss

DEFAULT_WEIGHTS = "jnd-sim-16k"


@dataclass
class JNDJudgment:
    """Per-item ``(batch,)`` learned distance and the predicted probability of hearing a difference."""

    distance: torch.Tensor
    p_different: torch.Tensor


def load_jnd_net(weights=DEFAULT_WEIGHTS) -> nn.Module:
    """A JND network: a shipped weights name, a manifest path, or a module (used as given)."""
    if isinstance(weights, nn.Module):
        return weights
    from earshot.weights import load_pretrained

    return load_pretrained(str(weights))


class JNDLoss(FrozenNetworkLoss):
    """Learned JND distance between ``input`` and ``target``, ``(batch, channels, samples)`` at ``sample_rate``.

    The inputs are resampled (differentiably) to the network's rate, channels are folded into
    the batch and their distances averaged. The network is frozen: eval mode, no gradients to
    its weights, and kept out of ``parameters()`` / ``state_dict()``; gradients flow to the
    inputs. Identical inputs give exactly 0.

    Args:
        sample_rate: rate of the inputs in Hz.
        weights: shipped weights name (default ``jnd-sim-16k``, simulated-listener judgments),
            a manifest path, or a `JNDNet` module.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` (one value per batch item).
        branch: feature layers the loss sums: ``"all"`` (default, the metric's distance),
            ``"spectral"`` (the log-mel layer and the spectral convolutions only: a learned,
            per-band weighted log-mel distance whose gradient follows the audible error; see
            docs/jnd.md, "Why JNDLoss does not beat MR-STFT") or ``"waveform"``. `judge` always
            uses every layer, since the head is calibrated on their sum.
    """

    def __init__(self, sample_rate: int, *, weights=DEFAULT_WEIGHTS, reduction: str = "mean", branch: str = "all"):
        super().__init__()
        self.sample_rate = check_sample_rate(sample_rate)
        self.reduction = check_reduction(reduction)
        self._set_network(load_jnd_net(weights))
        if branch != "all":
            if not hasattr(self._net, "check_branch"):
                raise ConfigError(f"branch={branch!r} needs a JNDNet; {type(self._net).__name__} has no branches")
            self._net.check_branch(branch)
        self.branch = branch

    @property
    def net(self) -> nn.Module:
        """The frozen JND network (eval mode)."""
        return self._net

    @float32_loss
    def judge(self, input: torch.Tensor, target: torch.Tensor) -> JNDJudgment:
        """Distance and P(different) per batch item (channels: mean distance, max probability)."""
        check_pair(input, target)
        b, c = input.shape[:2]
        out = self._net(self._fold(input, self.sample_rate), self._fold(target, self.sample_rate))
        return JNDJudgment(out.distance.reshape(b, c).mean(1), out.p_different.reshape(b, c).amax(1))

    @float32_loss
    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``input``, ``target``: ``(batch, channels, samples)`` at ``sample_rate`` -> reduced distance."""
        check_pair(input, target)
        b, c = input.shape[:2]
        pair = self._fold(input, self.sample_rate), self._fold(target, self.sample_rate)
        d = self._net.distance(*pair) if self.branch == "all" else self._net.distance(*pair, self.branch)
        return reduce(d.reshape(b, c).mean(1), self.reduction)

    def extra_repr(self) -> str:
        branch = "" if self.branch == "all" else f", branch={self.branch!r}"
        return f"sample_rate={self.sample_rate}, net_rate={self._net.sample_rate}, reduction={self.reduction!r}{branch}"

"""Base class of the learned losses: a frozen network that is no part of the loss's parameters."""

from __future__ import annotations

import torch
from torch import nn

from earshot.dsp.resample import resample


class FrozenNetworkLoss(nn.Module):
    """A loss built on a frozen network (`CodecLoss`, `JNDLoss`, `StyleLoss`, ...).

    The network is kept out of the module tree, so the loss has no parameters and no state dict,
    yet it moves with the loss (``.to()``, ``.cuda()``) and always stays in eval mode.
    """

    def _set_network(self, net: nn.Module) -> None:
        object.__setattr__(self, "_net", net.eval().requires_grad_(False))

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        self._net._apply(fn)
        return self

    def train(self, mode: bool = True):
        """The loss has no train mode of its own; the network stays in eval mode."""
        super().train(mode)
        self._net.eval()
        return self

    def _fold(self, x: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """``(batch, channels, samples)`` at ``sample_rate`` -> mono ``(batch * channels, 1, samples')`` at the network's rate."""
        b, c, t = x.shape
        x = x.reshape(b * c, 1, t)
        rate = self._net.sample_rate
        return x if rate == sample_rate else resample(x, sample_rate, rate)

"""What each loss hears: the gradient of a loss with respect to the degraded input.

For a reference ``x`` and a degraded ``y``, ``d loss(y, x) / d y`` is a signal the length of ``y``
showing where (in time and frequency) the loss wants ``y`` changed. Drawn as a spectrogram, it
shows which differences a loss cares about: a loss that ignores what a codec removes has little
gradient there.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from earshot.report.plots import log_spectrogram, spectrogram_grid
from earshot.validate import check_pair, check_sample_rate


@dataclass
class LossGradient:
    """One loss's view of a degraded clip: its value and ``d loss / d degraded`` ``(samples,)``."""

    name: str
    value: float
    gradient: torch.Tensor


def loss_gradients(reference: torch.Tensor, degraded: torch.Tensor, losses: dict[str, nn.Module]) -> list[LossGradient]:
    """Gradient of each loss with respect to ``degraded``.

    Args:
        reference, degraded: mono audio ``(1, 1, samples)``, same sample rate as the losses expect.
        losses: name -> loss module called as ``loss(degraded, reference)``.
    """
    check_pair(degraded, reference)
    out = []
    for name, loss in losses.items():
        y = degraded.detach().clone().requires_grad_(True)
        value = loss(y, reference.detach())
        (grad,) = torch.autograd.grad(value, y)
        out.append(LossGradient(name, float(value.detach()), grad.detach().reshape(-1)))
    return out


def gradient_heatmaps(reference: torch.Tensor, degraded: torch.Tensor, gradients: list[LossGradient],
                      sample_rate: int, *, title: str = "") -> bytes:
    """PNG: spectrograms of the reference, the degraded clip, and each loss's gradient.

    Each gradient is normalised to unit peak before its spectrogram, so the panels compare
    *where* a loss looks, not how large its gradient is (values are in the captions).
    """
    sample_rate = check_sample_rate(sample_rate)
    panels = [("reference", log_spectrogram(reference)), (f"degraded {title}".strip(), log_spectrogram(degraded))]
    for g in gradients:
        peak = g.gradient.abs().max().clamp_min(1e-20)
        panels.append((f"d {g.name} / d degraded", log_spectrogram(g.gradient / peak)))
    return spectrogram_grid(panels, sample_rate, shared_scale=False, vmin_db=None, cmap="viridis")

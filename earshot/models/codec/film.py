"""FiLM conditioning on a denoise flag (Perez et al. 2018; SoundStream Sec. III-D).

``x * gamma[flag] + beta[flag]`` per channel, with ``gamma = 1, beta = 0`` at initialisation,
so an untrained FiLM is the identity for both flag values.
"""

from __future__ import annotations

import torch
from torch import nn


class FiLM(nn.Module):
    """Feature-wise affine modulation of ``(B, channels, N)`` by a per-example condition.

    Args:
        channels: feature channels to modulate.
        n_conditions: number of discrete conditions (2: ``denoise`` off / on).
    """

    def __init__(self, channels: int, n_conditions: int = 2):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(n_conditions, channels))
        self.beta = nn.Parameter(torch.zeros(n_conditions, channels))

    def forward(self, x: torch.Tensor, condition) -> torch.Tensor:
        """``x`` ``(B, C, N)``; ``condition`` a bool/int, or a ``(B,)`` tensor of condition ids."""
        cond = torch.as_tensor(condition, dtype=torch.long, device=x.device)
        if cond.dim() == 0:
            cond = cond.expand(x.shape[0])
        return x * self.gamma[cond][:, :, None] + self.beta[cond][:, :, None]

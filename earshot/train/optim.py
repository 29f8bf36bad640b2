"""Optimisers, learning-rate schedules and EMA weights for the engine."""

from __future__ import annotations

import copy
import math
import torch
from torch import nn

from earshot.errors import ConfigError
from earshot.train.config import TrainConfig


def lr_factor(step: int, *, schedule: str, total: int, warmup: int = 0, floor: float = 0.0) -> float:
    """Multiplier of the base LR at optimiser step ``step`` (0-based).

    Linear warm-up over ``warmup`` steps (from 1/warmup to 1), then ``constant``, ``cosine``
    (half cosine from 1 to ``floor``) or ``linear`` (1 to ``floor``) over the remaining steps.
    """
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    span = max(1, total - warmup)
    t = min(1.0, max(0.0, (step - warmup) / span))
    if schedule == "cosine":
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))
    if schedule == "linear":
        return floor + (1 - floor) * (1 - t)
    raise ConfigError(f"train.schedule={schedule!r} is unknown; use constant, cosine or linear")


class LRFactor:
    """Picklable LR lambda for ``torch.optim.lr_scheduler.LambdaLR``."""

    def __init__(self, train: TrainConfig):
        self.schedule, self.total = train.schedule, train.steps
        self.warmup, self.floor = train.warmup_steps, train.min_lr_ratio

    def __call__(self, step: int) -> float:
        return lr_factor(step, schedule=self.schedule, total=self.total, warmup=self.warmup, floor=self.floor)


def make_scheduler(optimizer: torch.optim.Optimizer, train: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, LRFactor(train))


def default_optimizers(models: dict[str, nn.Module], train: TrainConfig) -> dict[str, torch.optim.Optimizer]:
    """AdamW for the main model (``lr``, ``betas``) and the discriminator (``disc_lr``, ``disc_betas``)."""
    out = {}
    for key, module in models.items():
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            continue
        if key == "discriminator":
            lr, betas = train.disc_lr or train.lr, train.disc_betas
        else:
            lr, betas = train.lr, train.betas
        out[key] = torch.optim.AdamW(params, lr=lr, betas=betas, weight_decay=train.weight_decay)
    return out


class EMA:
    """Exponential moving average of a module's parameters (buffers copied).

    ``decay_t = min(decay, (1 + t) / (10 + t))`` so early averages are not dominated by the
    random initialisation. ``module`` is the averaged copy, in eval mode, without gradients.
    """

    def __init__(self, source: nn.Module, decay: float):
        self.decay = decay
        self.module = copy.deepcopy(source).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, source: nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for ema_p, p in zip(self.module.parameters(), source.parameters()):
            ema_p.lerp_(p.detach().to(ema_p.dtype), 1 - d)
        for ema_b, b in zip(self.module.buffers(), source.buffers()):
            ema_b.copy_(b)

    def state_dict(self) -> dict:
        return self.module.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state)


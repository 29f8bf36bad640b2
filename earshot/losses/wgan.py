"""Wasserstein GAN losses with gradient penalty (Arjovsky et al. 2017; Gulrajani et al. 2017).

For a critic ``D`` (unbounded scores, higher = more real):

- critic:    ``D(fake) - D(real)`` (minimised: an estimate of minus the Wasserstein-1 distance);
- generator: ``-D(fake)``;
- gradient penalty on interpolates ``x_hat = a x_real + (1 - a) x_fake`` with ``a ~ U[0, 1]``
  per item: two-sided ``lambda (||grad D(x_hat)|| - 1)^2`` (WGAN-GP), or one-sided
  ``lambda max(0, ||grad D(x_hat)|| - 1)^2`` (Petzka et al. 2018; the choice of the code of
  Stoller, Ewert & Dixon 2018), ``lambda = 10``.

Scores of any shape ``(B, ...)`` are averaged over their non-batch axes, so ``reduction="none"``
gives one value per batch item.
"""

from __future__ import annotations

import torch
from torch import nn

from earshot.errors import ConfigError, ShapeError
from earshot.validate import check_reduction, reduce


def _per_item(scores: torch.Tensor, name: str) -> torch.Tensor:
    if not torch.is_tensor(scores) or scores.dim() < 1 or scores.shape[0] == 0:
        raise ShapeError(f"{name} must be a (batch, ...) tensor of critic scores, got {getattr(scores, 'shape', scores)!r}")
    return scores.reshape(scores.shape[0], -1).float().mean(dim=1)


def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    """The critic's loss ``D(fake) - D(real)``; scores ``(B, ...)`` -> per item ``(B,)`` reduced."""
    check_reduction(reduction)
    real, fake = _per_item(real_scores, "real_scores"), _per_item(fake_scores, "fake_scores")
    if real.shape != fake.shape:
        raise ShapeError(f"real and fake scores hold {real.shape[0]} and {fake.shape[0]} items")
    return reduce(fake - real, reduction)


def generator_loss(fake_scores: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    """The generator's loss ``-D(fake)``; scores ``(B, ...)`` -> per item ``(B,)`` reduced."""
    check_reduction(reduction)
    return reduce(-_per_item(fake_scores, "fake_scores"), reduction)


def gradient_norms(critic, points: torch.Tensor, *, groups_dim: int | None = None,
                   eps: float = 1e-12, create_graph: bool | None = None) -> torch.Tensor:
    """``||grad_x sum D(x)||_2`` at ``points`` ``(B, ...)``: ``(B,)``, or ``(B, G)`` with the
    norm taken separately per index of axis ``groups_dim`` (e.g. one critic per source channel).

    ``eps`` is added under the square root (a finite gradient where the norm is 0);
    ``create_graph`` (default: whether grad mode is on) keeps the result differentiable.
    """
    if create_graph is None:
        create_graph = torch.is_grad_enabled()
    x = points.detach().requires_grad_(True)
    with torch.enable_grad():
        scores = critic(x)
        (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=create_graph)
    if groups_dim is None:
        return (grad.reshape(grad.shape[0], -1).square().sum(dim=1) + eps).sqrt()
    if not 0 < groups_dim < grad.dim():
        raise ConfigError(f"groups_dim must be a non-batch axis of the {grad.dim()}-d input, got {groups_dim}")
    g = grad.movedim(groups_dim, 1)
    return (g.reshape(g.shape[0], g.shape[1], -1).square().sum(dim=2) + eps).sqrt()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, *, weight: float = 10.0,
                     one_sided: bool = True, target: float = 1.0, alpha: torch.Tensor | None = None,
                     generator: torch.Generator | None = None, groups_dim: int | None = None,
                     eps: float = 1e-12, reduction: str = "mean") -> torch.Tensor:
    """WGAN-GP penalty of ``critic`` on interpolates of ``real`` and ``fake`` (same shape ``(B, ...)``).

    Args:
        weight: lambda (10 in WGAN-GP and the paper).
        one_sided: penalise only norms above ``target`` (True, the paper's code) or any
            deviation from it (False, Gulrajani et al.).
        alpha: interpolation weights ``(B,)`` in [0, 1]; drawn uniformly (with ``generator``)
            when None. ``alpha = 1`` evaluates at ``real``, ``0`` at ``fake``.
        groups_dim: see :func:`gradient_norms` (penalties are then averaged over the groups).

    Returns:
        The penalty per item ``(B,)`` reduced by ``reduction``; differentiable w.r.t. the
        critic's parameters when grad mode is on.
    """
    check_reduction(reduction)
    if real.shape != fake.shape or real.dim() < 2:
        raise ShapeError(f"real and fake must share a (batch, ...) shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    b = real.shape[0]
    if alpha is None:
        alpha = torch.rand(b, generator=generator, dtype=real.dtype).to(real.device)
    if alpha.shape != (b,):
        raise ShapeError(f"alpha must be ({b},), got {tuple(alpha.shape)}")
    a = alpha.to(real).reshape(b, *([1] * (real.dim() - 1)))
    points = a * real.detach() + (1 - a) * fake.detach()
    norms = gradient_norms(critic, points, groups_dim=groups_dim, eps=eps)
    excess = norms - target
    if one_sided:
        excess = excess.clamp_min(0)
    per_item = weight * excess.square().reshape(b, -1).mean(dim=1)
    return reduce(per_item, reduction)


class WassersteinLoss(nn.Module):
    """Wasserstein adversarial loss: ``forward(fake_scores)`` is the generator's ``-D(fake)``,
    :meth:`critic` the critic's ``D(fake) - D(real)``. Scores are ``(B, ...)``."""

    def __init__(self, *, reduction: str = "mean"):
        super().__init__()
        self.reduction = check_reduction(reduction)

    def forward(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return generator_loss(fake_scores, reduction=self.reduction)

    def critic(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        return critic_loss(real_scores, fake_scores, reduction=self.reduction)


class GradientPenalty(nn.Module):
    """:func:`gradient_penalty` with its settings fixed: ``forward(critic, real, fake, alpha=None)``."""

    def __init__(self, weight: float = 10.0, *, one_sided: bool = True, target: float = 1.0,
                 groups_dim: int | None = None, eps: float = 1e-12, reduction: str = "mean"):
        super().__init__()
        if weight < 0:
            raise ConfigError(f"weight must be >= 0, got {weight}")
        self.weight, self.one_sided, self.target = float(weight), bool(one_sided), float(target)
        self.groups_dim, self.eps, self.reduction = groups_dim, float(eps), check_reduction(reduction)

    def forward(self, critic, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        return gradient_penalty(critic, real, fake, weight=self.weight, one_sided=self.one_sided,
                                target=self.target, alpha=alpha, generator=generator,
                                groups_dim=self.groups_dim, eps=self.eps, reduction=self.reduction)


__all__ = ["GradientPenalty", "WassersteinLoss", "critic_loss", "generator_loss", "gradient_norms",
           "gradient_penalty"]

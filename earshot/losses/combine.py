"""Combining losses: a named weighted sum that reports each part, and an EnCodec-style gradient balancer.

``WeightedLoss({"l1": (1.0, L1Loss()), "mrstft": (0.5, MultiResolutionSTFTLoss())})`` or
``build_loss("l1 + 0.5*mrstft", sample_rate=16000)`` (:mod:`earshot.losses.registry`); calling it returns a
:class:`LossResult`: a tensor (the total) that also carries ``components`` (each part, unweighted).

:class:`GradientBalancer` (Défossez et al. 2022, EnCodec, arXiv:2210.13438) rescales each
loss's gradient with respect to the model output so that each loss contributes the fraction
``weight / sum(weights)`` of the gradient norm, whatever the loss's natural scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import torch
from torch import nn

from earshot.errors import ConfigError, ShapeError


class LossResult(torch.Tensor):
    """A weighted sum that *is* its total (a ``torch.Tensor``) and also carries its parts.

    Use it as the loss tensor (``.backward()``, ``.item()``, ``float()``, arithmetic and torch
    functions give plain tensors or floats); ``components[name]`` is each unweighted (reduced)
    part, ``weights[name]`` its weight, :meth:`parts` plain floats for logging.
    """

    components: dict[str, torch.Tensor]
    weights: dict[str, float]

    @staticmethod
    def __new__(cls, total: torch.Tensor, components: Mapping[str, torch.Tensor], weights: Mapping[str, float]):
        out = total.as_subclass(cls)
        out.components, out.weights = dict(components), dict(weights)
        return out

    def __init__(self, *args, **kwargs):
        pass

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        with torch._C.DisableTorchFunctionSubclass():     # results are plain tensors
            return func(*args, **(kwargs or {}))

    @property
    def total(self) -> torch.Tensor:
        """The weighted sum as a plain tensor (same autograd graph)."""
        return self.as_subclass(torch.Tensor)

    @property
    def weighted(self) -> dict[str, torch.Tensor]:
        return {k: self.weights[k] * v for k, v in self.components.items()}

    def parts(self) -> dict[str, float]:
        """Plain floats for logging: each component and ``"total"`` (means over the batch for reduction "none")."""
        out = {k: float(v.detach().mean()) for k, v in self.components.items()}
        out["total"] = float(self.total.detach().mean())
        return out

    def backward(self, gradient=None, **kwargs) -> None:
        """Back-propagate the total (summed first when it holds one value per item)."""
        total = self.total
        if gradient is None and total.dim() != 0:
            total = total.sum()
        total.backward(gradient, **kwargs)

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={float(v.detach().mean()):.4g}" for k, v in self.components.items())
        return f"LossResult(total={self.total!r}, {parts})"


class WeightedLoss(nn.Module):
    """Named weighted sum of losses: ``total = sum_k w_k * loss_k(input, target)``.

    ``terms`` maps a name to ``(weight, module)`` (or to a module, weight 1). Each module's own
    reduction is used; build them with the same reduction (``build_loss`` does). ``forward``
    returns a :class:`LossResult`, a tensor holding the total that also carries the parts.
    """

    def __init__(self, terms: Mapping[str, "nn.Module | tuple[float, nn.Module]"]):
        super().__init__()
        if not terms:
            raise ConfigError("WeightedLoss needs at least one term")
        self.weights: dict[str, float] = {}
        self.losses = nn.ModuleDict()
        for name, term in terms.items():
            weight, module = (1.0, term) if isinstance(term, nn.Module) else term
            if not isinstance(module, nn.Module):
                raise ConfigError(f"term {name!r} is not an nn.Module")
            self.weights[name] = float(weight)
            self.losses[name] = module

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> LossResult:
        """``input``, ``target``: ``(batch, channels, samples)`` -> LossResult."""
        components = {name: module(input, target) for name, module in self.losses.items()}
        total = sum(self.weights[k] * v for k, v in components.items())
        return LossResult(total=total, components=components, weights=dict(self.weights))

    def extra_repr(self) -> str:
        return " + ".join(f"{w:g}*{k}" for k, w in self.weights.items())


@dataclass
class BalanceResult:
    """What the balancer did: each loss's value, its raw gradient norm and its running-average norm."""

    losses: dict[str, float]
    grad_norms: dict[str, float]
    ema_norms: dict[str, float]
    ratios: dict[str, float] = field(default_factory=dict)


class GradientBalancer:
    """EnCodec-style gradient balancer on the output of a model.

    ``backward(losses, output)``: for each scalar loss ``L_k``, compute ``g_k = dL_k / d output``,
    its norm ``n_k`` (per batch item then averaged, when ``per_item``), a debiased exponential
    average ``N_k`` of ``n_k`` (decay ``ema_decay``), and back-propagates into the model

        ``G = sum_k (w_k / sum(w)) * total_norm * g_k / (N_k + eps)``

    so that each loss owns a fixed share of the gradient. With ``rescale=False`` it
    back-propagates ``sum_k w_k g_k`` (a plain weighted sum) but still reports the norms.
    """

    def __init__(self, weights: Mapping[str, float], *, total_norm: float = 1.0, ema_decay: float = 0.999,
                 per_item: bool = True, eps: float = 1e-12, rescale: bool = True):
        if not weights or min(weights.values()) < 0 or sum(weights.values()) <= 0:
            raise ConfigError("weights must be non-negative with a positive sum")
        if not 0.0 <= ema_decay < 1.0:
            raise ConfigError(f"ema_decay must be in [0, 1), got {ema_decay}")
        self.weights = {k: float(v) for k, v in weights.items()}
        self.total_norm, self.ema_decay, self.per_item = total_norm, ema_decay, per_item
        self.eps, self.rescale = eps, rescale
        self._sum: dict[str, float] = {}
        self._count: dict[str, float] = {}

    def _average(self, name: str, value: float) -> float:
        self._sum[name] = self._sum.get(name, 0.0) * self.ema_decay + value
        self._count[name] = self._count.get(name, 0.0) * self.ema_decay + 1.0
        return self._sum[name] / self._count[name]

    def _norm(self, grad: torch.Tensor) -> float:
        if self.per_item and grad.dim() > 1:
            return float(grad.flatten(1).norm(dim=1).mean())
        return float(grad.norm())

    def backward(self, losses: Mapping[str, torch.Tensor], output: torch.Tensor, *,
                 backward_fn: Callable[[torch.Tensor, torch.Tensor], None] | None = None) -> BalanceResult:
        """Back-propagate the balanced gradient of ``losses`` (scalars) through ``output``.

        ``backward_fn(output, gradient)`` does the final back-propagation (default
        ``output.backward(gradient)``); a training engine passes its own, e.g. ``fabric.backward``,
        so that mixed-precision loss scaling applies.
        """
        unknown = set(losses) - set(self.weights)
        if unknown:
            raise ConfigError(f"no weight for losses {sorted(unknown)}")
        for name, value in losses.items():
            if value.dim() != 0:
                raise ShapeError(f"loss {name!r} must be a scalar, got shape {tuple(value.shape)}")
        names = list(losses)
        grads = [torch.autograd.grad(losses[k], output, retain_graph=True, allow_unused=True)[0] for k in names]
        total_w = sum(self.weights[k] for k in names)
        out = torch.zeros_like(output)
        result = BalanceResult(losses={k: float(losses[k].detach()) for k in names}, grad_norms={}, ema_norms={})
        for name, grad in zip(names, grads):
            grad = torch.zeros_like(output) if grad is None else grad
            norm = self._norm(grad)
            ema = self._average(name, norm)
            result.grad_norms[name], result.ema_norms[name] = norm, ema
            if self.rescale:
                ratio = self.weights[name] / total_w
                out.add_(grad, alpha=ratio * self.total_norm / (self.eps + ema))
                result.ratios[name] = ratio
            else:
                out.add_(grad, alpha=self.weights[name])
        (backward_fn or torch.Tensor.backward)(output, out)
        return result

    def state_dict(self) -> dict:
        return {"sum": dict(self._sum), "count": dict(self._count)}

    def load_state_dict(self, state: dict) -> None:
        self._sum, self._count = dict(state["sum"]), dict(state["count"])

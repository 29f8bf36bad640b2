"""WeightedLoss reports each part and sums them; GradientBalancer's gradients are exact."""

from __future__ import annotations

import pytest
import torch

from earshot.errors import ConfigError, ShapeError
from earshot.losses import (GradientBalancer, L1Loss, LossResult, MultiResolutionSTFTLoss, SISDRLoss,
                            WeightedLoss, build_loss)


def test_weighted_sum_from_dict_and_string_agree(rng):
    x, y = torch.randn(2, 1, 3000, generator=rng), torch.randn(2, 1, 3000, generator=rng)
    by_dict = WeightedLoss({"l1": L1Loss(), "mrstft": (0.5, MultiResolutionSTFTLoss())})
    by_string = build_loss("l1 + 0.5*mrstft")
    a, b = by_dict(x, y), by_string(x, y)
    assert isinstance(a, LossResult) and set(a.components) == {"l1", "mrstft"}
    l1, mr = L1Loss()(x, y), MultiResolutionSTFTLoss()(x, y)
    torch.testing.assert_close(a.components["l1"], l1)
    torch.testing.assert_close(a.components["mrstft"], mr)
    torch.testing.assert_close(a.total, l1 + 0.5 * mr)
    torch.testing.assert_close(b.total, a.total)
    torch.testing.assert_close(a.weighted["mrstft"], 0.5 * mr)
    assert a.parts()["total"] == pytest.approx(float(l1 + 0.5 * mr))
    # issue 17: the result is the total tensor itself, so it works wherever a loss tensor does
    assert isinstance(a, torch.Tensor) and a.item() == pytest.approx(float(l1 + 0.5 * mr))
    assert float(a + 1.0) == pytest.approx(float(l1 + 0.5 * mr) + 1.0)
    assert type(a * 2.0) is torch.Tensor and float(a * 2.0) == pytest.approx(2 * a.item())
    assert torch.isfinite(a) and a.dtype == torch.float32 and a.shape == ()


def test_build_loss_always_returns_a_loss_tensor(rng):
    """One rule (issue 17): what build_loss returns gives a float32 tensor, for a name or a sum."""
    from earshot.losses import build_loss

    x, y = torch.randn(2, 1, 2000, generator=rng), torch.randn(2, 1, 2000, generator=rng)
    single, weighted = build_loss("mrstft")(x, y), build_loss("0.5*mrstft")(x, y)
    assert isinstance(single, torch.Tensor) and isinstance(weighted, torch.Tensor)
    assert weighted.item() == pytest.approx(0.5 * single.item(), rel=1e-6)
    per_item = build_loss("l1 + sisdr", reduction="none")(x, y)
    assert per_item.shape == (2,) and per_item.components["sisdr"].shape == (2,)


def test_reduction_none_and_backward(rng):
    x = torch.randn(3, 2, 2000, generator=rng, requires_grad=True)
    y = torch.randn(3, 2, 2000, generator=rng)
    result = build_loss("l1 + 0.1*sisdr", reduction="none")(x, y)
    assert result.total.shape == (3,) and result.components["sisdr"].shape == (3,)
    torch.testing.assert_close(result.total, L1Loss(reduction="none")(x, y) + 0.1 * SISDRLoss(reduction="none")(x, y))
    result.backward()
    assert torch.isfinite(x.grad).all()


def test_weighted_loss_errors():
    with pytest.raises(ConfigError):
        WeightedLoss({})
    with pytest.raises(ConfigError):
        WeightedLoss({"a": (1.0, "not a module")})


def test_balancer_exact_gradient():
    p = torch.zeros(1, 4, requires_grad=True)
    out = 2.0 * p                               # the "model output"; d out / d p = 2
    losses = {"small": 3.0 * out.sum(), "large": 100.0 * out.sum()}
    balancer = GradientBalancer({"small": 1.0, "large": 3.0})
    result = balancer.backward(losses, out)
    # grad norms: |3 * ones(4)| = 6, |100 * ones(4)| = 200 -> shares 1/4 and 3/4 of a unit norm
    assert result.grad_norms == pytest.approx({"small": 6.0, "large": 200.0})
    expected = 0.25 * 3.0 / 6.0 + 0.75 * 100.0 / 200.0
    torch.testing.assert_close(p.grad, torch.full((1, 4), 2.0 * expected))
    # second step: the norm of "small" doubles; its running average is debiased
    p.grad = None
    out = 2.0 * p
    balancer.backward({"small": 6.0 * out.sum(), "large": 100.0 * out.sum()}, out)
    d = 0.999
    ema_small = (6.0 * d + 12.0) / (d + 1.0)
    torch.testing.assert_close(p.grad, torch.full((1, 4), 2.0 * (0.25 * 6.0 / ema_small + 0.75 * 0.5)))


def test_balancer_without_rescale_is_a_weighted_sum_and_checks():
    p = torch.zeros(2, 3, requires_grad=True)
    GradientBalancer({"a": 1.0, "b": 0.5}, rescale=False).backward({"a": p.sum(), "b": (4 * p).sum()}, p)
    torch.testing.assert_close(p.grad, torch.full((2, 3), 3.0))
    with pytest.raises(ConfigError):
        GradientBalancer({"a": 1.0}).backward({"c": p.sum()}, p)
    with pytest.raises(ShapeError):
        GradientBalancer({"a": 1.0}).backward({"a": p * 1.0}, p)
    with pytest.raises(ConfigError):
        GradientBalancer({"a": -1.0})


def test_balancer_state_round_trip():
    b = GradientBalancer({"a": 1.0})
    p = torch.ones(1, 2, requires_grad=True)
    b.backward({"a": (p * 5).sum()}, p)
    c = GradientBalancer({"a": 1.0})
    c.load_state_dict(b.state_dict())
    assert c.state_dict() == b.state_dict()

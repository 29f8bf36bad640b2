"""WGAN losses and the gradient penalty; the per-source DCGAN critics."""

import pytest
import torch

from earshot.errors import ConfigError, ShapeError
from earshot.losses.wgan import (GradientPenalty, WassersteinLoss, critic_loss, generator_loss, gradient_norms,
                                 gradient_penalty)
from earshot.models.discriminators import SourceCritics, SpectrogramCritic


class Linear(torch.nn.Module):
    """``D(x) = <w, x> + b`` over all non-batch axes: its gradient norm is ``||w||`` everywhere."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = torch.nn.Parameter(w.clone())

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1) + 0.5


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
def test_linear_critic_penalty_is_analytic(scale):
    w = torch.tensor([[3.0, 4.0]]) / 5 * scale                 # ||w|| = scale
    critic = Linear(w)
    real, fake = torch.randn(6, 1, 2), torch.randn(6, 1, 2)
    torch.testing.assert_close(gradient_norms(critic, real), torch.full((6,), scale))
    two = gradient_penalty(critic, real, fake, one_sided=False)
    one = gradient_penalty(critic, real, fake, one_sided=True)
    torch.testing.assert_close(two, torch.tensor(10 * (scale - 1) ** 2))
    torch.testing.assert_close(one, torch.tensor(10 * max(0.0, scale - 1) ** 2))


def test_penalty_gradient_wrt_critic_weights():
    w = torch.tensor([[0.6, 0.8]]) * 2.0                       # ||w|| = 2
    critic = Linear(w)
    gradient_penalty(critic, torch.randn(3, 1, 2), torch.randn(3, 1, 2), weight=10).backward()
    # d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w||
    torch.testing.assert_close(critic.w.grad, 20 * (2 - 1) * w / 2)


def test_interpolation_points_and_per_item_values():
    """With a quadratic critic D(x) = ||x||^2 / 2 the gradient at x is x: the norm at the
    interpolate a*real + (1-a)*fake is known per item."""
    critic = lambda x: 0.5 * x.flatten(1).square().sum(1)   # noqa: E731
    real = torch.tensor([[[3.0, 0.0]], [[0.0, 0.5]]])
    fake = torch.zeros_like(real)
    alpha = torch.tensor([1.0, 1.0])
    two = gradient_penalty(critic, real, fake, alpha=alpha, one_sided=False, reduction="none")
    one = gradient_penalty(critic, real, fake, alpha=alpha, one_sided=True, reduction="none")
    torch.testing.assert_close(two, torch.tensor([10 * 4.0, 10 * 0.25]))
    torch.testing.assert_close(one, torch.tensor([10 * 4.0, 0.0]))       # norm 0.5 < 1: not penalised
    half = gradient_penalty(critic, real, fake, alpha=torch.tensor([0.5, 0.5]), reduction="none", one_sided=False)
    torch.testing.assert_close(half, torch.tensor([10 * 0.25, 10 * 0.75 ** 2]))


def test_seeded_alpha_is_reproducible_and_module_matches_function():
    critic = Linear(torch.randn(1, 4))
    real, fake = torch.randn(5, 1, 4), torch.randn(5, 1, 4)
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    a = gradient_penalty(critic, real, fake, generator=g(), one_sided=False)
    b = GradientPenalty(one_sided=False)(critic, real, fake, generator=g())
    assert torch.equal(a, b)


def test_grouped_norms_match_separate_critics():
    torch.manual_seed(0)
    critics = SourceCritics(("a", "b"), 16, 16, channels=2, layers=2)
    x = torch.randn(3, 2, 16, 16)
    grouped = gradient_norms(critics, x, groups_dim=1)
    assert grouped.shape == (3, 2)
    for k, name in enumerate(critics.sources):
        alone = gradient_norms(critics.critic(name), x[:, k:k + 1])
        torch.testing.assert_close(grouped[:, k], alone)


def test_wasserstein_terms():
    real, fake = torch.tensor([[1.0, 3.0], [0.0, 2.0]]), torch.tensor([[0.0, 0.0], [1.0, -1.0]])
    torch.testing.assert_close(critic_loss(real, fake, reduction="none"), torch.tensor([-2.0, -1.0]))
    torch.testing.assert_close(generator_loss(fake), torch.tensor(-0.0))
    loss = WassersteinLoss(reduction="sum")
    torch.testing.assert_close(loss(fake), torch.tensor(0.0))
    torch.testing.assert_close(loss.critic(real, fake), torch.tensor(-3.0))


def test_critic_shapes_and_architecture():
    c = SpectrogramCritic(257, 32, channels=16, layers=4)
    convs = [m for m in c.convs if isinstance(m, torch.nn.Conv2d)]
    assert [m.kernel_size for m in convs] == [(4, 4)] * 4 and all(m.stride == (2, 2) for m in convs)
    assert not any(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.InstanceNorm2d, torch.nn.LayerNorm))
                   for m in c.modules())
    assert all(m.negative_slope == 0.2 for m in c.convs if isinstance(m, torch.nn.LeakyReLU))
    assert c.dense.in_features == 128 * 16 * 2 and c.dense.out_features == 1
    assert c(torch.rand(3, 1, 257, 32)).shape == (3,)
    both = SourceCritics(frames=32)
    assert both(torch.rand(2, 2, 257, 32)).shape == (2, 2)


def test_errors():
    with pytest.raises(ShapeError):
        SpectrogramCritic(64, 16, layers=2)(torch.rand(1, 1, 64, 17))
    with pytest.raises(ConfigError):
        SpectrogramCritic(8, 8, layers=4)
    with pytest.raises(ShapeError):
        gradient_penalty(Linear(torch.randn(1, 2)), torch.randn(2, 1, 2), torch.randn(3, 1, 2))
    with pytest.raises(ShapeError):
        critic_loss(torch.randn(2), torch.randn(3))
    with pytest.raises(ConfigError):
        GradientPenalty(weight=-1)
    with pytest.raises(ConfigError):
        SourceCritics(("a",), 16, 16, layers=2).critic("b")

"""Hinge / LSGAN adversarial losses and feature matching on hand-made discriminator outputs."""

import pytest
import torch

from earshot.errors import ConfigError, ShapeError
from earshot.losses.adversarial import AdversarialLoss, FeatureMatchingLoss
from earshot.models.discriminators import DiscriminatorOutput


def out(logits, features=()):
    return DiscriminatorOutput(logits=torch.tensor(logits).reshape(len(logits), 1, -1), features=list(features))


def test_hinge_values():
    real = [out([[0.5, 2.0], [1.0, -1.0]]), out([[3.0], [0.0]])]
    fake = [out([[-2.0, 0.0], [0.5, -0.5]]), out([[-1.0], [1.0]])]
    loss = AdversarialLoss("hinge", reduction="none")
    # discriminator, item 0: disc 1: mean(0.5, 0) + mean(0, 1) = 0.75 ; disc 2: 0 + 0 = 0 -> 0.375
    # item 1: disc 1: mean(0, 2) + mean(1.5, 0.5) = 2 ; disc 2: 1 + 2 = 3 -> 2.5
    assert torch.allclose(loss.discriminator(real, fake), torch.tensor([0.375, 2.5]))
    # generator, item 0: mean(3, 1) = 2 and 2 -> 2 ; item 1: mean(0.5, 1.5) = 1 and 0 -> 0.5
    assert torch.allclose(loss(fake), torch.tensor([2.0, 0.5]))
    assert AdversarialLoss("hinge")(fake).item() == pytest.approx(1.25)
    assert AdversarialLoss("hinge", reduction="sum")(fake).item() == pytest.approx(2.5)


def test_lsgan_values():
    loss = AdversarialLoss("lsgan", reduction="none")
    real, fake = out([[1.0, 0.0]]), out([[0.0, 2.0]])
    assert torch.allclose(loss.discriminator(real, fake), torch.tensor([0.5 + 2.0]))
    assert torch.allclose(loss(fake), torch.tensor([(1.0 + 1.0) / 2]))


def test_feature_matching_values_and_detached_real():
    real_f = [torch.zeros(2, 3, 4, requires_grad=True), torch.ones(2, 1, 2, requires_grad=True)]
    fake_f = [torch.full((2, 3, 4), 2.0, requires_grad=True), torch.full((2, 1, 2), -1.0, requires_grad=True)]
    loss = FeatureMatchingLoss(reduction="none")(out([[0.0], [0.0]], fake_f), out([[0.0], [0.0]], real_f))
    assert torch.allclose(loss, torch.tensor([2.0, 2.0]))  # mean of layer means 2 and 2
    loss.sum().backward()
    assert real_f[0].grad is None and fake_f[0].grad is not None


def test_errors():
    with pytest.raises(ConfigError):
        AdversarialLoss("wasserstein")
    with pytest.raises(ConfigError):
        FeatureMatchingLoss(reduction="max")
    with pytest.raises(ShapeError):
        AdversarialLoss().discriminator([out([[0.0]])], [])
    with pytest.raises(ShapeError):
        FeatureMatchingLoss()(out([[0.0]], [torch.zeros(1, 2)]), out([[0.0]], [torch.zeros(1, 3)]))

"""The gradient analysis' pieces: band shares, loss gradients, JND layer shares."""

from __future__ import annotations

import math

import pytest
import torch

from earshot.experiments.gradients import band_shares, gradient, jnd_layers


def test_band_shares_put_a_sine_in_its_band():
    t = torch.arange(16000) / 16000
    assert band_shares(torch.sin(2 * math.pi * 500 * t)) == pytest.approx([1.0, 0.0, 0.0], abs=1e-6)
    assert band_shares(torch.sin(2 * math.pi * 6000 * t))[2] == pytest.approx(1.0, abs=1e-6)
    mixed = band_shares(torch.sin(2 * math.pi * 500 * t) + torch.sin(2 * math.pi * 2000 * t))
    assert mixed == pytest.approx([0.5, 0.5, 0.0], abs=1e-6)


def test_gradient_of_l1_is_the_sign_of_the_error_over_n():
    from earshot.losses import L1Loss

    x = torch.zeros(1, 1, 100)
    y = torch.linspace(-1, 1, 100).reshape(1, 1, -1)
    value, g = gradient(L1Loss(), x, y)
    assert value == pytest.approx(float(y.abs().mean()))
    assert torch.allclose(g, torch.sign(y) / 100)


def test_jnd_layer_shares_sum_to_one_and_the_head_is_a_probability():
    from earshot.models.jndnet import JNDNet

    torch.manual_seed(0)
    net = JNDNet(layers=6, widths=[8, 16], n_mels=16, spec_layers=1, spec_channels=8).eval()
    x = 0.1 * torch.randn(1, 1, 4000)
    out = jnd_layers(net, x, x + 0.05 * torch.randn(1, 1, 4000))
    values, grads = out["value_share"], out["grad_share"]
    assert set(values) == {"wave layers 1-2", "wave layers 3-4", "wave layers 5-6", "log-mel", "spectral convs"}
    assert sum(values.values()) == pytest.approx(1.0) and sum(grads.values()) == pytest.approx(1.0)
    assert 0.0 < out["p_different"] < 1.0
    assert all(-1 <= c <= 1 for c in out["cos_error"].values()) and all(0 <= h <= 1 for h in out["above_4k"].values())

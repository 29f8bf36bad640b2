"""JNDLoss: frozen, differentiable, zero on identical inputs, channels folded, rates resampled."""

from __future__ import annotations

import pytest
import torch

from earshot.errors import ConfigError, NonFiniteError, ShapeError
from earshot.losses.jnd import JNDLoss
from earshot.models.jndnet import JNDNet


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return JNDNet(layers=8, widths=(8, 16), n_mels=32, spec_channels=16, spec_layers=2)


def test_frozen_no_parameters_and_eval(net):
    loss = JNDLoss(16000, weights=net)
    assert list(loss.parameters()) == [] and loss.state_dict() == {}
    loss.train()
    assert not loss.net.training
    assert all(not p.requires_grad for p in loss.net.parameters())


def test_zero_on_identical_positive_otherwise_and_reductions(net):
    loss = JNDLoss(16000, weights=net, reduction="none")
    x = 0.1 * torch.randn(3, 2, 4000)
    assert torch.equal(loss(x, x), torch.zeros(3))
    y = x + 0.01 * torch.randn_like(x)
    per_item = loss(y, x)
    assert per_item.shape == (3,) and (per_item > 0).all()
    assert JNDLoss(16000, weights=net, reduction="sum")(y, x) == pytest.approx(float(per_item.sum()), rel=1e-5)
    assert JNDLoss(16000, weights=net)(y, x) == pytest.approx(float(per_item.mean()), rel=1e-5)


def test_channels_are_folded_and_averaged(net):
    loss = JNDLoss(16000, weights=net, reduction="none")
    x = 0.1 * torch.randn(1, 2, 4000)
    y = x.clone()
    y[:, 1] += 0.02 * torch.randn(4000)
    both = loss(y, x)
    right = loss(y[:, 1:], x[:, 1:])
    assert both == pytest.approx(float(right) / 2, rel=1e-5)
    judged = loss.judge(y, x)
    assert judged.p_different.shape == (1,) and 0 <= float(judged.p_different) <= 1


def test_gradients_flow_to_the_input_and_are_finite_on_edge_signals(net, signals):
    loss = JNDLoss(16000, weights=net)
    for name, x in signals.items():
        est = (x + 0.01).clamp(-1, 1).clone().requires_grad_(True)
        value = loss(est, x)
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(est.grad).all(), name
        assert est.grad.abs().sum() > 0, name


def test_bad_inputs_raise(net):
    loss = JNDLoss(16000, weights=net)
    with pytest.raises(ShapeError):
        loss(torch.zeros(1, 1, 100), torch.zeros(1, 1, 101))
    with pytest.raises(NonFiniteError):
        loss(torch.full((1, 1, 100), float("nan")), torch.zeros(1, 1, 100))
    with pytest.raises(ConfigError):
        JNDLoss(16000, weights=net, reduction="avg")


def test_other_sample_rates_are_resampled_to_the_net_rate(net):
    import math

    def tones(sr, seconds=0.5):
        t = torch.arange(int(sr * seconds)) / sr
        clean = 0.2 * torch.sin(2 * math.pi * 300 * t) + 0.1 * torch.sin(2 * math.pi * 1100 * t)
        return clean[None, None], (clean + 0.05 * torch.sin(2 * math.pi * 2500 * t))[None, None]

    d16 = JNDLoss(16000, weights=net)(*tones(16000)[::-1])
    est, ref = tones(32000)
    est.requires_grad_(True)
    d32 = JNDLoss(32000, weights=net)(est, ref)
    d32.backward()
    assert float(d32.detach()) == pytest.approx(float(d16), rel=0.1)
    assert torch.isfinite(est.grad).all() and est.grad.abs().sum() > 0


def test_branches_split_the_distance_exactly(net):
    x = 0.1 * torch.randn(2, 1, 4000)
    y = x + 0.02 * torch.randn_like(x)
    whole, spectral, waveform = (JNDLoss(16000, weights=net, reduction="none", branch=b)(y, x)
                                 for b in ("all", "spectral", "waveform"))
    torch.testing.assert_close(whole, spectral + waveform)
    assert (spectral > 0).all() and (waveform > 0).all()


def test_spectral_branch_is_the_weighted_log_mel_and_conv_distance(net):
    x = 0.1 * torch.randn(1, 1, 4000)
    y = x + 0.02 * torch.randn_like(x)
    feats = net.features(torch.cat([x, y]))
    n_wave = len(net.wave.blocks)
    expected = sum(((f[:1] - f[1:]).abs() * w.abs()[None, :, None]).mean()
                   for w, f in zip(list(net.weights)[n_wave:], feats[n_wave:]))
    got = JNDLoss(16000, weights=net, branch="spectral")(y, x)
    assert float(got) == pytest.approx(float(expected), rel=1e-5)
    yy = y.clone().requires_grad_()
    JNDLoss(16000, weights=net, branch="spectral")(yy, x).backward()
    assert torch.isfinite(yy.grad).all() and yy.grad.abs().sum() > 0


def test_bad_branch_is_a_config_error(net):
    with pytest.raises(ConfigError, match="branch must be one of"):
        JNDLoss(16000, weights=net, branch="mel")
    with pytest.raises(ConfigError, match="log-mel branch"):
        JNDLoss(16000, weights=JNDNet(layers=4, widths=(4,), spectral=False), branch="spectral")

"""JNDNet: DPAM's architecture, zero distance on identical inputs, monotone head, learns a toy task."""

from __future__ import annotations

import torch

from earshot.models.jndnet import JNDNet, dpam_channels


def test_dpam_channel_schedule_and_layer_count():
    assert dpam_channels(14) == [32] * 5 + [64] * 5 + [128] * 4
    net = JNDNet(spectral=False, head="dpam").eval()
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv1d)]
    assert len(convs) == 14
    assert all(c.kernel_size == (3,) and c.stride == (2,) for c in convs)
    feats = net.features(torch.zeros(1, 1, 16384))
    assert [f.shape[1] for f in feats] == dpam_channels(14)
    assert feats[-1].shape[-1] == 1  # 16384 / 2**14
    # DPAM's head: sigmoid(d) -> 16 -> 6 -> 2
    assert [m.out_features for m in net.head if isinstance(m, torch.nn.Linear)] == [16, 6, 2]


def test_identical_inputs_give_zero_in_train_and_eval_mode():
    torch.manual_seed(0)
    x = 0.1 * torch.randn(3, 1, 4000)
    net = JNDNet()
    for mode in (True, False):
        net.train(mode)
        assert torch.equal(net.distance(x, x), torch.zeros(3))


def test_distance_is_symmetric_and_grows_with_the_difference():
    torch.manual_seed(0)
    net = JNDNet().eval()
    x = 0.1 * torch.randn(1, 1, 8000)
    n = torch.randn(1, 1, 8000)
    d = [float(net.distance(x, x + a * n).detach()) for a in (1e-3, 1e-2, 1e-1)]
    assert d[0] < d[1] < d[2]
    assert torch.allclose(net.distance(x, x + 0.01 * n), net.distance(x + 0.01 * n, x))


def test_monotone_head_is_increasing_and_calibrated_form():
    net = JNDNet()
    with torch.no_grad():
        net.head_scale.fill_(0.0)
        net.head_bias.fill_(1.0)
    d = torch.tensor([0.0, 0.01, 0.1, 1.0])
    logit = net.logit(d)
    assert torch.all(logit[1:] > logit[:-1])
    expected = torch.nn.functional.softplus(torch.tensor(0.0)) * torch.log(d + net.head_eps) + 1.0
    assert torch.allclose(logit, expected)


def test_short_and_silent_inputs_are_finite_with_gradients():
    net = JNDNet().eval()
    for n in (100, 4000):
        x = torch.zeros(2, 1, n, requires_grad=True)
        out = net(x, torch.zeros(2, 1, n))
        out.p_different.sum().backward()
        assert torch.isfinite(out.logit).all() and torch.isfinite(x.grad).all()


def test_learns_to_tell_loud_from_soft_noise():
    torch.manual_seed(0)
    net = JNDNet(layers=6, widths=(8, 16), spec_layers=1, spec_channels=8, n_mels=16, n_fft=256, hop_length=128)
    opt = torch.optim.Adam(net.parameters(), lr=3e-2)
    x = 0.1 * torch.randn(8, 1, 1024)
    label = (torch.arange(8) % 2).float()
    amp = torch.where(label > 0, 3e-2, 1e-4)[:, None, None]
    y = x + amp * torch.randn(8, 1, 1024)
    for _ in range(30):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x, y).logit, label)
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    p = net(x, y).p_different
    assert bool(((p > 0.5).float() == label).all()), p


def _share_above(g: torch.Tensor, hz: float, sample_rate: int = 16000) -> float:
    power = torch.fft.rfft(g.reshape(-1).double()).abs().square()
    return float(power[torch.fft.rfftfreq(g.numel(), 1 / sample_rate) > hz].sum() / power.sum())


def test_antialias_keeps_the_waveform_gradient_below_a_quarter_of_the_rate():
    """The strided stack's input gradient is what a training loss hands the model: without the
    low-pass a third or more of it lies above 4 kHz even for a white error; with it, almost none."""
    x = 0.1 * torch.randn(1, 1, 16000, generator=torch.Generator().manual_seed(1))
    error = 1e-3 * torch.randn(1, 1, 16000, generator=torch.Generator().manual_seed(2))
    shares = {}
    for antialias in (False, True):
        torch.manual_seed(0)
        net = JNDNet(antialias=antialias).eval()
        assert torch.equal(net.distance(x, x), torch.zeros(1))
        y = (x + error).requires_grad_(True)
        (g,) = torch.autograd.grad(net.distance(x, y, "waveform").sum(), y)
        shares[antialias] = _share_above(g, 4000)
    assert shares[False] > 0.2 and shares[True] < 0.01, shares
    blurs = [m for m in JNDNet(antialias=True).wave.modules() if type(m).__name__ == "_Blur"]
    assert len(blurs) == 14 and torch.allclose(blurs[0].taps.sum(-1), torch.ones(1))  # unit DC gain

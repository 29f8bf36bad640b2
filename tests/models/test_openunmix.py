"""The Open-Unmix-architecture peer separator: shapes, the mask, the BLSTM's context, training."""

import pytest
import torch

from earshot.errors import ConfigError, ShapeError
from earshot.models.openunmix import BLSTMSeparator
from earshot.models.separator import SpectrogramSeparator, UNetSeparator


def _model(**kw):
    torch.manual_seed(0)
    return BLSTMSeparator(sample_rate=8192, n_fft=128, hop_length=64, hidden=16, lstm_layers=2, **kw)


def test_shapes_and_shared_spectrogram_interface():
    model = _model().eval()
    audio = 0.1 * torch.randn(2, 1, 4096)
    spec = model.spectrogram(audio)
    est = model(model.features(spec))
    assert est.shape == (2, 2, 65, spec.shape[-1])
    assert isinstance(model, SpectrogramSeparator) and isinstance(UNetSeparator(), SpectrogramSeparator)
    waves = model.separate(audio)
    assert waves.shape == (2, 2, 4096) and torch.isfinite(waves).all()


def test_estimates_are_a_relu_mask_on_the_mixture():
    """log1p(relu(m) * |X|): silent bins stay silent whatever the network says; estimates >= 0."""
    model = _model().eval()
    features = torch.log1p(torch.rand(1, 1, 65, 20) * 3)
    features[..., 10:20, :] = 0.0
    est = model(features)
    assert (est >= 0).all()
    assert torch.equal(est[..., 10:20, :], torch.zeros_like(est[..., 10:20, :]))


def test_bidirectional_context():
    """A change in the last frame moves the estimate of the first (the BLSTM looks both ways)."""
    model = _model().eval()
    features = torch.log1p(torch.rand(1, 1, 65, 8))
    changed = features.clone()
    changed[..., -1] += 1.0
    assert (model(features)[..., 0] - model(changed)[..., 0]).abs().max() > 1e-5


def test_bad_configs_and_shapes():
    with pytest.raises(ConfigError, match="hidden"):
        BLSTMSeparator(hidden=15)
    with pytest.raises(ShapeError, match="features"):
        _model()(torch.zeros(1, 1, 64, 10))


def test_learns_a_fixed_mask():
    """A few Adam steps fit a target that is a fixed spectral split of the mixture."""
    model = _model(dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.rand(4, 1, 65, 16) * 2
    target = torch.cat([x * (torch.arange(65) < 30)[:, None], x * (torch.arange(65) >= 30)[:, None]], dim=1)
    first = None
    for _ in range(60):
        loss = torch.nn.functional.mse_loss(model(torch.log1p(x)), torch.log1p(target))
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.3 * first

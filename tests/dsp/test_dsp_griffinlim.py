"""Griffin-Lim: recovers a signal whose magnitude matches, improves with iterations, seeded."""

from __future__ import annotations

import pytest
import torch

from earshot.dsp import STFT, GriffinLim, magnitude
from earshot.errors import ShapeError


def _spectral_convergence(stft, x, y):
    a, b = magnitude(stft(x)), magnitude(stft(y))
    return float((a - b).norm() / b.norm())


def test_reconstruction_improves_and_is_seeded():
    t = torch.arange(8000) / 16000
    x = (0.5 * torch.sin(2 * torch.pi * 440 * t) + 0.2 * torch.sin(2 * torch.pi * 1250 * t)).reshape(1, 1, -1)
    stft = STFT(512, 128)
    mag = magnitude(stft(x))
    gl = GriffinLim(512, 128)
    few = GriffinLim(512, 128, n_iter=2)
    y = gl(mag, length=8000, generator=torch.Generator().manual_seed(1))
    y2 = gl(mag, length=8000, generator=torch.Generator().manual_seed(1))
    assert torch.equal(y, y2)
    sc_many = _spectral_convergence(stft, y, x)
    sc_few = _spectral_convergence(stft, few(mag, length=8000, generator=torch.Generator().manual_seed(1)), x)
    assert sc_many < 0.1 and sc_many < sc_few


def test_differentiable_in_magnitude():
    mag = torch.rand(1, 1, 65, 20, requires_grad=True)
    GriffinLim(128, 32, n_iter=3)(mag).square().sum().backward()
    assert torch.isfinite(mag.grad).all()


def test_griffin_lim_started_from_true_phases_reconstructs_exactly():
    from earshot.dsp import griffin_lim, make_window, stft

    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 1, 4096, generator=g)
    window = make_window("hann", 512)
    spec = stft(x, 512, 128, window)
    y = griffin_lim(spec.abs(), 512, 128, window, n_iter=0, init=torch.angle(spec), length=4096)
    torch.testing.assert_close(y, x, atol=1e-5, rtol=0)
    with pytest.raises(ShapeError):
        griffin_lim(spec.abs(), 512, 128, window, init=torch.angle(spec)[..., :-1])

"""STFT/iSTFT: equality with torch.stft, round trips, buffers, short inputs and shape errors."""

from __future__ import annotations

import pytest
import torch

from earshot.dsp import STFT, istft, magnitude, make_window, stft
from earshot.dsp.stft import num_frames, pad_window
from earshot.errors import ConfigError, ShapeError


def test_stft_matches_torch_stft(rng):
    x = torch.randn(2, 3, 1000, generator=rng)
    win = make_window("hann", 300)
    ours = stft(x, 512, 128, win)
    ref = torch.stft(x.reshape(6, 1000), 512, 128, 300, win, center=True, pad_mode="reflect", return_complex=True)
    assert ours.shape == (2, 3, 257, num_frames(1000, 512, 128))
    torch.testing.assert_close(ours.reshape(6, 257, -1), ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize("window,n_fft,hop,win", [("hann", 512, 128, 512), ("hann", 1024, 256, 600),
                                                  ("sqrt_hann", 256, 128, 256), ("hamming", 400, 100, 400)])
def test_round_trip(rng, window, n_fft, hop, win):
    x = torch.randn(2, 2, 4000, generator=rng, dtype=torch.float64)
    module = STFT(n_fft, hop, win, window=window).double()
    y = module.inverse(module(x), length=x.shape[-1])
    torch.testing.assert_close(y, x, rtol=0, atol=1e-9)


def test_module_window_is_a_buffer_not_state():
    module = STFT(256, 64)
    assert "window" in dict(module.named_buffers())
    assert module.state_dict() == {}
    assert list(module.parameters()) == []
    before = module.window
    module(torch.zeros(1, 1, 500))
    assert module.window is before


def test_short_input_gives_finite_spectrum_and_gradient():
    x = torch.randn(1, 1, 5, requires_grad=True)
    spec = STFT(64, 16)(x)
    assert spec.shape[-2:] == (33, 1)
    magnitude(spec, eps=1e-8).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_magnitude_power_and_floor():
    spec = torch.tensor([[[[3 + 4j, 0j]]]])
    torch.testing.assert_close(magnitude(spec), torch.tensor([[[[5.0, 0.0]]]]))
    torch.testing.assert_close(magnitude(spec, power=2.0, eps=1e-4), torch.tensor([[[[25.0, 1e-4]]]]))


def test_errors():
    win = make_window("hann", 64)
    with pytest.raises(ShapeError):
        stft(torch.zeros(10, 100), 64, 16, win)
    with pytest.raises(ShapeError):
        stft(torch.zeros(1, 1, 0), 64, 16, win)
    with pytest.raises(ConfigError):
        make_window("nope", 64)
    with pytest.raises(ConfigError):
        STFT(64, 16, 128)
    with pytest.raises(ConfigError):
        pad_window(win, 32)
    with pytest.raises(ShapeError):
        istft(torch.zeros(1, 1, 10, 3, dtype=torch.complex64), 64, 16, win)

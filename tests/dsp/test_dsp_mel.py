"""Mel filterbanks equal librosa's to 1e-6; the mel spectrogram equals librosa's."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.signal
import torch

from earshot.dsp import MelSpectrogram, hz_to_mel, mel_filterbank, mel_to_hz
from earshot.errors import ConfigError, SampleRateError


@pytest.mark.filterwarnings("ignore:Empty filters detected")
@pytest.mark.parametrize("sr,n_fft,n_mels,fmin,fmax,htk,norm", [
    (16000, 512, 80, 0.0, None, False, "slaney"),
    (22050, 1024, 128, 0.0, None, False, "slaney"),
    (44100, 2048, 160, 30.0, 16000.0, False, "slaney"),
    (16000, 400, 40, 20.0, 7600.0, True, "slaney"),
    (24000, 64, 64, 0.0, None, False, "slaney"),
    (16000, 512, 64, 0.0, None, True, None),
    (48000, 1024, 96, 50.0, None, False, 2.0),
])
def test_filterbank_matches_librosa(sr, n_fft, n_mels, fmin, fmax, htk, norm):
    ours = mel_filterbank(sample_rate=sr, n_fft=n_fft, n_mels=n_mels, f_min=fmin, f_max=fmax, htk=htk, norm=norm)
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm)
    assert ours.shape == ref.shape and ours.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), ref, rtol=0, atol=1e-6)


def test_mel_scale_round_trip_and_librosa():
    f = np.array([0.0, 100.0, 999.0, 1000.0, 4000.0, 20000.0])
    for htk in (False, True):
        np.testing.assert_allclose(hz_to_mel(f, htk=htk), librosa.hz_to_mel(f, htk=htk), rtol=1e-12)
        np.testing.assert_allclose(mel_to_hz(hz_to_mel(f, htk=htk), htk=htk), f, rtol=1e-12, atol=1e-9)


def test_mel_spectrogram_matches_numpy_reference(rng):
    x = torch.randn(1, 1, 4000, generator=rng)
    module = MelSpectrogram(16000, n_fft=512, hop_length=128, n_mels=40, pad_mode="constant")
    ours = module(x)[0, 0].numpy()
    sig = np.pad(x[0, 0].numpy().astype(np.float64), 256)
    frames = np.lib.stride_tricks.sliding_window_view(sig, 512)[::128]
    power = np.abs(np.fft.rfft(frames * scipy.signal.get_window("hann", 512, fftbins=True), axis=-1)) ** 2
    ref = librosa.filters.mel(sr=16000, n_fft=512, n_mels=40) @ power.T
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)


def test_mel_spectrogram_shape_buffers_and_grad(rng):
    module = MelSpectrogram(16000, n_fft=256, n_mels=32, power=1.0, eps=1e-10)
    assert module.state_dict() == {}
    x = torch.randn(2, 3, 1000, generator=rng, requires_grad=True)
    out = module(x)
    assert out.shape == (2, 3, 32, 1 + 1000 // 64)
    out.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_errors():
    with pytest.raises(SampleRateError):
        mel_filterbank(sample_rate=None, n_fft=512)
    with pytest.raises(ConfigError):
        mel_filterbank(sample_rate=16000, n_fft=512, f_max=9000)
    with pytest.raises(ConfigError):
        mel_filterbank(sample_rate=16000, n_fft=512, norm="bogus")

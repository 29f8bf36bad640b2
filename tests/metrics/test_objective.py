"""Objective metrics: analytic values, reference implementations, monotonicity, gradients, errors."""

from __future__ import annotations

import math

import librosa
import numpy as np
import pesq as pesq_lib
import pytest
import scipy.signal
import torch
from pystoi import stoi as pystoi_stoi

from earshot.errors import ConfigError, NonFiniteError, SampleRateError, ShapeError
from earshot.metrics import (
    MetricError,
    estoi,
    log_spectral_distance,
    mel_distance,
    pesq,
    si_sdr,
    snr,
    stft_distance,
    stoi,
)

from metric_signals import add_noise, speechlike

SR = 16000


def _noise(shape, seed=0, scale=0.1):
    return scale * torch.randn(shape, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- analytic values


def test_si_sdr_of_scaled_copy_is_very_large_and_snr_is_not():
    x = _noise((2, 1, 8000))
    # only float32 rounding and the eps=1e-8 floor on the residual energy remain
    assert (si_sdr(0.5 * x, x) > 80).all()
    assert (si_sdr(-3.0 * x, x) > 80).all()
    assert (si_sdr(0.5 * x.double(), x.double(), eps=1e-20) > 150).all()
    # SNR is not scale invariant: 0.5 x leaves half the signal as error -> 6.02 dB
    assert torch.allclose(snr(0.5 * x, x), torch.full((2,), 20 * math.log10(2)), atol=1e-4)


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 25.0])
def test_si_sdr_and_snr_of_noisy_copy(snr_db):
    x = _noise((1, 1, 32000), seed=3)
    y = add_noise(x, snr_db, seed=4)
    assert snr(y, x).item() == pytest.approx(snr_db, abs=1e-3)
    # independent noise: SI-SDR equals the SNR up to the tiny noise/signal correlation
    assert si_sdr(y, x).item() == pytest.approx(snr_db, abs=0.1)


def test_si_sdr_matches_direct_formula_and_sums_channel_energies():
    x = _noise((1, 2, 4000), seed=5)
    y = 0.7 * x + _noise((1, 2, 4000), seed=6, scale=0.05)
    num = den = 0.0
    for c in range(2):
        s = x[0, c].double() - x[0, c].double().mean()
        e = y[0, c].double() - y[0, c].double().mean()
        target = (e @ s) / (s @ s) * s
        num, den = num + target @ target, den + (e - target) @ (e - target)
    assert si_sdr(y, x).item() == pytest.approx(10 * math.log10(num / den), abs=1e-3)


def test_gain_gives_closed_form_spectral_distances():
    """A gain g scales every magnitude: log terms differ by pow*log10(g) everywhere."""
    x = _noise((1, 1, 8000), seed=7)
    # mel: 7 scales, pow=1, no magnitude term -> 7 * log10(10) = 7
    assert mel_distance(10 * x, x, SR).item() == pytest.approx(7.0, abs=1e-4)
    # stft, log term only: 2 scales * pow 2 * log10(10) = 4
    assert stft_distance(10 * x, x, mag_weight=0.0).item() == pytest.approx(4.0, abs=1e-4)
    # LSD of a 10x gain: power ratio 100 -> log10 difference 2 in every bin and frame
    assert log_spectral_distance(10 * x, x).item() == pytest.approx(2.0, abs=1e-4)


def test_identical_inputs_give_ideal_values():
    x = speechlike(seconds=1.0)
    assert mel_distance(x, x, SR).item() == 0.0
    assert stft_distance(x, x).item() == 0.0
    assert log_spectral_distance(x, x).item() == 0.0
    assert stoi(x, x, SR).item() == pytest.approx(1.0, abs=1e-6)
    assert pesq(x, x, SR).item() > 4.5


# --------------------------------------------------------------------------- reference implementations


def _dac_reference(est, ref, sr, windows, mels, pow_, log_w, mag_w, clamp=1e-5):
    """DAC/audiotools' definition written with numpy, scipy windows and librosa filters."""
    total = 0.0
    for i, w in enumerate(windows):
        specs = []
        for sig in (est, ref):
            padded = np.pad(sig, w // 2, mode="reflect")
            frames = np.lib.stride_tricks.sliding_window_view(padded, w)[:: w // 4]
            mag = np.abs(np.fft.rfft(frames * scipy.signal.get_window("hann", w), axis=-1)).T
            if mels is not None:
                mag = librosa.filters.mel(sr=sr, n_fft=w, n_mels=mels[i]).astype(np.float64) @ mag
            specs.append(mag)
        a, b = specs
        total += log_w * np.mean(np.abs(np.log10(np.maximum(a, clamp) ** pow_) - np.log10(np.maximum(b, clamp) ** pow_)))
        total += mag_w * np.mean(np.abs(a - b))
    return total


def test_mel_and_stft_distance_match_dac_definition():
    x = speechlike(seconds=0.5)
    y = add_noise(x, 15.0)
    xn, yn = x[0, 0].double().numpy(), y[0, 0].double().numpy()
    windows, mels = (32, 64, 128, 256, 512, 1024, 2048), (5, 10, 20, 40, 80, 160, 320)
    expected = _dac_reference(yn, xn, SR, windows, mels, 1.0, 1.0, 0.0)
    assert mel_distance(y.double(), x.double(), SR).item() == pytest.approx(expected, rel=1e-6)
    # DAC's class defaults: 2 scales, 150/80 mels, pow 2, magnitude term on
    got = mel_distance(y.double(), x.double(), SR, window_lengths=(2048, 512), n_mels=(150, 80),
                       pow=2.0, mag_weight=1.0)
    assert got.item() == pytest.approx(_dac_reference(yn, xn, SR, (2048, 512), (150, 80), 2.0, 1.0, 1.0), rel=1e-6)
    expected = _dac_reference(yn, xn, SR, (2048, 512), None, 2.0, 1.0, 1.0)
    assert stft_distance(y.double(), x.double()).item() == pytest.approx(expected, rel=1e-6)


def test_log_spectral_distance_matches_numpy():
    x = speechlike(seconds=0.5)
    y = add_noise(x, 5.0)
    specs = []
    for sig in (y, x):
        padded = np.pad(sig[0, 0].double().numpy(), 1024, mode="reflect")
        frames = np.lib.stride_tricks.sliding_window_view(padded, 2048)[::512]
        specs.append(np.abs(np.fft.rfft(frames * scipy.signal.get_window("hann", 2048), axis=-1)) ** 2)
    diff = np.log10(specs[0] + 1e-10) - np.log10(specs[1] + 1e-10)  # (frames, freq)
    expected = np.mean(np.sqrt(np.mean(diff ** 2, axis=1)))
    assert log_spectral_distance(y.double(), x.double()).item() == pytest.approx(expected, rel=1e-6)


def test_pesq_matches_pesq_package_and_resamples(speech):
    y = add_noise(speech, 20.0)
    ref, deg = speech[0, 0].double().numpy(), y[0, 0].double().numpy()
    assert pesq(y, speech, SR).item() == pytest.approx(pesq_lib.pesq(SR, ref, deg, "wb"), abs=1e-5)
    assert pesq(y, speech, SR, "nb").item() == pytest.approx(pesq_lib.pesq(SR, ref, deg, "nb"), abs=1e-5)
    # the same audio at 48 kHz is resampled to 16 kHz (wb) / 8 kHz (nb) and scores alike
    from earshot.audio import resample

    up_x, up_y = resample(speech, SR, 48000), resample(y, SR, 48000)
    assert pesq(up_y, up_x, 48000).item() == pytest.approx(pesq(y, speech, SR).item(), abs=0.1)
    x8 = resample(speech, SR, 8000)[0, 0].double().numpy()
    y8 = resample(y, SR, 8000)[0, 0].double().numpy()
    assert pesq(up_y, up_x, 48000, "nb").item() == pytest.approx(pesq_lib.pesq(8000, x8, y8, "nb"), abs=1e-3)


def test_stoi_and_estoi_match_pystoi_and_average_channels(speech):
    noisy = torch.cat([add_noise(speech, 0.0, seed=1), add_noise(speech, 10.0, seed=2)], dim=1)  # (1, 2, T)
    ref = speech.repeat(1, 2, 1)
    for extended, fn in ((False, stoi), (True, estoi)):
        per_channel = [pystoi_stoi(ref[0, c].double().numpy(), noisy[0, c].double().numpy(), SR, extended=extended)
                       for c in range(2)]
        assert fn(noisy, ref, SR).item() == pytest.approx(float(np.mean(per_channel)), abs=1e-6)


# --------------------------------------------------------------------------- monotonicity


def test_every_metric_is_monotone_in_noise_level(speech):
    levels = [30.0, 15.0, 5.0]
    batch = torch.cat([add_noise(speech, s, seed=9) for s in levels])
    ref = speech.repeat(3, 1, 1)
    higher = {"si_sdr": si_sdr(batch, ref), "snr": snr(batch, ref), "pesq": pesq(batch, ref, SR),
              "stoi": stoi(batch, ref, SR), "estoi": estoi(batch, ref, SR)}
    lower = {"mel": mel_distance(batch, ref, SR), "stft": stft_distance(batch, ref),
             "lsd": log_spectral_distance(batch, ref)}
    for name, v in higher.items():
        assert (v[:-1] > v[1:]).all(), (name, v)
    for name, v in lower.items():
        assert (v[:-1] < v[1:]).all(), (name, v)


# --------------------------------------------------------------------------- gradients and edge cases


@pytest.mark.parametrize("fn", [si_sdr, snr, stft_distance, log_spectral_distance,
                                lambda a, b: mel_distance(a, b, SR)])
def test_differentiable_metrics_have_finite_values_and_gradients(fn, signals):
    for name, target in signals.items():
        target = target[..., :2000]
        for pred in (target.clone(), 0.9 * target + 0.01, torch.zeros_like(target)):
            pred = pred.clone().requires_grad_(True)
            value = fn(pred, target)
            assert value.shape == (target.shape[0],), name
            assert torch.isfinite(value).all(), name
            value.sum().backward()
            assert torch.isfinite(pred.grad).all(), name


def test_spectral_metrics_accept_very_short_input():
    x = _noise((1, 2, 300), seed=11)
    y = x + _noise((1, 2, 300), seed=12, scale=0.01)
    for v in (mel_distance(y, x, SR), stft_distance(y, x), log_spectral_distance(y, x)):
        assert torch.isfinite(v).all() and (v > 0).all()


def test_pesq_without_utterance_is_nan_or_raises():
    silence = torch.zeros(2, 1, SR)
    x = speechlike(seconds=1.0)
    batch_ref = torch.cat([x, silence[:1]])
    batch_deg = torch.cat([x, silence[:1]])
    with pytest.warns(RuntimeWarning, match="item 1 channel 0"):
        v = pesq(batch_deg, batch_ref, SR)
    assert v[0] > 4.0 and torch.isnan(v[1])
    with pytest.raises(MetricError, match="item 1 channel 0"):
        pesq(batch_deg, batch_ref, SR, on_error="raise")
    with pytest.raises(MetricError, match="0.25 s"):
        pesq(x[..., :2000], x[..., :2000], SR, on_error="raise")
    # PESQ's own voice activity detector finds nothing in a reference at 1e-30 full scale
    with pytest.raises(MetricError, match="item 0 channel 0: No utterances detected"):
        pesq(x, 1e-30 * x, SR, on_error="raise")


def test_metrics_reject_bad_inputs():
    x = _noise((1, 1, 4000))
    with pytest.raises(ShapeError):
        si_sdr(x, x[..., :100])
    with pytest.raises(ShapeError):
        snr(x[0], x[0])
    bad = x.clone()
    bad[0, 0, 5] = float("nan")
    with pytest.raises(NonFiniteError):
        mel_distance(bad, x, SR)
    with pytest.raises(SampleRateError):
        mel_distance(x, x, None)
    with pytest.raises(ConfigError):
        pesq(x, x, SR, mode="xx")
    with pytest.raises(ConfigError):
        mel_distance(x, x, SR, window_lengths=(64,), n_mels=(10, 20))

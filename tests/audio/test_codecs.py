"""Real MP3/Opus round trips: alignment (lag 0 by cross-correlation), determinism, shapes, quality."""

from __future__ import annotations

import io

import lameenc
import numpy as np
import pytest
import soundfile as sf
import torch

from earshot.audio import codecs
from earshot.errors import ConfigError, NonFiniteError, ShapeError


def xcorr_lag(ref: np.ndarray, y: np.ndarray, max_lag: int = 4000) -> int:
    """Lag (samples) of the cross-correlation peak: > 0 when ``y`` trails ``ref``."""
    n = len(ref) + len(y)
    corr = np.fft.irfft(np.fft.rfft(y, 2 * n) * np.conj(np.fft.rfft(ref, 2 * n)), 2 * n)
    lags = np.concatenate([np.arange(max_lag + 1), np.arange(-max_lag, 0)])
    values = np.concatenate([corr[: max_lag + 1], corr[2 * n - max_lag:]])
    return int(lags[np.argmax(values)])


def vowel(sample_rate: int, seconds: float = 0.8, seed: int = 0) -> torch.Tensor:
    """Speech-like test signal ``(1, T)``: pulse train with a wandering f0 through two resonances."""
    rng = np.random.default_rng(seed)
    n = int(sample_rate * seconds)
    t = np.arange(n) / sample_rate
    f0 = 120 + 30 * np.sin(2 * np.pi * 2.1 * t + rng.uniform(0, 6))
    phase = np.cumsum(f0) / sample_rate
    pulses = np.diff(np.floor(phase), prepend=0.0)
    from scipy.signal import lfilter

    x = pulses
    for formant, bw in ((700, 120), (1200, 150)):
        r = np.exp(-np.pi * bw / sample_rate)
        x = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * formant / sample_rate), r * r], x)
    x = x * (0.3 + 0.7 * np.sin(np.pi * t / seconds) ** 2) + 0.003 * rng.standard_normal(n)
    return torch.from_numpy((0.5 * x / np.abs(x).max()).astype(np.float32))[None]


def chord(sample_rate: int, seconds: float = 0.8) -> torch.Tensor:
    """Music-like test signal ``(1, T)``: decaying notes of a chord."""
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    x = sum(0.12 * np.sin(2 * np.pi * f * t) for f in (196.0, 247.0, 294.0, 392.0, 1175.0))
    return torch.from_numpy((x * np.exp(-3 * (t % 0.4))).astype(np.float32))[None]


def snr_db(clean: torch.Tensor, test: torch.Tensor) -> float:
    return float(10 * torch.log10(clean.pow(2).sum() / (clean - test).pow(2).sum()))


@pytest.mark.parametrize("sample_rate", [16000, 44100])
@pytest.mark.parametrize("kbps", [8, 16, 32, 64, 128])
def test_mp3_cbr_is_sample_aligned(sample_rate, kbps):
    x = vowel(sample_rate)
    y = codecs.mp3_roundtrip(x, sample_rate, kbps=kbps)
    assert y.shape == x.shape and y.dtype == torch.float32
    assert xcorr_lag(x[0].numpy(), y[0].numpy()) == 0
    assert snr_db(x, y) > 0  # a real, recognisable copy, not silence or noise


@pytest.mark.parametrize("quality", [0, 5, 9])
def test_mp3_vbr_is_aligned_and_complete(quality):
    sample_rate = 22050
    x = vowel(sample_rate, seconds=1.0)
    y = codecs.mp3_roundtrip(x, sample_rate, vbr_quality=quality)
    assert xcorr_lag(x[0].numpy(), y[0].numpy()) == 0
    tail = slice(int(0.75 * sample_rate), None)  # the end is decoded too, not cut off
    assert snr_db(x[:, tail], y[:, tail]) > 3


def test_plain_lame_plus_decoder_lags_1105_samples_which_we_remove():
    """Without a gapless header (lameenc writes none) encoder+decoder delay is 576 + 529."""
    sample_rate = 16000
    x = vowel(sample_rate)
    enc = lameenc.Encoder()
    enc.set_in_sample_rate(sample_rate)
    enc.set_channels(1)
    enc.set_bit_rate(16)
    enc.silence()
    data = bytes(enc.encode((x[0].numpy() * 32767).astype("<i2").tobytes()) + enc.flush())
    raw, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == sample_rate
    assert xcorr_lag(x[0].numpy(), raw) == 1105
    assert xcorr_lag(x[0].numpy(), codecs.mp3_roundtrip(x, sample_rate, kbps=16)[0].numpy()) == 0


@pytest.mark.parametrize("sample_rate", [16000, 48000])
@pytest.mark.parametrize("kbps", [6, 12, 24, 64])
@pytest.mark.parametrize("signal", [vowel, chord])
def test_opus_is_sample_aligned(sample_rate, kbps, signal):
    x = signal(sample_rate)
    y = codecs.opus_roundtrip(x, sample_rate, kbps=kbps)
    assert y.shape == x.shape
    assert xcorr_lag(x[0].numpy(), y[0].numpy()) == 0
    assert snr_db(x, y) > -1


def test_any_sample_rate_and_odd_lengths():
    for rate in (11025, 20000, 32000):
        x = vowel(rate, seconds=0.537)
        for y in (codecs.mp3_roundtrip(x, rate, kbps=32), codecs.opus_roundtrip(x, rate, kbps=32)):
            assert y.shape == x.shape
            assert xcorr_lag(x[0].numpy(), y[0].numpy()) == 0


def test_deterministic_and_batched_shapes():
    x = torch.cat([vowel(16000, seed=1), chord(16000)])[None]  # (1, 2, T) stereo
    batch = torch.cat([x, x.flip(1)])  # (2, 2, T)
    for fn, kw in ((codecs.mp3_roundtrip, {"kbps": 32}), (codecs.opus_roundtrip, {"kbps": 48})):
        a, b = fn(batch, 16000, **kw), fn(batch, 16000, **kw)
        assert a.shape == batch.shape
        assert torch.equal(a, b)
        assert torch.equal(fn(batch[1], 16000, **kw), a[1])  # batch items are independent
        many = torch.cat([x[0], x[0, :1]])  # 3 channels are coded one by one
        assert fn(many, 16000, **kw).shape == many.shape


def test_quality_grows_with_bitrate():
    x = torch.cat([vowel(16000), chord(16000)], dim=-1)
    mp3 = [snr_db(x, codecs.mp3_roundtrip(x, 16000, kbps=k)) for k in (8, 24, 64)]
    opus = [snr_db(x, codecs.opus_roundtrip(x, 16000, kbps=k)) for k in (6, 16, 64)]
    assert mp3[0] < mp3[1] < mp3[2]
    assert opus[0] < opus[1] < opus[2]
    vbr = [snr_db(x, codecs.mp3_roundtrip(x, 16000, vbr_quality=q)) for q in (9, 0)]
    assert vbr[0] < vbr[1]


def test_short_and_silent_inputs():
    for n in (1, 100):
        x = torch.zeros(1, n)
        assert torch.equal(codecs.mp3_roundtrip(x, 16000), x)
        assert codecs.opus_roundtrip(x, 16000, kbps=24).abs().max() < 1e-6


def test_coded_rates_follow_the_codec():
    assert codecs.mp3_coded_rate(44100, kbps=8) == 8000
    assert codecs.mp3_coded_rate(44100, kbps=32) == 22050
    assert codecs.mp3_coded_rate(44100, kbps=128) == 44100
    assert codecs.opus_coded_rate(44100, kbps=6) == 8000
    assert codecs.opus_coded_rate(44100, kbps=24) == 48000
    assert codecs.codec_delay(("mp3", 16000, ("cbr", 16), 5)) > 0


def test_bad_arguments():
    x = torch.zeros(1, 1000)
    with pytest.raises(ConfigError, match="kbps"):
        codecs.mp3_roundtrip(x, 16000, kbps=17)
    with pytest.raises(ConfigError, match="vbr_quality"):
        codecs.mp3_roundtrip(x, 16000, vbr_quality=12)
    with pytest.raises(ConfigError, match="Opus kbps"):
        codecs.opus_roundtrip(x, 16000, kbps=3)
    with pytest.raises(ShapeError):
        codecs.mp3_roundtrip(torch.zeros(1000), 16000)
    with pytest.raises(NonFiniteError):
        codecs.opus_roundtrip(torch.full((1, 100), float("nan")), 16000)

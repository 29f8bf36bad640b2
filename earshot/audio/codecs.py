"""Real MP3 and Opus round trips (encode, then decode) in memory, sample-aligned with the input.

* MP3: LAME (``lameenc``) encodes, mpg123 (inside libsndfile) decodes. CBR at ``kbps`` or VBR at
  ``vbr_quality`` (0 best .. 9 worst).
* Opus: libopus inside libsndfile (OGG/OPUS) encodes and decodes at ``kbps``.

Any input sample rate works. The audio is resampled (soxr, linear phase) to the rate the codec
would code at for that bitrate -- LAME's own choice for MP3 (8 kbps codes at 8 kHz, 32 kbps at
22.05 kHz, ...), and for Opus the internal bandwidth it switches to -- encoded with no resampling
inside the codec, decoded, and resampled back.

Alignment: LAME adds 576 samples of encoder delay and mpg123 529 of decoder delay; ``lameenc``
writes no gapless (LAME/Xing) header, so the decoder cannot remove them and the decoded audio lags
by ~1105 samples of the coded rate. Opus' pre-skip is removed by the decoder, but its SILK path
leaves a small offset at rates above 16 kHz. Rather than trust constants, each configuration's
delay is *measured* once (cross-correlation of a fixed calibration signal, cached) and removed.
The output has the input's exact shape, and the same input gives the same output.
"""

from __future__ import annotations

import functools
import io

import lameenc
import numpy as np
import soundfile as sf
import soxr
import torch

from earshot.errors import ConfigError, ShapeError
from earshot.validate import check_finite, check_sample_rate

MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
MP3_CBR_KBPS = (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 192, 224, 256, 320)
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
OPUS_KBPS_RANGE = (6.0, 256.0)  # per channel, as libsndfile allows
_MAX_LAG = 8192
_OPUS_RADIUS = 3  # samples at the coded rate; see _residual_lag

__all__ = ["mp3_roundtrip", "opus_roundtrip", "mp3_coded_rate", "opus_coded_rate", "codec_delay"]


def mp3_roundtrip(audio: torch.Tensor, sample_rate: int, *, kbps: int = 16,
                  vbr_quality: int | None = None, encoder_quality: int = 5) -> torch.Tensor:
    """Encode ``audio`` to MP3 with LAME and decode it again.

    Args:
        audio: ``(channels, samples)`` or ``(batch, channels, samples)`` float tensor in [-1, 1],
            at ``sample_rate``.
        sample_rate: rate of ``audio`` in Hz (any rate; resampled around the codec).
        kbps: constant bitrate, one of ``MP3_CBR_KBPS`` (ignored when ``vbr_quality`` is given;
            LAME accepts only rates valid for the coded sample rate, e.g. at most 160 below 32 kHz).
        vbr_quality: ``None`` for CBR, else LAME VBR quality 0 (best) .. 9 (smallest).
        encoder_quality: LAME algorithm quality, 2 (best, slowest) .. 7 (fastest).

    Returns:
        Float32 tensor of the same shape, sample-aligned with ``audio`` (lag 0).
    """
    sample_rate = check_sample_rate(sample_rate)
    if vbr_quality is None:
        if kbps not in MP3_CBR_KBPS:
            raise ConfigError(f"kbps must be one of {MP3_CBR_KBPS} for MP3 CBR, got {kbps!r}")
        mode = ("cbr", int(kbps))
    else:
        if int(vbr_quality) != vbr_quality or not 0 <= vbr_quality <= 9:
            raise ConfigError(f"vbr_quality must be an integer in 0..9, got {vbr_quality!r}")
        mode = ("vbr", int(vbr_quality))
    if encoder_quality not in range(2, 8):
        raise ConfigError(f"encoder_quality must be in 2..7, got {encoder_quality!r}")
    rate = mp3_coded_rate(sample_rate, kbps=kbps, vbr_quality=vbr_quality)
    return _roundtrip(audio, sample_rate, ("mp3", rate, mode, int(encoder_quality)))


def opus_roundtrip(audio: torch.Tensor, sample_rate: int, *, kbps: float = 24.0) -> torch.Tensor:
    """Encode ``audio`` to Opus (OGG container, libopus via libsndfile) and decode it again.

    Args:
        audio: ``(channels, samples)`` or ``(batch, channels, samples)`` float tensor in [-1, 1].
        sample_rate: rate of ``audio`` in Hz (any rate; resampled to an Opus rate around the codec).
        kbps: total bitrate in kbit/s, 6 .. 256 per channel.

    Returns:
        Float32 tensor of the same shape, sample-aligned with ``audio`` (lag 0).
    """
    sample_rate = check_sample_rate(sample_rate)
    channels = audio.shape[-2] if audio.dim() >= 2 else 1
    per_channel = float(kbps) / max(1, channels)
    lo, hi = OPUS_KBPS_RANGE
    if not lo <= per_channel <= hi:
        raise ConfigError(f"Opus kbps must be {lo:g}..{hi:g} per channel, got {kbps!r} for {channels} channel(s)")
    rate = opus_coded_rate(sample_rate, kbps=per_channel)
    return _roundtrip(audio, sample_rate, ("opus", rate, int(round(per_channel * 1000))))


def mp3_coded_rate(sample_rate: int, *, kbps: int = 16, vbr_quality: int | None = None) -> int:
    """The sample rate LAME codes at for this input rate and bitrate (its own choice)."""
    base = next((r for r in MP3_RATES if r >= sample_rate), MP3_RATES[-1])
    return _lame_choice(base, int(kbps), None if vbr_quality is None else int(vbr_quality))


def opus_coded_rate(sample_rate: int, *, kbps: float) -> int:
    """The Opus rate used for ``kbps`` per channel: the bandwidth libopus itself switches to.

    Below 10 kbps libopus codes narrowband (SILK at 8 kHz), so coding at 8 kHz loses nothing
    and avoids SILK's internal resampler; otherwise the smallest Opus rate >= the input rate.
    """
    base = next((r for r in OPUS_RATES if r >= sample_rate), OPUS_RATES[-1])
    return min(base, 8000) if kbps < 10 else base


def codec_delay(key: tuple, channels: int = 1) -> int:
    """Measured delay in samples (at the coded rate) of a codec configuration.

    ``key`` is ``("mp3", rate, ("cbr", kbps) | ("vbr", quality), encoder_quality)`` or
    ``("opus", rate, bits_per_second_per_channel)``.
    """
    return _measured_delay(key, channels)


# ----------------------------------------------------------------------------------- internals

def _run_codec(key: tuple, frames: np.ndarray) -> np.ndarray:
    """Encode+decode ``(T, C)`` float32 frames at the coded rate with the codec named by ``key``."""
    if key[0] == "mp3":
        return _mp3_codec(frames, key[1], key[2], key[3])
    return _opus_codec(frames, key[1], key[2])


def _roundtrip(audio, sample_rate: int, key: tuple) -> torch.Tensor:
    if not isinstance(audio, torch.Tensor):
        raise ShapeError(f"audio must be a torch.Tensor, got {type(audio).__name__}")
    if audio.dim() not in (2, 3) or audio.shape[-1] == 0:
        raise ShapeError(f"audio must be (channels, samples) or (batch, channels, samples), got {tuple(audio.shape)}")
    check_finite(audio, "audio")
    flat = audio.detach().cpu().float().reshape(-1, audio.shape[-2], audio.shape[-1]).numpy()
    out = np.stack([_roundtrip_item(item, sample_rate, key) for item in flat])
    return torch.from_numpy(out).reshape(audio.shape).to(audio.device)


def _roundtrip_item(item: np.ndarray, sample_rate: int, key: tuple) -> np.ndarray:
    """One ``(C, T)`` array through resample -> codec -> delay removal -> resample back.

    Up to two channels are coded together (joint stereo); more are coded one by one.
    """
    rate, max_channels = key[1], 2
    channels, length = item.shape
    x = np.clip(item, -1.0, 1.0).T.astype(np.float64)  # (T, C)
    if rate != sample_rate:
        x = soxr.resample(x, sample_rate, rate, quality="HQ")
    n = x.shape[0]
    groups = [slice(0, channels)] if channels <= max_channels else [slice(c, c + 1) for c in range(channels)]
    delay = _measured_delay(key, min(channels, max_channels))
    decoded = []
    for g in groups:
        raw = _run_codec(key, np.ascontiguousarray(x[:, g], dtype=np.float32))
        if key[0] == "opus" and rate > 16000:
            delay_g = delay + _residual_lag(x[:, g].mean(axis=1), raw.mean(axis=1), delay, _OPUS_RADIUS)
        else:
            delay_g = delay
        decoded.append(_fit(raw, delay_g, n))
    y = np.concatenate(decoded, axis=1).astype(np.float64)
    if rate != sample_rate:
        y = soxr.resample(y, rate, sample_rate, quality="HQ")
    return _fit(y, 0, length).T.astype(np.float32)


def _residual_lag(ref: np.ndarray, y: np.ndarray, delay: int, radius: int) -> int:
    """Offset in [-radius, radius] around ``delay`` maximising the correlation of ``y`` with ``ref``.

    Above 16 kHz libopus picks per frame between CELT (no offset) and SILK/hybrid, whose
    resampler leaves ~-1 sample at 24 kHz and ~-2 at 48 kHz; which one it picks depends on the
    content, so the last few samples of offset are measured on the item itself. Silence keeps 0.
    """
    if not np.any(ref):
        return 0
    scores = []
    for off in range(-radius, radius + 1):
        start = delay + off
        seg = _fit(y[:, None], start, len(ref))[:, 0]
        scores.append(float(np.dot(seg, ref)))
    best = int(np.argmax(scores)) - radius
    return best if scores[best + radius] > 0 else 0


def _fit(y: np.ndarray, start: int, length: int) -> np.ndarray:
    """``y[start:start+length]`` (frames first), zero-padded at the end when short."""
    y = y[start:start + length] if start >= 0 else np.concatenate([np.zeros((-start, y.shape[1]), y.dtype), y])[:length]
    if y.shape[0] < length:
        y = np.concatenate([y, np.zeros((length - y.shape[0], y.shape[1]), y.dtype)])
    return y


@functools.lru_cache(maxsize=None)
def _measured_delay(key: tuple, channels: int = 1) -> int:
    """Delay of the codec registered under ``key``: lag of the cross-correlation peak between a
    fixed calibration signal and its round trip (voiced, speech-like, band-limited, 1 s)."""
    rate = key[1]
    ref = _calibration_signal(rate)
    x = np.repeat(ref[:, None], channels, axis=1).astype(np.float32)
    y = _run_codec(key, x).mean(axis=1)
    return _xcorr_lag(ref, y, _MAX_LAG)


def _calibration_signal(rate: int) -> np.ndarray:
    """1 s: a gliding harmonic tone (f0 110-190 Hz, syllabic envelope) plus quiet noise, fixed."""
    t = np.arange(rate) / rate
    f0 = 150 + 40 * np.sin(2 * np.pi * 1.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    harmonics = sum(np.sin(k * phase) / k for k in range(1, 12) if k * 190 < rate / 2)
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    noise = np.random.default_rng(12345).standard_normal(rate) * 0.02
    return (0.25 * harmonics * envelope + noise).astype(np.float64)


def _xcorr_lag(ref: np.ndarray, y: np.ndarray, max_lag: int) -> int:
    """Integer lag (samples) by which ``y`` trails ``ref``, searched in [-max_lag, max_lag]."""
    n = len(ref) + len(y)
    size = 1 << int(np.ceil(np.log2(n)))
    corr = np.fft.irfft(np.fft.rfft(y, size) * np.conj(np.fft.rfft(ref, size)), size)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = np.concatenate([corr[: max_lag + 1], corr[size - max_lag:]])
    return int(lags[int(np.argmax(values))])


# ---- MP3 (LAME encode, mpg123 decode)

def _lame_encoder(in_rate: int, out_rate: int | None, channels: int, mode: tuple, quality: int):
    enc = lameenc.Encoder()
    enc.set_in_sample_rate(in_rate)
    if out_rate is not None:
        enc.set_out_sample_rate(out_rate)
    enc.set_channels(channels)
    enc.set_quality(quality)
    if mode[0] == "cbr":
        enc.set_bit_rate(mode[1])
    else:
        enc.set_vbr(4)  # vbr_mtrh, LAME's default VBR
        enc.set_vbr_quality(mode[1])
    enc.silence()
    return enc


@functools.lru_cache(maxsize=None)
def _lame_choice(in_rate: int, kbps: int, vbr_quality: int | None) -> int:
    """Ask LAME which output rate it picks (it downsamples for low bitrates)."""
    mode = ("cbr", kbps) if vbr_quality is None else ("vbr", vbr_quality)
    try:
        enc = _lame_encoder(in_rate, None, 1, mode, 7)
        data = bytes(enc.encode(np.zeros(4608, np.int16).tobytes()) + enc.flush())
    except RuntimeError as exc:
        raise ConfigError(f"LAME rejects MP3 {mode[0]} {mode[1]} at {in_rate} Hz: {exc}") from None
    return _frame_info(data, 0)["rate"]


def _mp3_codec(frames: np.ndarray, rate: int, mode: tuple, quality: int) -> np.ndarray:
    """``(T, C)`` float32 at ``rate`` -> decoded ``(T', C)`` float32 (with the codec's delay)."""
    channels = frames.shape[1]
    pcm = np.round(np.clip(frames, -1.0, 1.0) * 32767.0).astype("<i2")
    try:
        enc = _lame_encoder(rate, rate, channels, mode, quality)
        data = bytes(enc.encode(pcm.tobytes()) + enc.flush())
    except RuntimeError as exc:
        raise ConfigError(f"LAME rejects MP3 {mode[0]} {mode[1]} at {rate} Hz: {exc}") from None
    return _decode(_with_xing_header(data))


def _decode(data: bytes) -> np.ndarray:
    with sf.SoundFile(io.BytesIO(data)) as f:
        return f.read(dtype="float32", always_2d=True)


_BITRATES = {  # layer III, kbit/s by index
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _frame_info(data: bytes, pos: int) -> dict:
    """Parse the MPEG audio (layer III) frame header at ``pos``."""
    b1, b2, b3 = data[pos + 1], data[pos + 2], data[pos + 3] if len(data) > pos + 3 else 0
    if data[pos] != 0xFF or (b1 & 0xE0) != 0xE0 or ((b1 >> 1) & 3) != 1:
        raise ConfigError(f"LAME output has no layer III frame header at byte {pos}")
    version = (b1 >> 3) & 3
    mpeg1 = version == 3
    rate = _RATES[version][(b2 >> 2) & 3]
    kbps = _BITRATES[1 if mpeg1 else 2][b2 >> 4]
    size = (144 if mpeg1 else 72) * kbps * 1000 // rate + ((b2 >> 1) & 1)
    mono = (b3 >> 6) == 3
    side = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
    return {"rate": rate, "size": size, "side": side, "crc": not (b1 & 1)}


def _with_xing_header(data: bytes) -> bytes:
    """Prepend a Xing frame holding the frame and byte counts.

    Without it mpg123 estimates a VBR stream's length from its first frame and libsndfile stops
    reading there, cutting the audio; with it the length is exact. No LAME tag (no gapless info)
    is written, so the decoder delay stays and is removed by measurement.
    """
    count, pos = 0, 0
    while pos + 4 <= len(data):
        pos += _frame_info(data, pos)["size"]
        count += 1
    first = _frame_info(data, 0)
    at = 4 + first["side"] + (2 if first["crc"] else 0)
    header = bytearray(data[:4])
    header[2] &= 0x0D  # no padding, bitrate index 0 for now
    for index in range(1, 15):  # the smallest bitrate whose frame holds the tag
        header[2] = (header[2] & 0x0F) | (index << 4)
        size = _frame_info(bytes(header), 0)["size"]
        if size >= at + 16:
            break
    frame = bytearray(size)
    frame[:4] = header
    total = len(data) + size
    frame[at:at + 16] = b"Xing" + (3).to_bytes(4, "big") + count.to_bytes(4, "big") + total.to_bytes(4, "big")
    return bytes(frame) + data


# ---- Opus (libopus through libsndfile)

def _opus_codec(frames: np.ndarray, rate: int, bps: int) -> np.ndarray:
    """``(T, C)`` float32 at an Opus rate -> decoded ``(T, C)`` float32."""
    # libsndfile: bitrate = int((1 - level) * 250000 + 6000) per channel
    level = 1.0 - (bps - 6000 + 0.5) / 250000.0
    buf = io.BytesIO()
    sf.write(buf, frames, rate, format="OGG", subtype="OPUS", compression_level=min(1.0, max(0.0, level)))
    return _decode(buf.getvalue())

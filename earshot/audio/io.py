"""Load and save audio files: WAV, FLAC, OGG/Vorbis, OGG/Opus and MP3 through libsndfile.

Audio comes back as a float32 tensor ``(channels, samples)`` in [-1, 1] with its sample rate.
Saving never replaces an existing file unless asked, and writes atomically (temporary file,
then rename), so an interrupted save never leaves a half-written file behind.
"""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from earshot.audio.resample import resample
from earshot.errors import AudioFileError, ShapeError
from earshot.validate import MAX_SAMPLE_RATE, check_sample_rate

# extension -> (libsndfile format, subtype)
FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".opus": ("OGG", "OPUS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
AUDIO_EXTENSIONS = tuple(FORMATS)
READ_BLOCK = 1 << 16  # frames decoded per block
# what libsndfile/soundfile raise on a broken file (LibsndfileError is a RuntimeError)
_DECODER_ERRORS = (RuntimeError, ValueError, TypeError, OverflowError, MemoryError, EOFError, OSError)


def info(path) -> sf._SoundFileInfo:
    """Header information of an audio file (sample rate, channels, frames), checked."""
    path = _existing_file(path)
    try:
        return sf.info(str(path))
    except _DECODER_ERRORS as exc:
        raise AudioFileError(path, f"not a readable audio file ({type(exc).__name__}: {exc})") from None


def load(path, *, sample_rate: int | None = None, mono: bool = False) -> tuple[torch.Tensor, int]:
    """Read an audio file.

    Args:
        path: file to read (any format libsndfile reads: WAV, FLAC, OGG, Opus, MP3, ...).
        sample_rate: resample to this rate (soxr, high quality); ``None`` keeps the file's rate.
        mono: average the channels into one.

    Returns:
        ``(audio, sample_rate)`` with audio a float32 tensor ``(channels, samples)``.

    Raises:
        AudioFileError: the file is missing, empty, truncated, not audio or unsupported.
    """
    path = _existing_file(path)
    if sample_rate is not None:
        sample_rate = check_sample_rate(sample_rate, maximum=MAX_SAMPLE_RATE)
    data, rate, declared, fmt = _read(path)
    if data.shape[0] == 0:
        raise AudioFileError(path, "contains no audio samples")
    reason = _truncation(path, fmt, declared, data.shape[0])
    if reason:
        raise AudioFileError(path, reason)
    if not np.isfinite(data).all():
        raise AudioFileError(path, "contains NaN or Inf samples")
    audio = torch.from_numpy(np.ascontiguousarray(data.T))
    if mono:
        audio = audio.mean(dim=0, keepdim=True)
    if sample_rate is not None and sample_rate != rate:
        audio, rate = resample(audio, rate, sample_rate), sample_rate
    return audio, rate


def save(path, audio, sample_rate: int, *, subtype: str | None = None, overwrite: bool = False) -> Path:
    """Write ``audio`` (``(channels, samples)`` or ``(samples,)``, tensor or array) to ``path``.

    The format follows the extension (.wav .flac .ogg .opus .mp3). Values are clipped to
    [-1, 1]. An existing file is never replaced unless ``overwrite=True``.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in FORMATS:
        raise AudioFileError(path, f"unsupported extension {ext!r}; use one of {', '.join(FORMATS)}")
    if path.exists() and not overwrite:
        raise AudioFileError(path, "already exists; refusing to write over it (pass overwrite=True)")
    sample_rate = check_sample_rate(sample_rate, maximum=MAX_SAMPLE_RATE)
    if ext == ".opus" and sample_rate not in OPUS_RATES:
        raise AudioFileError(path, f"Opus needs a sample rate in {OPUS_RATES}, got {sample_rate}")
    data = _to_frames(audio)
    fmt, default_subtype = FORMATS[ext]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        sf.write(tmp, data, sample_rate, format=fmt, subtype=subtype or default_subtype)
        os.chmod(tmp, 0o644)  # mkstemp makes the file private; audio files are for sharing
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _read(path: Path) -> tuple[np.ndarray, int, int, str]:
    """Decode the whole file in blocks (never trusting a header's frame count for an
    allocation): ``(frames x channels float32, sample rate, declared frames, format)``."""
    blocks = []
    try:
        with sf.SoundFile(str(path)) as f:
            rate, channels, declared, fmt = f.samplerate, f.channels, f.frames, f.format
            if rate <= 0 or channels <= 0:
                raise AudioFileError(path, f"invalid header: {rate} Hz, {channels} channel(s)")
            while True:
                block = f.read(READ_BLOCK, dtype="float32", always_2d=True)
                if block.shape[0]:
                    blocks.append(block)
                if block.shape[0] < READ_BLOCK:
                    break
    except AudioFileError:
        raise
    except _DECODER_ERRORS as exc:
        raise AudioFileError(path, f"not a readable audio file ({type(exc).__name__}: {exc})") from None
    data = np.concatenate(blocks) if blocks else np.zeros((0, channels), np.float32)
    return data, rate, declared, fmt


def _truncation(path: Path, fmt: str, declared: int, read: int) -> str | None:
    """Why a decoded file looks truncated, or None. libsndfile silently shortens a truncated
    WAV and decodes a truncated MP3 up to the break, so their headers are checked here
    (an MP3 only when a Xing/Info frame states its length; an Ogg file cut at a page
    boundary cannot be told from a shorter one)."""
    if fmt in ("WAV", "WAVEX"):
        reason = _wav_truncation(path)
        if reason:
            return reason
    if 0 < declared != read and (fmt == "FLAC" or (fmt == "MP3" and _has_xing_tag(path))):
        return f"truncated: header declares {declared} frames, {read} decoded"
    return None


def _wav_truncation(path: Path) -> str | None:
    """Compare a RIFF/WAVE file's ``data`` chunk size with the bytes actually present."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return None
        order = "<" if head[:4] == b"RIFF" else ">"
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, chunk_size = struct.unpack(order + "4sI", f.read(8))
            if chunk_id == b"data":
                present = size - pos - 8
                if chunk_size in (0, 0xFFFFFFFF) or present >= chunk_size:
                    return None  # 0 / 0xFFFFFFFF: size unknown (streamed writers)
                return f"truncated: the data chunk declares {chunk_size} bytes, {present} present"
            pos += 8 + chunk_size + (chunk_size & 1)
    return None


def _has_xing_tag(path: Path) -> bool:
    """Whether an MP3's first frame is a Xing/Info frame (which states the exact frame count)."""
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    start = 0
    if head[:3] == b"ID3" and len(head) >= 10:  # skip an ID3v2 tag (syncsafe size)
        start = 10 + ((head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F))
    for i in range(start, min(len(head) - 1, start + 4096)):
        if head[i] == 0xFF and head[i + 1] & 0xE0 == 0xE0:
            window = head[i + 4:i + 48]
            return b"Xing" in window or b"Info" in window
    return False


def _existing_file(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise AudioFileError(path, "no such file")
    if not path.is_file():
        raise AudioFileError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise AudioFileError(path, "file is empty")
    return path


def _to_frames(audio) -> np.ndarray:
    """``(channels, samples)`` tensor/array -> float32 ``(samples, channels)`` array in [-1, 1]."""
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu().float().numpy()
    try:
        audio = np.asarray(audio, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ShapeError(f"audio to save must be numbers, (channels, samples) or (samples,): {exc}") from None
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2:
        raise ShapeError(f"audio to save must be (channels, samples) or (samples,), got {audio.shape}")
    if audio.size == 0:
        raise ShapeError(f"audio to save has no samples: shape {audio.shape}")
    if not np.isfinite(audio).all():
        raise ShapeError("audio to save contains NaN or Inf values")
    return np.clip(audio, -1.0, 1.0).T

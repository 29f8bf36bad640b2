"""Load and save audio files: WAV, FLAC, OGG/Vorbis, OGG/Opus and MP3 through libsndfile.

Audio comes back as a float32 tensor ``(channels, samples)`` in [-1, 1] with its sample rate.
Saving never replaces an existing file unless asked, and writes atomically (temporary file,
then rename), so an interrupted save never leaves a half-written file behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from earshot.audio.resample import resample
from earshot.errors import AudioFileError, ShapeError

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


def info(path) -> sf._SoundFileInfo:
    """Header information of an audio file (sample rate, channels, frames), checked."""
    path = _existing_file(path)
    try:
        return sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFileError(path, f"not a readable audio file ({exc})") from None


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
    try:
        with sf.SoundFile(str(path)) as f:
            declared = f.frames
            data = f.read(dtype="float32", always_2d=True)
            rate = f.samplerate
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFileError(path, f"not a readable audio file ({exc})") from None
    if data.shape[0] == 0:
        raise AudioFileError(path, "contains no audio samples")
    if 0 < declared != data.shape[0] and path.suffix.lower() in (".wav", ".flac"):
        raise AudioFileError(path, f"truncated: header declares {declared} frames, {data.shape[0]} read")
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
    if ext == ".opus" and sample_rate not in OPUS_RATES:
        raise AudioFileError(path, f"Opus needs a sample rate in {OPUS_RATES}, got {sample_rate}")
    data = _to_frames(audio)
    fmt, default_subtype = FORMATS[ext]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        sf.write(tmp, data, sample_rate, format=fmt, subtype=subtype or default_subtype)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


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
        audio = audio.detach().cpu().numpy()
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None]
    if audio.ndim != 2:
        raise ShapeError(f"audio to save must be (channels, samples) or (samples,), got {audio.shape}")
    if not np.isfinite(audio).all():
        raise ShapeError("audio to save contains NaN or Inf values")
    return np.clip(audio, -1.0, 1.0).T

"""Code audio files with SoundStream, long ones in chunks with bounded memory.

:func:`encode_file` reads a file (mixed to mono, resampled to the model's rate) into a
:class:`~earshot.models.codec.bitstream.Bitstream`; :func:`decode_file` writes a bitstream back
to an audio file. A file no longer than ``chunk_seconds`` is coded in one piece, exactly as
``model.encode`` / ``model.decode`` do; a longer one is read, resampled, coded and written
``chunk_seconds`` at a time through the stateful :mod:`~earshot.models.codec.streaming` coder
(equal to offline coding to float rounding, ~1e-6), so memory does not grow with its length.
Only the codes (a few kB per minute) are held whole.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import soundfile as sf
import soxr
import torch

from earshot.audio.io import FORMATS, info, load
from earshot.errors import AudioFileError
from earshot.models.codec import bitstream
from earshot.models.codec.model import SoundStream
from earshot.models.codec.streaming import StreamingDecoder, StreamingEncoder

Progress = Callable[[int], None]  # called with the number of model-rate samples just coded


def encode_file(model: SoundStream, path, *, n_quantizers: int, denoise: bool = False, model_name: str = "",
                chunk_seconds: float = 30.0, device=None, progress: Progress | None = None) -> bitstream.Bitstream:
    """Encode the audio file ``path`` (any channels and rate) into a Bitstream.

    ``model`` is in eval mode on ``device`` (default: the model's device).
    Raises AudioFileError for an unreadable file.
    """
    device = device or next(model.parameters()).device
    meta = info(path)
    sr = model.sample_rate
    if meta.frames <= chunk_seconds * meta.samplerate:
        audio, _ = load(path, sample_rate=sr, mono=True)
        with torch.inference_mode():
            codes = model.encode(audio[None].to(device), n_quantizers, denoise=denoise)[0].cpu()
        n_samples = audio.shape[-1]
        if progress:
            progress(n_samples)
    else:
        encoder, pieces, n_samples = StreamingEncoder(model, n_quantizers, denoise=denoise), [], 0
        for chunk in _mono_chunks(path, sr, chunk_seconds):
            pieces.append(encoder.push(torch.from_numpy(chunk).reshape(1, 1, -1).to(device))[0].cpu())
            n_samples += chunk.shape[0]
            if progress:
                progress(chunk.shape[0])
        pieces.append(encoder.flush()[0].cpu())
        codes = torch.cat(pieces, dim=-1)
    return bitstream.Bitstream(codes=codes, model_id=bitstream.model_fingerprint(model), model_name=model_name,
                               sample_rate=sr, bits=model.bits_per_code, n_samples=n_samples, denoise=denoise)


def decode_file(model: SoundStream, stream: bitstream.Bitstream, path, *, subtype: str | None = None,
                chunk_seconds: float = 30.0, device=None, progress: Progress | None = None,
                overwrite: bool = False) -> Path:
    """Decode ``stream`` into the audio file ``path`` (format from its extension) at the model's rate.

    Written atomically (a temporary file, then a rename); samples are clipped to [-1, 1].
    Raises AudioFileError if ``path`` exists (unless ``overwrite``) or has an unknown extension.
    """
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise AudioFileError(path, f"unsupported extension {path.suffix!r}; use one of {', '.join(FORMATS)}")
    if path.exists() and not overwrite:
        raise AudioFileError(path, "already exists; pass --overwrite to replace it")
    device = device or next(model.parameters()).device
    fmt, default_subtype = FORMATS[path.suffix.lower()]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with sf.SoundFile(tmp, "w", samplerate=model.sample_rate, channels=1, format=fmt,
                          subtype=subtype or default_subtype) as out:
            for audio in _decoded_chunks(model, stream, chunk_seconds, device):
                out.write(audio.clamp(-1, 1).cpu().numpy())
                if progress:
                    progress(audio.shape[-1])
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _decoded_chunks(model: SoundStream, stream: bitstream.Bitstream, chunk_seconds: float,
                    device) -> Iterator[torch.Tensor]:
    """The decoded samples ``(n,)`` of ``stream``, in order, ``stream.n_samples`` in all."""
    frames_per_chunk = max(1, int(chunk_seconds * model.frame_rate))
    codes = stream.codes[None].to(device)
    with torch.inference_mode():
        if codes.shape[-1] <= frames_per_chunk:
            yield model.decode(codes, denoise=stream.denoise, length=stream.n_samples)[0, 0]
            return
        decoder, left = StreamingDecoder(model, denoise=stream.denoise), stream.n_samples
        for start in range(0, codes.shape[-1], frames_per_chunk):
            audio = decoder.push(codes[..., start:start + frames_per_chunk])[0, 0][:left]
            left -= audio.shape[-1]
            yield audio


def _mono_chunks(path, sample_rate: int, chunk_seconds: float) -> Iterator[np.ndarray]:
    """The file's mono mix at ``sample_rate``, as float32 arrays of about ``chunk_seconds`` each."""
    try:
        with sf.SoundFile(str(path)) as f:
            resampler = None if f.samplerate == sample_rate else soxr.ResampleStream(
                f.samplerate, sample_rate, 1, dtype="float32", quality="HQ")
            block = max(1, int(chunk_seconds * f.samplerate))
            while True:
                data = f.read(block, dtype="float32", always_2d=True).mean(axis=1)
                last = data.shape[0] < block
                if not np.isfinite(data).all():
                    raise AudioFileError(path, "contains NaN or Inf samples")
                out = resampler.resample_chunk(data, last=last) if resampler else data
                if out.shape[0]:
                    yield np.ascontiguousarray(out, dtype=np.float32)
                if last:
                    return
    except AudioFileError:
        raise
    except (RuntimeError, ValueError, TypeError, OSError, EOFError) as exc:
        raise AudioFileError(path, f"not a readable audio file ({type(exc).__name__}: {exc})") from None

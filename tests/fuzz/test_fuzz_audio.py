"""Fuzzing the audio loader: random bytes and mutated valid WAV/FLAC files give an
AudioFileError naming the file, or finite float32 audio; the file itself is never modified."""

from __future__ import annotations

import hashlib
import io
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from fuzz_helpers import attempt, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from earshot.audio.io import load
from earshot.errors import AudioFileError

WORK = Path(tempfile.mkdtemp(prefix="earshot-fuzz-audio-"))


def _valid(fmt: str, subtype: str) -> bytes:
    buf = io.BytesIO()
    t = np.arange(800) / 8000
    sf.write(buf, np.stack([np.sin(2 * np.pi * 440 * t), 0.5 * np.cos(2 * np.pi * 220 * t)], 1), 8000,
             format=fmt, subtype=subtype)
    return buf.getvalue()


VALID = {".wav": _valid("WAV", "PCM_16"), ".flac": _valid("FLAC", "PCM_16"),
         ".wavf": _valid("WAV", "FLOAT")}


def load_checked(data: bytes, suffix: str, **kwargs):
    path = WORK / f"clip{suffix if suffix != '.wavf' else '.wav'}"
    path.write_bytes(data)
    digest = hashlib.sha256(data).digest()
    try:
        audio, rate = load(path, **kwargs)
    except AudioFileError as exc:
        assert str(path) in str(exc)  # names the file
        raise
    finally:
        assert hashlib.sha256(path.read_bytes()).digest() == digest  # never modified
    assert audio.dtype.is_floating_point and audio.dim() == 2 and audio.shape[-1] > 0
    assert np.isfinite(audio.numpy()).all() and rate > 0
    return audio


@fuzz_settings(150)
@given(st.binary(max_size=400), st.sampled_from([".wav", ".flac", ".ogg", ".mp3", ".opus"]))
def test_random_bytes(data, suffix):
    attempt("audio: random bytes", load_checked, data, suffix)


@fuzz_settings(150)
@given(st.sampled_from(sorted(VALID)), st.data())
def test_mutated_valid_files(kind, draw):
    data = bytearray(VALID[kind])
    for pos, value in draw.draw(st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)),
                                         max_size=8)):
        data[pos] = value
    cut = draw.draw(st.one_of(st.just(len(data)), st.integers(0, len(data))))  # whole, or truncated
    resample = draw.draw(st.sampled_from([None, 16000]))
    attempt("audio: mutated WAV/FLAC", load_checked, bytes(data[:cut]), kind, sample_rate=resample)


@fuzz_settings(60)
@given(st.sampled_from(sorted(VALID)), st.integers(0, 200))
def test_header_fields_overwritten(kind, where):
    # WAV and FLAC headers sit in the first ~100 bytes: rewrite a 4-byte field with extremes
    data = bytearray(VALID[kind])
    for value in (b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff"):
        mutated = bytearray(data)
        mutated[where:where + 4] = value
        attempt("audio: header fields", load_checked, bytes(mutated[: len(data)]), kind)


def test_save_and_load_arguments_give_earshot_errors(tmp_path):
    import pytest
    import torch

    from earshot.audio.io import save
    from earshot.errors import SampleRateError, ShapeError

    good = tmp_path / "good.wav"
    save(good, 0.1 * torch.ones(1, 100), 16000)
    with pytest.raises(SampleRateError, match="at most 768000 Hz"):  # was a MemoryError in soxr
        load(good, sample_rate=10**12)
    for rate in (0, -5, 1.5, "abc"):
        with pytest.raises(SampleRateError):  # were LibsndfileError / ValueError
            save(tmp_path / "x.wav", torch.zeros(1, 10), rate)
    with pytest.raises(ShapeError, match="must be numbers"):
        save(tmp_path / "x.wav", "abc", 16000)
    with pytest.raises(ShapeError, match="no samples"):  # an empty WAV is never written
        save(tmp_path / "x.wav", torch.zeros(1, 0), 16000)
    assert not (tmp_path / "x.wav").exists()
    assert save(tmp_path / "h.wav", torch.zeros(1, 10, dtype=torch.float16), 16000).is_file()

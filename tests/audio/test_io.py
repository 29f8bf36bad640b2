"""Audio I/O: round trips per format, channels, resampling, never overwriting, and broken files.

Every broken file is made here: truncated by bytes, random bytes, text, a directory, an
unsupported format, and hypothesis-mutated bytes of real WAV/FLAC/MP3 files.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from earshot.audio import info, load, save
from earshot.errors import AudioFileError, ShapeError


def _tones(sample_rate: int, channels: int, seconds: float = 0.5) -> torch.Tensor:
    t = torch.arange(int(sample_rate * seconds)) / sample_rate
    rows = [0.5 * torch.sin(2 * math.pi * f * t) for f in (440.0, 660.0)[:channels]]
    return torch.stack(rows)


def _snr_db(x: torch.Tensor, y: torch.Tensor) -> float:
    return 10 * math.log10(x.square().sum() / (x - y).square().sum())


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("ext,min_snr", [(".wav", 80.0), (".flac", 80.0), (".ogg", 25.0),
                                         (".opus", 15.0), (".mp3", 30.0)])
@pytest.mark.parametrize("channels", [1, 2])
def test_round_trip(tmp_path, ext, min_snr, channels):
    sr = 48000 if ext == ".opus" else 16000
    x = _tones(sr, channels)
    path = save(tmp_path / f"a{ext}", x, sr)
    y, rate = load(path)
    assert rate == sr and y.dtype == torch.float32
    assert y.shape == x.shape  # lossy decoders are trimmed to the original length and aligned
    assert y.abs().max() <= 1.0
    assert _snr_db(x, y) > min_snr
    header = info(path)
    assert (header.samplerate, header.channels) == (sr, channels)


def test_pcm_round_trip_is_exact_to_16_bits(tmp_path):
    x = torch.randint(-32768, 32768, (2, 1000)).float() / 32768
    y, _ = load(save(tmp_path / "a.wav", x, 8000))
    assert torch.equal(x, y)


def test_mono_mixdown_clipping_and_1d_input(tmp_path):
    x = _tones(16000, 2)
    y, _ = load(save(tmp_path / "s.flac", x, 16000), mono=True)
    assert y.shape == (1, x.shape[1])
    assert torch.allclose(y, x.mean(0, keepdim=True), atol=1e-4)
    z, _ = load(save(tmp_path / "c.wav", 3 * x[0], 16000))  # 1-D input, clipped to [-1, 1]
    assert z.shape == (1, x.shape[1]) and z.abs().max() <= 1.0 and z.max() > 0.99


def test_resampling_on_load(tmp_path):
    sr = 16000
    t = torch.arange(sr) / sr
    x = 0.5 * torch.sin(2 * math.pi * 440 * t)[None]
    y, rate = load(save(tmp_path / "a.wav", x, sr), sample_rate=8000)
    assert rate == 8000 and y.shape == (1, 8000)
    expected = 0.5 * torch.sin(2 * math.pi * 440 * torch.arange(8000) / 8000)
    assert _snr_db(expected[200:-200], y[0, 200:-200]) > 60  # edges hold the filter's transients


def test_save_never_overwrites(tmp_path):
    path = save(tmp_path / "a.wav", _tones(8000, 1), 8000)
    before = path.read_bytes()
    with pytest.raises(AudioFileError, match="already exists"):
        save(path, torch.zeros(1, 100), 8000)
    assert path.read_bytes() == before
    save(path, torch.zeros(1, 100), 8000, overwrite=True)
    assert load(path)[0].shape == (1, 100)
    assert [p.name for p in tmp_path.iterdir()] == ["a.wav"]  # no temporary file left behind


def test_save_rejects_bad_requests(tmp_path):
    with pytest.raises(AudioFileError, match="unsupported extension"):
        save(tmp_path / "a.xyz", torch.zeros(1, 10), 8000)
    with pytest.raises(AudioFileError, match="Opus needs"):
        save(tmp_path / "a.opus", torch.zeros(1, 10), 44100)
    with pytest.raises(ShapeError):
        save(tmp_path / "b.wav", torch.full((1, 10), float("nan")), 8000)
    with pytest.raises(ShapeError):
        save(tmp_path / "c.wav", torch.zeros(1, 1, 10), 8000)


# --------------------------------------------------------------------------- broken files


def _raises_naming(path, match):
    with pytest.raises(AudioFileError, match=match) as err:
        load(path)
    assert err.value.path == str(path)
    assert str(path) in str(err.value)


def test_missing_empty_directory_text_random_unsupported(tmp_path):
    _raises_naming(tmp_path / "missing.wav", "no such file")
    (tmp_path / "empty.wav").write_bytes(b"")
    _raises_naming(tmp_path / "empty.wav", "empty")
    (tmp_path / "folder.wav").mkdir()
    _raises_naming(tmp_path / "folder.wav", "not a regular file")
    (tmp_path / "notes.wav").write_text("these are not the samples you are looking for\n" * 20)
    _raises_naming(tmp_path / "notes.wav", "not a readable audio file")
    (tmp_path / "noise.flac").write_bytes(np.random.default_rng(0).bytes(5000))
    _raises_naming(tmp_path / "noise.flac", "not a readable audio file")
    # a MIDI file: a real format, but not audio libsndfile decodes
    midi = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk\x00\x00\x00\x04\x00\xff\x2f\x00"
    (tmp_path / "song.mid").write_bytes(midi)
    _raises_naming(tmp_path / "song.mid", "not a readable audio file")


@pytest.mark.parametrize("ext", [".wav", ".flac", ".mp3"])
@pytest.mark.parametrize("keep", [0.02, 0.5, 0.97])
def test_truncated_files_are_refused(tmp_path, ext, keep):
    whole = save(tmp_path / f"whole{ext}", _tones(16000, 1, seconds=1.0), 16000).read_bytes()
    cut = tmp_path / f"cut{ext}"
    cut.write_bytes(whole[: int(len(whole) * keep)])
    _raises_naming(cut, "truncated|not a readable audio file|no audio")


def test_header_only_wav_has_no_samples(tmp_path):
    whole = save(tmp_path / "a.wav", torch.zeros(1, 0 + 10), 8000).read_bytes()
    header_only = tmp_path / "b.wav"
    header_only.write_bytes(whole[:44])
    _raises_naming(header_only, "truncated|no audio")


def test_non_finite_float_wav_is_refused(tmp_path):
    path = save(tmp_path / "f.wav", torch.zeros(1, 100), 8000, subtype="FLOAT")
    data = bytearray(path.read_bytes())
    data[-4:] = np.array([np.nan], dtype="<f4").tobytes()
    path.write_bytes(bytes(data))
    _raises_naming(path, "NaN or Inf")


@pytest.fixture(scope="module")
def seed_files(tmp_path_factory) -> dict[str, bytes]:
    root = tmp_path_factory.mktemp("seeds")
    x = _tones(8000, 2, seconds=0.3)
    return {ext: save(root / f"s{ext}", x, 8000).read_bytes() for ext in (".wav", ".flac", ".mp3")}


_MUTATION = st.tuples(
    st.sampled_from([".wav", ".flac", ".mp3"]),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=12),  # byte flips
    st.one_of(st.none(), st.floats(0.0, 1.0)),  # truncation point
    st.one_of(st.none(), st.tuples(st.integers(0, 10**6), st.binary(min_size=1, max_size=64))),  # insertion
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=_MUTATION)
def test_fuzzed_bytes_raise_audio_file_error_or_give_finite_audio(tmp_path, seed_files, mutation):
    ext, flips, cut, insert = mutation
    data = bytearray(seed_files[ext])
    for pos, value in flips:
        data[pos % len(data)] = value
    if insert is not None:
        pos, blob = insert
        data[pos % len(data):pos % len(data)] = blob
    if cut is not None:
        data = data[: int(len(data) * cut)]
    path = Path(tmp_path) / f"fuzz{ext}"
    path.write_bytes(bytes(data))
    try:
        audio, rate = load(path)
    except AudioFileError as err:
        assert err.path == str(path)
        return
    assert audio.dim() == 2 and audio.shape[-1] > 0 and rate > 0
    assert torch.isfinite(audio).all()

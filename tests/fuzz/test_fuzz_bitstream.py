"""Fuzzing the .esc reader and the decoder behind it: random and mutated bytes give a
BitstreamError or a stream that decodes to exactly its announced number of samples."""

from __future__ import annotations

import pytest
import torch
from fuzz_helpers import attempt, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from earshot.errors import BitstreamError
from earshot.models.codec import SoundStream
from earshot.models.codec import bitstream as bs

torch.manual_seed(0)
MODEL = SoundStream(16000, channels=2, dim=4, n_quantizers=4, codebook_size=1000).eval()
VALID = bs.to_bytes(bs.Bitstream(codes=torch.randint(0, 1000, (3, 5)), model_id=bs.model_fingerprint(MODEL),
                                 model_name="tiny", sample_rate=16000, bits=MODEL.bits_per_code, n_samples=1500))


def parse_check_decode(data: bytes) -> int:
    stream = bs.from_bytes(data, "fuzz.esc")
    bs.check_model(stream, MODEL, "tiny", "fuzz.esc")
    with torch.inference_mode():
        audio = MODEL.decode(stream.codes[None], denoise=stream.denoise, length=stream.n_samples)
    assert audio.shape == (1, 1, stream.n_samples) and torch.isfinite(audio).all()
    return stream.n_samples


@fuzz_settings(200)
@given(st.binary(max_size=200))
def test_random_bytes(data):
    attempt("esc: random bytes", bs.from_bytes, data, "fuzz.esc")


mutation = st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=6)


@fuzz_settings(200)
@given(mutation, st.booleans())
def test_mutated_valid_file_with_its_checksum_recomputed(changes, keep_crc):
    # recomputing the CRC is what a crafted file does: only the header checks stand in the way
    import struct
    import zlib

    data = bytearray(VALID)
    for pos, value in changes:
        data[pos] = value
    if not keep_crc:
        data[-4:] = struct.pack(">I", zlib.crc32(bytes(data[:-4])))
    attempt("esc: mutated, CRC recomputed", parse_check_decode, bytes(data))


@fuzz_settings(150)
@given(st.one_of(st.integers(0, 2**32 - 1), st.integers(0, 40 * 320)), st.integers(0, 40), st.integers(0, 8),
       st.one_of(st.just(16000), st.integers(0, 2**32 - 1)), st.one_of(st.just(0), st.integers(0, 255)),
       st.one_of(st.just(10), st.integers(1, 12)))
def test_crafted_headers(n_samples, frames, n_q, rate, flags, bits):
    import struct
    import zlib

    name = b"tiny"
    head = bs._FIXED.pack(bs.MAGIC, bs.VERSION, bs.model_fingerprint(MODEL), len(name)) + name
    head += bs._INFO.pack(rate, n_q, bits, flags, frames, n_samples)
    body = head + bytes(-(-frames * n_q * bits // 8))
    data = body + struct.pack(">I", zlib.crc32(body))
    got = attempt("esc: crafted headers", parse_check_decode, data)
    if got is not None:
        assert -(-got // MODEL.hop) == frames and rate == 16000


def test_the_valid_file_decodes():
    assert parse_check_decode(VALID) == 1500
    with pytest.raises(BitstreamError, match="truncated"):
        parse_check_decode(VALID[:-1])

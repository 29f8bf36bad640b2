"""The .esc bitstream: round trip, bit packing, and clear errors for broken files."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from earshot.errors import BitstreamError
from earshot.models.codec import SoundStream
from earshot.models.codec import bitstream as bs


def stream_of(model, codes, n_samples):
    return bs.Bitstream(codes=codes, model_id=bs.model_fingerprint(model), model_name="tiny",
                        sample_rate=model.sample_rate, bits=model.bits_per_code, n_samples=n_samples, denoise=True)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return SoundStream(16000, channels=2, dim=4, n_quantizers=12, codebook_size=1024).eval()


def test_pack_codes_known_bytes():
    # 1111111111 0000000000 0000000001 1000000000 -> ff c0 00 06 00
    assert bs.pack_codes([1023, 0, 1, 512], 10) == bytes.fromhex("ffc0000600")
    assert bs.pack_codes([1, 2, 3], 2) == bytes([0b01101100])
    assert bs.unpack_codes(bytes.fromhex("ffc0000600"), 4, 10).tolist() == [1023, 0, 1, 512]
    with pytest.raises(BitstreamError):
        bs.pack_codes([1024], 10)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 16).flatmap(lambda b: st.tuples(st.just(b), st.lists(st.integers(0, (1 << b) - 1), max_size=50))))
def test_pack_unpack_round_trip(case):
    bits, codes = case
    data = bs.pack_codes(codes, bits)
    assert len(data) == -(-len(codes) * bits // 8)
    assert bs.unpack_codes(data, len(codes), bits).tolist() == codes


def test_round_trip_and_size(model, tmp_path):
    codes = torch.randint(0, 1024, (12, 50))
    path = bs.write(tmp_path / "a.esc", stream_of(model, codes, 15990))
    back = bs.read(path)
    assert torch.equal(back.codes, codes) and back.n_samples == 15990 and back.denoise
    assert back.model_name == "tiny" and back.sample_rate == 16000 and back.n_quantizers == 12
    header = 4 + 1 + 8 + 1 + len("tiny") + 4 + 1 + 1 + 1 + 4 + 4
    assert path.stat().st_size == header + 12 * 50 * 10 // 8 + 4   # 6 kbps: 750 bytes per second
    bs.check_model(back, model, "tiny")
    with pytest.raises(BitstreamError, match="already exists"):
        bs.write(path, back)


def test_truncated_corrupted_and_foreign_files(model):
    data = bs.to_bytes(stream_of(model, torch.randint(0, 1024, (12, 10)), 3200))
    for cut in (0, 3, 10, 20, len(data) - 1):
        with pytest.raises(BitstreamError, match="truncated"):
            bs.from_bytes(data[:cut])
    for pos in (40, len(data) // 2, len(data) - 2):
        bad = bytearray(data)
        bad[pos] ^= 0x10
        with pytest.raises(BitstreamError, match="corrupted"):
            bs.from_bytes(bytes(bad))
    with pytest.raises(BitstreamError, match="not an earshot codec file"):
        bs.from_bytes(b"RIFF" + data[4:])
    other = SoundStream(16000, channels=2, dim=4, n_quantizers=12)  # different random weights
    with pytest.raises(BitstreamError, match="another model"):
        bs.check_model(bs.from_bytes(data), other, "other")


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=120), st.integers(0, 200))
def test_fuzzed_bytes_only_raise_bitstream_errors(noise, where):
    data = bytearray(bs.to_bytes(bs.Bitstream(codes=torch.zeros(2, 3, dtype=torch.long), model_id=b"12345678",
                                              model_name="m", sample_rate=16000, bits=10, n_samples=900)))
    data[where % len(data): where % len(data) + len(noise)] = noise
    try:
        out = bs.from_bytes(bytes(data))
    except BitstreamError:
        return
    assert isinstance(out.codes, torch.Tensor) and (out.codes.numpy() < (1 << out.bits)).all()
    assert np.isfinite(out.n_samples)

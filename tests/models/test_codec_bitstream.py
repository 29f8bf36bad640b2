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


# --------------------------------------------------------------------------- headers that lie
# Each file below has a valid CRC: only the header's consistency with the payload and with the
# model can reveal it (issue 18 item 2). Before these checks, 0 frames crashed in conv1d, 0
# samples wrote an empty WAV and 4294967295 samples printed that count and wrote 32,000.


def crafted(model, *, frames=10, n_q=12, n_samples=3200, bits=None, rate=None, flags=0, codes=None,
            name="tiny") -> bytes:
    """A .esc file with any header fields and a correct checksum (to_bytes refuses to write one)."""
    import struct
    import zlib

    bits = model.bits_per_code if bits is None else bits
    codes = torch.randint(0, 1 << bits, (n_q, frames)) if codes is None else codes
    head = bs._FIXED.pack(bs.MAGIC, bs.VERSION, bs.model_fingerprint(model), len(name)) + name.encode()
    head += bs._INFO.pack(model.sample_rate if rate is None else rate, n_q, bits, flags, frames, n_samples)
    body = head + bs.pack_codes(codes.T.numpy(), bits)
    return body + struct.pack(">I", zlib.crc32(body))


@pytest.mark.parametrize("fields, message", [
    ({"frames": 0, "codes": torch.zeros(12, 0, dtype=torch.long)}, "0 frames"),
    ({"n_samples": 0}, "0 samples"),
    ({"n_q": 0, "codes": torch.zeros(0, 10, dtype=torch.long)}, "0 quantizers"),
    ({"rate": 0}, "sample rate 0 Hz"),
    ({"flags": 0x80}, "unknown flags"),
    ({"bits": 30}, "30 bits per code"),
])
def test_headers_inconsistent_in_themselves_are_refused(model, fields, message):
    with pytest.raises(BitstreamError, match=f"inconsistent header: .*{message}"):
        bs.from_bytes(crafted(model, **fields), "x.esc")


@pytest.mark.parametrize("fields, message", [
    ({"n_samples": 4294967295}, "4294967295 samples need 13421773 frames of 320, the file holds 10"),
    ({"n_samples": 2880}, "2880 samples need 9 frames"),           # one frame too many
    ({"n_samples": 3201}, "3201 samples need 11 frames"),          # one frame too few
    ({"n_q": 13}, "13 quantizers, the model has 12"),
    ({"bits": 9}, "9 bits per code, the model uses 10"),
    ({"rate": 24000}, "sample rate 24000 Hz, the model's is 16000 Hz"),
])
def test_headers_that_do_not_fit_the_model_are_refused(model, fields, message):
    stream = bs.from_bytes(crafted(model, **fields), "x.esc")   # self-consistent, so it parses
    with pytest.raises(BitstreamError, match=f"x.esc: does not fit model 'tiny': .*{message}"):
        bs.check_model(stream, model, "tiny", "x.esc")


def test_codes_beyond_a_codebook_that_is_not_a_power_of_two_are_refused():
    torch.manual_seed(0)
    small = SoundStream(16000, channels=2, dim=4, n_quantizers=2, codebook_size=1000).eval()
    codes = torch.full((2, 10), 1010)
    stream = bs.from_bytes(crafted(small, n_q=2, codes=codes))
    with pytest.raises(BitstreamError, match="code 1010 outside the codebook of 1000"):
        bs.check_model(stream, small, "small")
    ok = bs.from_bytes(crafted(small, n_q=2, codes=torch.full((2, 10), 999)))
    bs.check_model(ok, small, "small")  # the same file with codes in range passes


def test_a_lying_header_is_never_written(model):
    with pytest.raises(BitstreamError, match="0 samples"):
        bs.to_bytes(stream_of(model, torch.zeros(12, 10, dtype=torch.long), 0))
    with pytest.raises(BitstreamError, match="0 frames"):
        bs.to_bytes(stream_of(model, torch.zeros(12, 0, dtype=torch.long), 100))


def test_decode_cli_refuses_a_lying_file_and_writes_nothing(tmp_path, capsys):
    from earshot.cli.codec import load_codec
    from earshot.cli.main import main

    shipped = load_codec("codec-16k")
    for label, fields in {"zero_frames": {"frames": 0, "n_samples": 320},
                          "zero_samples": {"n_samples": 0}, "max_samples": {"n_samples": 4294967295}}.items():
        n_q = 4
        if label == "zero_frames":
            fields["codes"] = torch.zeros(n_q, 0, dtype=torch.long)
        src = tmp_path / f"{label}.esc"
        src.write_bytes(crafted(shipped, n_q=n_q, name="codec-16k", **fields))
        out = tmp_path / f"{label}.wav"
        assert main(["codec", "decode", str(src), str(out)]) != 0, label
        err = capsys.readouterr().err
        assert f"{src}" in err and ("inconsistent header" in err or "does not fit model" in err), (label, err)
        assert not out.exists(), label

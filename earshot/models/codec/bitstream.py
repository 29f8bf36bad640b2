"""The ``.esc`` file: a compact, checked container for SoundStream codes.

Layout (big-endian)::

    magic        4 bytes  b"ESC\\x00"
    version      u8       1
    model id     8 bytes  first 8 bytes of the sha256 of the model's weights (model_fingerprint)
    name length  u8, then the model name (UTF-8), e.g. "codec-16k"
    sample rate  u32
    n_quantizers u8
    code bits    u8       bits per code = ceil(log2(codebook size)), 10 for 1024 codes
    flags        u8       bit 0: encoded with the denoise flag
    frame count  u32
    samples      u32      original length (the decoder trims the padding of the last frame)
    payload      ceil(frames * n_quantizers * bits / 8) bytes: codes frame by frame, stage by
                 stage, each written MSB first in ``bits`` bits, zero-padded to a byte
    checksum     u32      CRC-32 of every byte before it

A file that is truncated, corrupted (checksum), of an unknown version, or written by another
model raises :class:`earshot.errors.BitstreamError`. A valid checksum proves only that the
bytes arrived as written, so every header field is also checked against the payload
(:func:`from_bytes`: at least one frame and one sample, a sample rate and code size in range,
no unknown flags, a payload of exactly the announced size) and against the model that will
decode it (:func:`check_model`: its fingerprint, sample rate, code size, number of quantizers,
codebook size, and ``ceil(samples / hop) == frames``). The decoder writes exactly ``samples``
samples or refuses the file.
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from earshot.errors import BitstreamError
from earshot.validate import MAX_SAMPLE_RATE

MAGIC = b"ESC\x00"
VERSION = 1
_FIXED = struct.Struct(">4sB8sB")           # magic, version, model id, name length
_INFO = struct.Struct(">IBBBII")            # sample rate, n_q, bits, flags, frames, samples
_CRC = struct.Struct(">I")
MAX_BITS = 24                               # codes are int64; 24 bits covers 16M-entry codebooks
KNOWN_FLAGS = 0b1                           # bit 0: denoise


@dataclass
class Bitstream:
    """A decoded ``.esc`` file: ``codes`` ``(n_quantizers, frames)`` int64 plus its header."""

    codes: torch.Tensor
    model_id: bytes
    model_name: str
    sample_rate: int
    bits: int
    n_samples: int
    denoise: bool = False

    @property
    def n_quantizers(self) -> int:
        return self.codes.shape[0]

    @property
    def frames(self) -> int:
        return self.codes.shape[1]


def model_fingerprint(model: torch.nn.Module) -> bytes:
    """8-byte id of a model's weights: sha256 over its sorted state dict (names, shapes, bytes)."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        if name.endswith("cluster_size") or name.endswith("initialized"):
            continue  # training statistics; they do not change what the codes mean
        t = tensor.detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.digest()[:8]


def pack_codes(codes: np.ndarray, bits: int) -> bytes:
    """Pack non-negative ints ``< 2**bits`` into bytes, ``bits`` each, MSB first, zero-padded."""
    codes = np.asarray(codes, dtype=np.int64).ravel()
    if codes.size and (codes.min() < 0 or codes.max() >= 1 << bits):
        raise BitstreamError(f"codes must be in [0, {1 << bits}) to pack in {bits} bits")
    shifts = np.arange(bits - 1, -1, -1, dtype=np.int64)
    bitarr = ((codes[:, None] >> shifts) & 1).astype(np.uint8)
    return np.packbits(bitarr.ravel()).tobytes()


def unpack_codes(data: bytes, count: int, bits: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`: the first ``count`` codes of ``data``."""
    if len(data) * 8 < count * bits:
        raise BitstreamError(f"payload holds {len(data) * 8} bits, {count * bits} needed")
    bitarr = np.unpackbits(np.frombuffer(data, dtype=np.uint8), count=count * bits)
    weights = (1 << np.arange(bits - 1, -1, -1, dtype=np.int64))
    return bitarr.reshape(count, bits).astype(np.int64) @ weights


def to_bytes(stream: Bitstream) -> bytes:
    """Serialise a :class:`Bitstream` (codes ``(n_q, frames)``, all ``>= 0``)."""
    codes = stream.codes.detach().cpu().numpy()
    if codes.ndim != 2:
        raise BitstreamError(f"codes must be (n_quantizers, frames), got shape {codes.shape}")
    name = stream.model_name.encode("utf-8")
    if len(stream.model_id) != 8 or len(name) > 255:
        raise BitstreamError("model id must be 8 bytes and the model name at most 255 bytes")
    _check_header("bitstream to write", rate=stream.sample_rate, n_q=codes.shape[0], bits=stream.bits,
                  flags=int(stream.denoise), frames=codes.shape[1], n_samples=stream.n_samples)
    head = _FIXED.pack(MAGIC, VERSION, stream.model_id, len(name)) + name + _INFO.pack(
        stream.sample_rate, codes.shape[0], stream.bits, int(stream.denoise), codes.shape[1], stream.n_samples)
    body = head + pack_codes(codes.T, stream.bits)
    return body + _CRC.pack(zlib.crc32(body))


def from_bytes(data: bytes, source: str = "bitstream") -> Bitstream:
    """Parse and check ``.esc`` bytes; ``source`` names the file in errors."""
    if len(data) >= 4 and data[:4] != MAGIC:
        raise BitstreamError(f"{source}: not an earshot codec file (bad magic {data[:4]!r})")
    if len(data) < _FIXED.size:
        raise BitstreamError(f"{source}: truncated ({len(data)} bytes, header incomplete)")
    _, version, model_id, name_len = _FIXED.unpack_from(data)
    info_at = _FIXED.size + name_len
    payload_at = info_at + _INFO.size
    if len(data) < payload_at + _CRC.size:
        raise BitstreamError(f"{source}: truncated ({len(data)} bytes, header incomplete)")
    rate, n_q, bits, flags, frames, n_samples = _INFO.unpack_from(data, info_at)
    expected = payload_at + math.ceil(frames * n_q * bits / 8) + _CRC.size
    (crc,) = _CRC.unpack_from(data, len(data) - _CRC.size)
    if zlib.crc32(data[: -_CRC.size]) != crc:
        if len(data) < expected:
            raise BitstreamError(f"{source}: truncated ({len(data)} bytes, header announces {expected})")
        raise BitstreamError(f"{source}: corrupted (checksum mismatch)")
    if version != VERSION:
        raise BitstreamError(f"{source}: unsupported bitstream version {version} (this reader: {VERSION})")
    if len(data) != expected:
        raise BitstreamError(f"{source}: corrupted header ({len(data)} bytes, header announces {expected})")
    _check_header(source, rate=rate, n_q=n_q, bits=bits, flags=flags, frames=frames, n_samples=n_samples)
    try:
        name = data[_FIXED.size:info_at].decode("utf-8")
    except UnicodeDecodeError:
        raise BitstreamError(f"{source}: corrupted (model name is not UTF-8)") from None
    codes = unpack_codes(data[payload_at:-_CRC.size], frames * n_q, bits).reshape(frames, n_q).T
    return Bitstream(codes=torch.from_numpy(np.ascontiguousarray(codes)), model_id=model_id, model_name=name,
                     sample_rate=rate, bits=bits, n_samples=n_samples, denoise=bool(flags & 1))


def _check_header(source: str, *, rate: int, n_q: int, bits: int, flags: int, frames: int, n_samples: int) -> None:
    """Header fields that are wrong whatever the model (the checksum may still be valid)."""
    problems = []
    if frames < 1:
        problems.append(f"{frames} frames (a file holds at least one)")
    if n_samples < 1:
        problems.append(f"{n_samples} samples (a file holds at least one)")
    if n_q < 1:
        problems.append(f"{n_q} quantizers")
    if not 1 <= bits <= MAX_BITS:
        problems.append(f"{bits} bits per code (1..{MAX_BITS})")
    if not 1 <= rate <= MAX_SAMPLE_RATE:
        problems.append(f"sample rate {rate} Hz")
    if flags & ~KNOWN_FLAGS:
        problems.append(f"unknown flags {flags:#04x}")
    if problems:
        raise BitstreamError(f"{source}: inconsistent header: {'; '.join(problems)}")


def check_model(stream: Bitstream, model, name: str, source: str = "bitstream") -> None:
    """Raise BitstreamError unless ``stream`` was written by ``model`` and every header field
    agrees with it: fingerprint, sample rate, bits per code, quantizers, codes below the
    codebook size, and ``ceil(n_samples / hop) == frames``."""
    if stream.model_id != model_fingerprint(model):
        raise BitstreamError(
            f"{source}: written by another model ({stream.model_name!r}, id {stream.model_id.hex()}); "
            f"this model is {name!r} (id {model_fingerprint(model).hex()})")
    problems = []
    if stream.sample_rate != model.sample_rate:
        problems.append(f"sample rate {stream.sample_rate} Hz, the model's is {model.sample_rate} Hz")
    if stream.bits != model.bits_per_code:
        problems.append(f"{stream.bits} bits per code, the model uses {model.bits_per_code}")
    if not 1 <= stream.n_quantizers <= model.quantizer.n_quantizers:
        problems.append(f"{stream.n_quantizers} quantizers, the model has {model.quantizer.n_quantizers}")
    if stream.codes.numel() and int(stream.codes.max()) >= model.quantizer.codebook_size:
        problems.append(f"code {int(stream.codes.max())} outside the codebook of {model.quantizer.codebook_size}")
    if stream.n_samples < 1 or -(-stream.n_samples // model.hop) != stream.frames:
        problems.append(f"{stream.n_samples} samples need {-(-stream.n_samples // model.hop)} frames of "
                        f"{model.hop}, the file holds {stream.frames}")
    if problems:
        raise BitstreamError(f"{source}: does not fit model {name!r}: {'; '.join(problems)}")


def write(path, stream: Bitstream, *, overwrite: bool = False) -> Path:
    """Write ``stream`` to ``path``; refuses to replace an existing file unless ``overwrite``."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise BitstreamError(f"{path}: already exists; refusing to write over it")
    data = to_bytes(stream)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # atomic: never a half-written file
    return path


def read(path) -> Bitstream:
    """Read and check an ``.esc`` file."""
    path = Path(path)
    if not path.is_file():
        raise BitstreamError(f"{path}: no such file")
    return from_bytes(path.read_bytes(), str(path))

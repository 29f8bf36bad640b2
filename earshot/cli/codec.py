"""`earshot codec encode|decode|info`: compress audio to a ``.esc`` file with SoundStream and back.

    earshot codec encode speech.wav speech.esc --kbps 6 [--denoise] [--model codec-16k]
    earshot codec decode speech.esc decoded.wav
    earshot codec info speech.esc

The input is mixed to mono and resampled to the model's rate; the decoded file is at the
model's rate and as long as the input. Neither command writes over its input or, unless
``--overwrite``, over an existing file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from earshot.errors import BitstreamError, ConfigError

DEFAULT_MODEL = "codec-16k"


def register(subparsers) -> None:
    parser = subparsers.add_parser("codec", help="SoundStream neural codec: encode/decode .esc files")
    sub = parser.add_subparsers(dest="codec_command", metavar="COMMAND")
    parser.set_defaults(func=lambda args: parser.print_help() or 0)

    enc = sub.add_parser("encode", help="audio file -> .esc bitstream")
    enc.add_argument("input", type=Path, help="audio file (any format earshot reads)")
    enc.add_argument("output", type=Path, help="bitstream file to write (.esc)")
    enc.add_argument("--kbps", type=float, default=6.0, help="bitrate in kbit/s (default 6)")
    enc.add_argument("--denoise", action="store_true", help="encode with the denoise flag (FiLM) on")
    enc.add_argument("--model", default=DEFAULT_MODEL, help=f"shipped codec weights (default {DEFAULT_MODEL})")
    enc.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    enc.set_defaults(func=cmd_encode)

    dec = sub.add_parser("decode", help=".esc bitstream -> audio file")
    dec.add_argument("input", type=Path, help="bitstream file (.esc)")
    dec.add_argument("output", type=Path, help="audio file to write (.wav, .flac, ...)")
    dec.add_argument("--model", default=None, help="codec weights (default: the one named in the file)")
    dec.add_argument("--subtype", default=None, help="libsndfile subtype, e.g. PCM_16 (default) or FLOAT")
    dec.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    dec.set_defaults(func=cmd_decode)

    info = sub.add_parser("info", help="print the header of a .esc file")
    info.add_argument("input", type=Path)
    info.set_defaults(func=cmd_info)


def load_codec(name: str):
    """The shipped codec ``name`` (eval mode) via :func:`earshot.weights.load_pretrained`."""
    from earshot.models.codec import SoundStream
    from earshot.weights import load_pretrained

    model = load_pretrained(name)
    if not isinstance(model, SoundStream):
        raise ConfigError(f"weights {name!r} are a {type(model).__name__}, not a SoundStream codec")
    return model


def _check_output(args) -> None:
    from earshot.cli.common import refuse_overwrite_input

    refuse_overwrite_input([args.input], args.output)
    if args.output.exists() and not args.overwrite:
        raise ConfigError(f"{args.output} already exists; pass --overwrite to replace it")


def cmd_encode(args) -> int:
    from earshot.audio.io import info, load
    from earshot.models.codec import bitstream

    _check_output(args)
    model = load_codec(args.model)
    n_q = model.quantizers_for_kbps(args.kbps)
    channels = info(args.input).channels
    audio, _ = load(args.input, sample_rate=model.sample_rate, mono=True)
    if channels > 1:
        print(f"note: {args.input} has {channels} channels; coding their mono mix", file=sys.stderr)
    with torch.inference_mode():
        codes = model.encode(audio[None], n_q, denoise=args.denoise)[0]
    stream = bitstream.Bitstream(
        codes=codes, model_id=bitstream.model_fingerprint(model), model_name=args.model,
        sample_rate=model.sample_rate, bits=model.bits_per_code, n_samples=audio.shape[-1], denoise=args.denoise)
    bitstream.write(args.output, stream, overwrite=args.overwrite)
    size = args.output.stat().st_size
    seconds = audio.shape[-1] / model.sample_rate
    print(f"{args.output}: {n_q} quantizers, {model.bitrate(n_q):g} kbps nominal, {size} bytes "
          f"({8 * size / seconds / 1000:.2f} kbps with header) for {seconds:.2f} s", file=sys.stderr)
    return 0


def cmd_decode(args) -> int:
    from earshot.audio.io import save
    from earshot.models.codec import bitstream

    _check_output(args)
    stream = bitstream.read(args.input)
    name = args.model or stream.model_name
    model = load_codec(name)
    bitstream.check_model(stream, model, name, str(args.input))
    with torch.inference_mode():
        audio = model.decode(stream.codes[None], denoise=stream.denoise, length=stream.n_samples)[0]
    save(args.output, audio, model.sample_rate, subtype=args.subtype, overwrite=args.overwrite)
    print(f"{args.output}: {stream.n_samples} samples at {model.sample_rate} Hz", file=sys.stderr)
    return 0


def cmd_info(args) -> int:
    from earshot.models.codec import bitstream

    s = bitstream.read(args.input)
    seconds = s.n_samples / s.sample_rate if s.sample_rate else 0.0
    try:
        kbps = 8 * args.input.stat().st_size / seconds / 1000
    except ZeroDivisionError:
        raise BitstreamError(f"{args.input}: holds no audio") from None
    print(f"model {s.model_name} (id {s.model_id.hex()}), {s.sample_rate} Hz, {s.n_quantizers} quantizers "
          f"x {s.bits} bits, {s.frames} frames, {s.n_samples} samples ({seconds:.2f} s), "
          f"denoise {'on' if s.denoise else 'off'}, {kbps:.2f} kbps")
    return 0

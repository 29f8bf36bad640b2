"""`earshot codec encode|decode|info`: compress audio to ``.esc`` files with SoundStream and back."""

from __future__ import annotations

import sys
from pathlib import Path

from earshot.cli.common import (add_device_option, add_writing_options, audio_in_folder, check_output,
                                distinct_stems, examples, expand_inputs, resolve_device, run_batch, say,
                                show_progress)
from earshot.errors import BitstreamError, ConfigError

DEFAULT_MODEL = "codec-16k"
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3")


def register(subparsers) -> None:
    parser = subparsers.add_parser("codec", help="SoundStream neural codec: encode/decode .esc files")
    sub = parser.add_subparsers(dest="codec_command", metavar="COMMAND")
    parser.set_defaults(func=lambda args: parser.print_help() or 0)

    enc = sub.add_parser(
        "encode", help="audio files or folders -> .esc bitstreams",
        description="Encode audio to .esc bitstreams. Each input is mixed to mono and resampled to the model's "
                    "rate; files longer than --chunk-seconds are read and coded in chunks (bounded memory, "
                    "a progress bar). Outputs go to --out (a folder, or a file for one input); inputs are "
                    "never written over, existing outputs only with --overwrite; an unreadable input is "
                    "skipped, said once, and the exit status is 1.",
        epilog=examples("earshot codec encode speech.wav                   # -> encoded/speech.esc",
                        "earshot codec encode speech.wav speech.esc --kbps 3",
                        "earshot codec encode recordings/ --out codes/ --denoise"))
    enc.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                     help="audio files or folders (searched recursively); with one file, a last argument "
                          "ending in .esc is the output file")
    enc.add_argument("-o", "--out", type=Path, default=Path("encoded"),
                     help="output folder (default: encoded), or an .esc file for a single input")
    enc.add_argument("--kbps", type=float, default=6.0, help="bitrate in kbit/s")
    enc.add_argument("--denoise", action="store_true", help="encode with the denoise flag (FiLM) on")
    enc.add_argument("--model", default=DEFAULT_MODEL, help="shipped codec weights name or a manifest .json path")
    _add_common(enc)
    enc.set_defaults(func=cmd_encode)

    dec = sub.add_parser(
        "decode", help=".esc bitstreams (files or folders) -> audio files",
        description="Decode .esc bitstreams to audio at the model's rate, as long as the encoded input. Long "
                    "files are decoded and written in chunks. Outputs, skips and exit status as for encode.",
        epilog=examples("earshot codec decode encoded/speech.esc             # -> decoded/speech.wav",
                        "earshot codec decode speech.esc speech-decoded.flac",
                        "earshot codec decode codes/ --out decoded/ --format flac"))
    dec.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                     help=".esc files or folders (searched recursively); with one file, a last argument "
                          "with an audio extension is the output file")
    dec.add_argument("-o", "--out", type=Path, default=Path("decoded"),
                     help="output folder (default: decoded), or an audio file for a single input")
    dec.add_argument("--format", default="wav", choices=("wav", "flac"), help="audio format written into a folder")
    dec.add_argument("--model", default=None, help="codec weights (default: the one named in each file)")
    dec.add_argument("--subtype", default=None, help="libsndfile subtype, e.g. PCM_16 or FLOAT (default: PCM_16)")
    _add_common(dec)
    dec.set_defaults(func=cmd_decode)

    info = sub.add_parser("info", help="print the header of a .esc file")
    info.add_argument("input", type=Path, help=".esc bitstream file")
    info.set_defaults(func=cmd_info)


def _add_common(p) -> None:
    p.add_argument("--chunk-seconds", type=float, default=30.0,
                   help="files longer than this are coded in chunks of this length (memory bound)")
    add_device_option(p)
    add_writing_options(p)


def load_codec(name: str, device=None):
    """The shipped codec ``name`` (eval mode, on ``device``) via :func:`earshot.weights.load_pretrained`."""
    from earshot.models.codec import SoundStream
    from earshot.weights import load_pretrained

    model = load_pretrained(name)
    if not isinstance(model, SoundStream):
        raise ConfigError(f"weights {name!r} are a {type(model).__name__}, not a SoundStream codec")
    return model.to(device) if device is not None else model


def plan_outputs(inputs: list[Path], out: Path, *, extensions, output_suffixes, suffix: str):
    """``[(input file, output file)]`` for the positional ``inputs`` and ``--out``.

    Two positionals whose last has an output suffix are ``INPUT OUTPUT``; an ``--out`` with an
    output suffix names the file for a single input; otherwise outputs go into the ``--out``
    folder as ``<relative path>.<suffix>`` (repeated names get ``-2``, ``-3``...).
    """
    from earshot.data.datasets import find_audio

    if len(inputs) == 2 and inputs[1].suffix.lower() in output_suffixes and not inputs[0].is_dir():
        inputs, out = inputs[:1], inputs[1]
    files = []
    for path in inputs:
        if path.is_dir():
            files += [(f, f.relative_to(path)) for f in audio_in_folder(path, find_audio(path, extensions=extensions))]
        else:
            files += expand_inputs([path])
    if out.suffix.lower() not in output_suffixes and (out.suffix.lower() in extensions or out.is_file()):
        raise ConfigError(f"--out {out} must be a folder or a file ending in {' or '.join(output_suffixes)}")
    if out.suffix.lower() in output_suffixes:
        if len(files) != 1:
            raise ConfigError(f"--out {out} names one file, but there are {len(files)} inputs; give a folder")
        return [(files[0][0], out)]
    return [(f, out / stem.with_name(stem.name + suffix)) for (f, _), stem in zip(files, distinct_stems(r for _, r in files))]


def _bar(args, total_seconds: float, desc: str, rate: int):
    """A tqdm bar in seconds of audio (disabled without --progress); returns (bar, update)."""
    from tqdm import tqdm

    bar = tqdm(total=round(total_seconds, 1), unit="s", desc=desc, disable=not show_progress(args), leave=False,
               file=sys.stderr, bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s [{elapsed}<{remaining}]")
    return bar, lambda n: bar.update(n / rate)


def cmd_encode(args) -> int:
    from earshot.audio.io import info

    device = resolve_device(args.device)
    model = load_codec(args.model, device)
    n_q = model.quantizers_for_kbps(args.kbps)
    pairs = plan_outputs(args.inputs, args.out, extensions=AUDIO_SUFFIXES, output_suffixes=(".esc",), suffix=".esc")
    inputs = [src for src, _ in pairs]
    return _run(args, pairs, lambda src, dst: _encode_one(args, model, n_q, src, dst, inputs, info(src)), "encode")


def _encode_one(args, model, n_q, src: Path, dst: Path, inputs, meta) -> Path:
    from earshot.models.codec import bitstream
    from earshot.models.codec.files import encode_file

    check_output(dst, inputs, overwrite=args.overwrite)
    bar, update = _bar(args, meta.frames / meta.samplerate, src.name, model.sample_rate)
    with bar:
        stream = encode_file(model, src, n_quantizers=n_q, denoise=args.denoise, model_name=args.model,
                             chunk_seconds=args.chunk_seconds, device=next(model.parameters()).device,
                             progress=update)
    dst.parent.mkdir(parents=True, exist_ok=True)
    bitstream.write(dst, stream, overwrite=args.overwrite)
    size, seconds = dst.stat().st_size, stream.n_samples / model.sample_rate
    mono = f"; mono mix of {meta.channels} channels" if meta.channels > 1 else ""
    say(args, f"{src} -> {dst}: {n_q} quantizers, {model.bitrate(n_q):g} kbps nominal, {size} bytes "
              f"({8 * size / max(seconds, 1e-9) / 1000:.2f} kbps with header) for {seconds:.2f} s{mono}")
    return dst


def cmd_decode(args) -> int:
    device = resolve_device(args.device)
    pairs = plan_outputs(args.inputs, args.out, extensions=(".esc",), output_suffixes=AUDIO_SUFFIXES,
                         suffix=f".{args.format}")
    inputs = [src for src, _ in pairs]
    models: dict[str, object] = {}
    return _run(args, pairs, lambda src, dst: _decode_one(args, models, device, src, dst, inputs), "decode")


def _decode_one(args, models: dict, device, src: Path, dst: Path, inputs) -> Path:
    from earshot.models.codec import bitstream
    from earshot.models.codec.files import decode_file

    check_output(dst, inputs, overwrite=args.overwrite)
    stream = bitstream.read(src)
    name = args.model or stream.model_name
    if name not in models:
        models[name] = load_codec(name, device)
    model = models[name]
    bitstream.check_model(stream, model, name, str(src))
    bar, update = _bar(args, stream.n_samples / model.sample_rate, src.name, model.sample_rate)
    with bar:
        decode_file(model, stream, dst, subtype=args.subtype, chunk_seconds=args.chunk_seconds, device=device,
                    progress=update, overwrite=args.overwrite)
    say(args, f"{src} -> {dst}: {stream.n_samples} samples at {model.sample_rate} Hz")
    return dst


def _run(args, pairs, work, desc: str) -> int:
    """Code every (input, output) pair; a bad file is skipped (exit status 1)."""
    if args.chunk_seconds <= 0:
        raise ConfigError(f"--chunk-seconds must be positive, got {args.chunk_seconds}")
    outputs = {src: dst for src, dst in pairs}
    result = run_batch(list(outputs), lambda src: work(src, outputs[src]), desc=desc, progress=show_progress(args))
    if len(pairs) > 1 or result.failed:
        result.report()
    return result.exit_code


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

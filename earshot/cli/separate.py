"""`earshot separate MIX [MIX ...] --out DIR`: split mixtures into sources with a shipped separator.

    earshot separate song.wav talk.flac --out separated [--model separator-speech-music]

Each input is resampled to the model's rate (8192 Hz for the shipped model), its channels are
separated independently in overlapping chunks (bounded memory, a progress bar per long file),
and every source is written as ``DIR/<input name>/<source>.wav`` at the model's rate (or at the
input's rate with ``--original-rate``). An unreadable input is skipped and reported, and the
exit status is then 1. Inputs are never written over; existing outputs only with ``--overwrite``.
"""

from __future__ import annotations

import sys
from pathlib import Path

DEFAULT_MODEL = "separator-speech-music"


def register(subparsers) -> None:
    p = subparsers.add_parser("separate", help="separate mixtures into sources (U-Net separator)",
                              description=__doc__)
    p.add_argument("inputs", nargs="+", type=Path, help="audio files (any format earshot reads)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"shipped separator weights (default {DEFAULT_MODEL}) "
                   "or a path to a manifest .json")
    p.add_argument("--wiener", type=int, default=0, help="Wiener-style refinement iterations (0 = mixture phase "
                   "on the estimated magnitudes; >= 1: the sources add up to the mixture)")
    p.add_argument("--chunk-seconds", type=float, default=24.0, help="chunk length (memory bound), default 24")
    p.add_argument("--original-rate", action="store_true", help="write the sources at the input's sample rate")
    p.add_argument("--format", default="wav", choices=("wav", "flac"), help="output format")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(func=run)


def output_names(inputs: list[Path]) -> list[str]:
    """A distinct folder name per input: its stem, with ``-2``, ``-3``... for repeated stems."""
    seen: dict[str, int] = {}
    names = []
    for path in inputs:
        stem = Path(path).stem or "audio"
        seen[stem] = seen.get(stem, 0) + 1
        names.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return names


def separate_file(separator, path: Path, folder: Path, *, original_rate: bool, fmt: str, overwrite: bool,
                  inputs: list[Path]) -> list[Path]:
    """Separate one file into ``folder/<source>.<fmt>``; return the written paths."""
    import torch

    from earshot.audio.io import info, load, save
    from earshot.audio.resample import resample
    from earshot.cli.common import refuse_overwrite_input
    from earshot.errors import AudioFileError

    rate_in = info(path).samplerate
    audio, sr = load(path, sample_rate=separator.sample_rate)
    targets = [folder / f"{name}.{fmt}" for name in separator.sources]
    for t in targets:
        refuse_overwrite_input(inputs, t)
        if t.exists() and not overwrite:
            raise AudioFileError(t, "already exists; pass --overwrite to replace it")
    with torch.inference_mode():
        est = separator(audio[None])[0]                # (K, C, T)
    written = []
    for k, target in enumerate(targets):
        out, rate = est[k], sr
        if original_rate and rate_in != sr:
            out, rate = resample(out, sr, rate_in), rate_in
        written.append(save(target, out, rate, overwrite=overwrite))
    return written


def run(args) -> int:
    from earshot.cli.common import run_batch
    from earshot.errors import ConfigError
    from earshot.models.separator import Separator

    if args.chunk_seconds <= 0:
        raise ConfigError(f"--chunk-seconds must be positive, got {args.chunk_seconds}")
    separator = Separator.from_pretrained(args.model, wiener_iterations=args.wiener, progress=True)
    m = 2 ** separator.model.unet.depth
    frames = args.chunk_seconds * separator.sample_rate / separator.model.hop_length
    separator.chunk_frames = max(m, int(round(frames / m)) * m)
    inputs = [Path(p) for p in args.inputs]
    folders = dict(zip(map(str, inputs), output_names(inputs)))

    def work(path: Path):
        written = separate_file(separator, path, args.out / folders[str(path)], original_rate=args.original_rate,
                                fmt=args.format, overwrite=args.overwrite, inputs=inputs)
        print(f"{path} -> {', '.join(str(w) for w in written)}", file=sys.stderr)
        return written

    result = run_batch(inputs, work, desc="separate")
    result.report()
    return result.exit_code

"""`earshot separate INPUT [INPUT ...]`: split mixtures into sources with a shipped separator."""

from __future__ import annotations

from pathlib import Path

from earshot.cli.common import (add_device_option, add_writing_options, check_output, distinct_stems, examples,
                                expand_inputs, resolve_device, run_batch, say, show_progress)

DEFAULT_MODEL = "separator-speech-music"
DEFAULT_OUT = Path("separated")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "separate", help="separate mixtures into sources (U-Net separator)",
        description="Separate each mixture into its sources. Inputs are files or folders (searched "
                    "recursively). Each input is resampled to the model's rate (8192 Hz for the shipped "
                    "model), its channels are separated independently in overlapping chunks (bounded "
                    "memory), and every source is written as OUT/<input name>/<source>.wav at the input's "
                    "sample rate (--rate model keeps the model's). An unreadable input is skipped, said "
                    "once, and the exit status is then 1. Inputs are never written over; existing "
                    "outputs only with --overwrite.",
        epilog=examples("earshot separate song.wav                  # -> separated/song/vocals.wav, accompaniment.wav",
                        "earshot separate songs/ talk.flac --out stems/ --format flac",
                        "earshot separate long.wav --wiener 1 --rate model"))
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="audio files or folders of audio files")
    p.add_argument("-o", "--out", type=Path, default=DEFAULT_OUT, help="output folder")
    p.add_argument("--model", default=DEFAULT_MODEL, help="shipped separator weights name or a manifest .json path")
    p.add_argument("--wiener", type=int, default=0, help="Wiener-style refinement iterations (0 = mixture phase "
                   "on the estimated magnitudes; >= 1: the sources add up to the mixture)")
    p.add_argument("--chunk-seconds", type=float, default=24.0, help="chunk length in seconds (memory bound)")
    p.add_argument("--rate", choices=("input", "model"), default="input",
                   help="write the sources at the input's sample rate or at the model's")
    p.add_argument("--format", default="wav", choices=("wav", "flac"), help="output audio format")
    add_device_option(p)
    add_writing_options(p)
    p.set_defaults(func=run)


def separate_file(separator, path: Path, folder: Path, *, rate: str, fmt: str, overwrite: bool,
                  inputs: list[Path]) -> list[Path]:
    """Separate one file into ``folder/<source>.<fmt>``; return the written paths."""
    import torch

    from earshot.audio.io import info, load, save
    from earshot.audio.resample import resample

    targets = [folder / f"{name}.{fmt}" for name in separator.sources]
    for t in targets:
        check_output(t, inputs, overwrite=overwrite)
    rate_in = info(path).samplerate
    audio, sr = load(path, sample_rate=separator.sample_rate)
    device = next(separator.parameters()).device
    with torch.inference_mode():
        est = separator(audio[None].to(device))[0].cpu()          # (K, C, T)
    written = []
    for k, target in enumerate(targets):
        out, out_rate = est[k], sr
        if rate == "input" and rate_in != sr:
            out, out_rate = resample(out, sr, rate_in), rate_in
        written.append(save(target, out, out_rate, overwrite=overwrite))
    return written


def run(args) -> int:
    from earshot.errors import ConfigError
    from earshot.models.separator import Separator

    if args.chunk_seconds <= 0:
        raise ConfigError(f"--chunk-seconds must be positive, got {args.chunk_seconds}")
    device = resolve_device(args.device)
    separator = Separator.from_pretrained(args.model, wiener_iterations=args.wiener,
                                          progress=show_progress(args)).to(device)
    m = 2 ** separator.model.unet.depth
    frames = args.chunk_seconds * separator.sample_rate / separator.model.hop_length
    separator.chunk_frames = max(m, int(round(frames / m)) * m)
    files = expand_inputs(args.inputs)
    inputs = [f for f, _ in files]
    folders = dict(zip(inputs, distinct_stems(rel for _, rel in files)))

    def work(path: Path):
        written = separate_file(separator, path, args.out / folders[path], rate=args.rate, fmt=args.format,
                                overwrite=args.overwrite, inputs=inputs)
        say(args, f"{path} -> {', '.join(str(w) for w in written)}")
        return written

    result = run_batch(inputs, work, desc="separate", progress=show_progress(args))
    result.report()
    return result.exit_code

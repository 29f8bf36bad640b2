"""`earshot perturb IN OUT --type mp3 --strength 0.7`: perturb a file or a folder of files."""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path


def register(subparsers) -> None:
    from earshot.cli.common import add_writing_options, examples
    from earshot.data.perturb import PERTURBATIONS

    p = subparsers.add_parser(
        "perturb", help="apply a perturbation (noise, reverb, codec, ...) to audio files",
        description="Perturb INPUT (a file, or a folder searched recursively) into OUTPUT (a file, or a folder "
                    "mirroring the input's). Parameters are drawn per file from --seed and the file's relative "
                    "path, and saved beside the output (OUTPUT.json for a file, OUTPUT/params.jsonl for a "
                    "folder). Unreadable files are skipped, said once, and the exit status is 1; inputs are "
                    "never written over.",
        epilog=examples("earshot perturb clean.wav noisy.wav --type pink --strength 0.6",
                        "earshot perturb clean/ coded/ --type mp3 --strength 0.8 --seed 1",
                        "earshot perturb clean/ babble/ --type babble --corpus corpus/"))
    p.add_argument("input", help="audio file or folder")
    p.add_argument("output", help="output file (for a file) or folder (for a folder)")
    p.add_argument("--type", required=True, choices=sorted(PERTURBATIONS), help="perturbation type")
    p.add_argument("--strength", type=float, default=0.5, help="0 (barely audible) .. 1 (severe)")
    p.add_argument("--seed", type=int, default=0, help="seed of the per-file parameter draws")
    p.add_argument("--sample-rate", type=int, default=None, help="resample to this rate first (default: keep)")
    p.add_argument("--corpus", default=None,
                   help="corpus folder for babble/environment noise sources (default: $EARSHOT_CORPUS or ./corpus)")
    p.add_argument("--min-seconds", type=float, default=0.01, help="skip files shorter than this")
    add_writing_options(p)
    p.set_defaults(func=_perturb)


def _perturb(args) -> int:
    import numpy as np

    from earshot.audio.io import load, save
    from earshot.cli.common import refuse_overwrite_input, run_batch, show_progress
    from earshot.data.datasets import find_audio
    from earshot.data.perturb import get_perturbation
    from earshot.errors import AudioFileError, ConfigError

    src, dst = Path(args.input), Path(args.output)
    kwargs = {"corpus": args.corpus} if args.corpus and args.type in ("babble", "environment") else {}
    perturbation = get_perturbation(args.type, **kwargs)
    perturbation.sample(args.strength, np.random.default_rng(0))  # check the strength up front
    if src.is_dir():
        files = find_audio(src)
        outputs = {f: dst / f.relative_to(src) for f in files}
        if dst.resolve() == src.resolve() or src.resolve() in dst.resolve().parents:
            raise ConfigError(f"output folder {dst} is inside the input folder {src}; choose another")
    else:
        outputs = {src: dst}
    refuse_overwrite_input(list(outputs), dst)
    for inp, out in outputs.items():
        refuse_overwrite_input([inp], out)

    def work(inp):
        out = outputs[inp]
        audio, rate = load(inp, sample_rate=args.sample_rate)
        if audio.shape[-1] < args.min_seconds * rate:
            raise AudioFileError(inp, f"too short ({audio.shape[-1]} samples < {args.min_seconds} s)")
        rel = str(inp.relative_to(src)) if src.is_dir() else inp.name
        rng = np.random.default_rng([args.seed, zlib.crc32(rel.encode())])
        processed, params = perturbation(audio, rate, args.strength, rng)
        save(out, processed, rate, overwrite=args.overwrite)
        return {"input": str(inp), "output": str(out), "sample_rate": rate, "params": params}

    result = run_batch(list(outputs), work, desc=f"perturb {args.type}", progress=show_progress(args))
    if src.is_dir():
        dst.mkdir(parents=True, exist_ok=True)
        (dst / "params.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in result.done))
    elif result.done:
        dst.with_name(dst.name + ".json").write_text(json.dumps(result.done[0], indent=1, sort_keys=True) + "\n")
    result.report(sys.stderr)
    return result.exit_code

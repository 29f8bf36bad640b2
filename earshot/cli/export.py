"""``earshot export RUN --name NAME``: ship a run's weights as safetensors + JSON manifest."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="export a training run's weights (safetensors + manifest)")
    p.add_argument("run", metavar="RUN", help="run directory")
    p.add_argument("--name", required=True, help="weights name, e.g. emulator-mp3-16k")
    p.add_argument("--out", metavar="DIR", help="output folder (default: RUN/export, never the installed package; "
                   "load the result with load_pretrained('DIR/NAME.json'))")
    p.add_argument("--checkpoint", metavar="FILE", help="a specific checkpoint (default: the newest)")
    p.add_argument("--overwrite", action="store_true", help="replace existing weights of that name")
    p.set_defaults(func=run)


def run(args) -> int:
    import json

    from earshot.train.export import export_run

    from pathlib import Path

    out = args.out or Path(args.run) / "export"
    path = export_run(args.run, args.name, out_dir=out, checkpoint=args.checkpoint, overwrite=args.overwrite)
    manifest = json.loads(path.read_text())
    print(f"wrote {path.with_suffix('.safetensors')} ({manifest['bytes']} bytes, sha256 {manifest['sha256'][:16]}...)")
    print(f"wrote {path}")
    return 0

"""`earshot corpus build DIR`: make the built-in speech/music/noise corpus."""

from __future__ import annotations

import sys
import time


def register(subparsers) -> None:
    parser = subparsers.add_parser("corpus", help="build or inspect the built-in audio corpus")
    sub = parser.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="make a corpus of speech (espeak-ng), music (fluidsynth) and noise")
    build.add_argument("dir", help="output folder (manifest.json + speech/ music/ noise/)")
    build.add_argument("--minutes", type=float, default=30.0, help="total minutes of audio (default 30)")
    build.add_argument("--sample-rate", type=int, default=16000, help="sample rate in Hz (default 16000)")
    build.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same bytes")
    build.add_argument("--jobs", type=int, default=2, help="parallel espeak-ng/fluidsynth workers (default 2)")
    build.add_argument("--overwrite", action="store_true", help="replace an existing corpus in DIR")
    build.set_defaults(func=_build)
    info = sub.add_parser("info", help="summarise a corpus manifest (minutes per kind and split)")
    info.add_argument("dir")
    info.set_defaults(func=_info)


def _build(args) -> int:
    from earshot.data.corpus import build_corpus, load_manifest

    start = time.perf_counter()
    manifest = build_corpus(args.dir, minutes=args.minutes, sample_rate=args.sample_rate, seed=args.seed,
                            jobs=args.jobs, overwrite=args.overwrite)
    seconds = sum(item.duration for item in load_manifest(args.dir))
    elapsed = time.perf_counter() - start
    print(f"wrote {manifest}: {seconds / 60:.1f} min of audio in {elapsed:.0f} s "
          f"({seconds / max(elapsed, 1e-9):.0f}x real time)", file=sys.stderr)
    return 0


def _info(args) -> int:
    from earshot.data.corpus import KINDS, SPLITS, load_manifest

    items = load_manifest(args.dir)
    print(f"{'kind':8s} " + " ".join(f"{s:>8s}" for s in SPLITS) + "   (minutes, files)")
    for kind in KINDS:
        cells = []
        for split in SPLITS:
            chosen = [i for i in items if i.kind == kind and i.split == split]
            cells.append(f"{sum(i.duration for i in chosen) / 60:5.1f}/{len(chosen):<3d}")
        print(f"{kind:8s} " + " ".join(f"{c:>8s}" for c in cells))
    return 0

"""`earshot corpus build DIR`: make the built-in speech/music/noise corpus (optionally with real
recordings from Debian packages); `earshot corpus fetch`: download those packages once;
`earshot corpus info DIR`: minutes per kind, split and origin."""

from __future__ import annotations

import sys
import time

REAL_DEFAULT_MINUTES = 24.0


def register(subparsers) -> None:
    parser = subparsers.add_parser("corpus", help="build or inspect the built-in audio corpus")
    sub = parser.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="make a corpus of speech (espeak-ng), music (fluidsynth) and noise")
    build.add_argument("dir", help="output folder (manifest.json + speech/ music/ noise/)")
    build.add_argument("--minutes", type=float, default=30.0, help="total minutes of synthetic audio (default 30)")
    build.add_argument("--real", type=float, nargs="?", const=REAL_DEFAULT_MINUTES, default=0.0, metavar="MINUTES",
                       help=f"add real recordings from Debian packages (default {REAL_DEFAULT_MINUTES:g} min "
                            "when given without a number)")
    build.add_argument("--deb-cache", default=None,
                       help="folder of the packages' .deb files ($EARSHOT_DEB_CACHE, else ~/.cache/earshot/debs)")
    build.add_argument("--offline", action="store_true", help="never download: use only the .deb files in the cache")
    build.add_argument("--packages", default=None, metavar="A,B",
                       help="real recordings from only these packages of the catalogue (default: all)")
    build.add_argument("--sample-rate", type=int, default=16000, help="sample rate in Hz (default 16000)")
    build.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same bytes")
    build.add_argument("--jobs", type=int, default=2, help="parallel espeak-ng/fluidsynth workers (default 2)")
    build.add_argument("--overwrite", action="store_true", help="replace an existing corpus in DIR")
    build.set_defaults(func=_build)
    fetch = sub.add_parser("fetch", help="download the Debian packages of the real recordings (apt-get download)")
    fetch.add_argument("--deb-cache", default=None, help="where to keep the .deb files")
    fetch.add_argument("packages", nargs="*", help="only these packages (default: the whole catalogue)")
    fetch.set_defaults(func=_fetch)
    info = sub.add_parser("info", help="summarise a corpus manifest (minutes per kind, split and origin)")
    info.add_argument("dir", help="corpus folder (holds manifest.json)")
    info.set_defaults(func=_info)


def _build(args) -> int:
    from earshot.data.corpus import build_corpus, load_manifest
    from earshot.data.sources.recordings import select

    start = time.perf_counter()
    sources = select(args.packages.split(",")) if args.packages else None
    manifest = build_corpus(args.dir, minutes=args.minutes, sample_rate=args.sample_rate, seed=args.seed,
                            jobs=args.jobs, overwrite=args.overwrite, real_minutes=args.real, real_sources=sources,
                            deb_cache=args.deb_cache, download=not args.offline)
    seconds = sum(item.duration for item in load_manifest(args.dir))
    elapsed = time.perf_counter() - start
    print(f"wrote {manifest}: {seconds / 60:.1f} min of audio in {elapsed:.0f} s "
          f"({seconds / max(elapsed, 1e-9):.0f}x real time)", file=sys.stderr)
    return 0


def _fetch(args) -> int:
    from earshot.data.sources import debian, recordings

    for name in args.packages or recordings.packages():
        print(debian.fetch(name, args.deb_cache))
    return 0


def _info(args) -> int:
    from earshot.data.corpus import KINDS, ORIGINS, SPLITS, load_manifest

    items = load_manifest(args.dir)
    print(f"{'kind':8s} {'origin':10s} " + " ".join(f"{s:>10s}" for s in SPLITS) + "   (minutes/files)")
    for kind in KINDS:
        for origin in ORIGINS:
            mine = [i for i in items if i.kind == kind and i.origin == origin]
            if not mine:
                continue
            cells = []
            for split in SPLITS:
                chosen = [i for i in mine if i.split == split]
                cells.append(f"{sum(i.duration for i in chosen) / 60:5.1f}/{len(chosen):<4d}")
            print(f"{kind:8s} {origin:10s} " + " ".join(f"{c:>10s}" for c in cells))
    return 0

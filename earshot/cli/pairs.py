"""`earshot pairs make OUT --kind codec|jnd --source DIR`: (clean, processed) pairs into shards."""

from __future__ import annotations

import sys
from pathlib import Path


def register(subparsers) -> None:
    from earshot.cli.common import add_writing_options, examples

    p = subparsers.add_parser("pairs", help="make training pairs (real-codec pairs or JND judgments) into shards")
    sub = p.add_subparsers(dest="pairs_command", metavar="ACTION", required=True)
    make = sub.add_parser(
        "make", help="write pairs to shards in OUT",
        description="Write (clean, processed) pairs drawn from a corpus or a folder of audio into shards: "
                    "--kind codec codes excerpts with the real MP3/Opus encoders at bitrates drawn from "
                    "--strength; --kind jnd walks DPAM-style perturbation ladders judged by the simulated "
                    "listener.",
        epilog=examples("earshot pairs make pairs/ --source corpus/ --count 2000 --codecs mp3 opus",
                        "earshot pairs make jnd-pairs/ --kind jnd --source corpus/ --count 200"))
    make.add_argument("output", help="output folder (index.json + shards)")
    make.add_argument("--kind", choices=("codec", "jnd"), default="codec",
                      help="codec: (clean, MP3/Opus-coded) pairs; jnd: simulated-listener JND pairs (DPAM walks)")
    make.add_argument("--source", required=True, help="corpus folder (with manifest.json) or any folder of audio")
    make.add_argument("--count", type=int, default=1000, help="codec: number of pairs; jnd: number of walks")
    make.add_argument("--codecs", nargs="+", default=["mp3", "opus"], metavar="CODEC",
                      help="codec: codecs to draw from, space-separated (mp3, opus)")
    make.add_argument("--strength", type=float, nargs=2, default=(0.0, 1.0), metavar=("LOW", "HIGH"),
                      help="codec: strength range (bitrate from high to low)")
    make.add_argument("--perturbations", nargs="+", default=None, metavar="TYPE",
                      help="jnd: perturbation types the walks draw from, space-separated (if not given: "
                           "DPAM's noise, reverb, codec, EQ and filter types; see `earshot perturb --help`)")
    make.add_argument("--segment-seconds", type=float, default=1.0, help="length of each excerpt in seconds")
    make.add_argument("--sample-rate", type=int, default=16000, help="sample rate of the pairs (Hz)")
    make.add_argument("--seed", type=int, default=0, help="seed of every draw")
    make.add_argument("--split", default="train", choices=("train", "valid", "test"), help="corpus split")
    make.add_argument("--corpus-kind", nargs="+", default=None, metavar="KIND",
                      help="corpus kinds, space-separated: speech music noise (default: all; jnd: speech)")
    make.add_argument("--shard-size", type=int, default=256, help="codec: pairs per shard")
    add_writing_options(make)
    make.set_defaults(func=_make)
    info = sub.add_parser("info", help="summarise a codec pairs folder")
    info.add_argument("folder", help="pairs folder written by 'earshot pairs make'")
    info.set_defaults(func=_info)


def _make(args) -> int:
    from earshot.cli.common import show_progress, split_list
    from earshot.errors import ConfigError

    kinds = split_list(args.corpus_kind) or None
    if args.kind == "jnd":
        if Path(args.output).exists() and any(Path(args.output).iterdir()) and not args.overwrite:
            raise ConfigError(f"{args.output} exists and is not empty; pass --overwrite or choose another folder")
        from earshot.data.jnd import WalkConfig, make_jnd_pairs

        walks = WalkConfig(perturbations=tuple(split_list(args.perturbations))) if args.perturbations else None
        path = make_jnd_pairs(args.output, source=args.source, split=args.split, kinds=tuple(kinds or ("speech",)),
                              n_walks=args.count, seconds=args.segment_seconds, sample_rate=args.sample_rate,
                              seed=args.seed, walk_config=walks, progress=show_progress(args))
    else:
        from earshot.data.pairs import make_codec_pairs

        path = make_codec_pairs(args.output, source=args.source, count=args.count,
                                codecs=tuple(split_list(args.codecs)),
                                strength=tuple(args.strength), segment_seconds=args.segment_seconds,
                                sample_rate=args.sample_rate, seed=args.seed, kind=kinds, split=args.split,
                                shard_size=args.shard_size, overwrite=args.overwrite,
                                progress=show_progress(args))
    print(f"wrote {path}", file=sys.stderr)
    return 0


def _info(args) -> int:
    from collections import Counter

    from earshot.data.shards import ShardReader

    reader = ShardReader(args.folder)
    idx = reader.index
    print(f"{len(reader)} {idx['kind']} pairs, {idx['channels']} x {idx['samples']} samples at {idx['sample_rate']} Hz, "
          f"{len(idx['shards'])} shard(s)")
    counts = Counter()
    for i in range(len(reader)):
        params = reader[i][2]
        counts[f"{params['type']} {params.get('kbps', params.get('kbps_per_channel', ''))}"] += 1
    for key, n in sorted(counts.items()):
        print(f"  {key:>12s} kbps: {n}")
    return 0

"""``earshot weights list|info NAME|verify [NAME ...]``: the shipped weights and their manifests."""

from __future__ import annotations

import json
import sys


def register(subparsers) -> None:
    from earshot.cli.common import examples

    p = subparsers.add_parser("weights", help="list, describe and verify shipped weights",
                              epilog=examples("earshot weights list", "earshot weights info codec-16k",
                                              "earshot weights verify          # sha256 of every file; exit 1 on a mismatch",
                                              "earshot weights --root runs/codec/export list"))
    p.add_argument("--root", metavar="DIR", help="weights folder (default: the package's earshot/weights)")
    sub = p.add_subparsers(dest="weights_command", metavar="ACTION")
    sub.add_parser("list", help="names, sizes and sample rates").set_defaults(func=run_list)
    info = sub.add_parser("info", help="print a manifest")
    info.add_argument("name", help="weights name (see 'earshot weights list') or a manifest .json path")
    info.set_defaults(func=run_info)
    verify = sub.add_parser("verify", help="check sha256 of each (or the named) weights")
    verify.add_argument("names", nargs="*", metavar="NAME", help="weights to check (default: all)")
    verify.set_defaults(func=run_verify)
    p.set_defaults(func=lambda args: p.print_help() or 0)


def run_list(args) -> int:
    from earshot.weights.hub import list_pretrained, pretrained_info

    names = list_pretrained(args.root)
    for name in names:
        m = pretrained_info(name, args.root)
        print(f"{name:28s} {m['sample_rate']:>6d} Hz  {m.get('bytes', 0) / 1e6:7.2f} MB  {m['class']}")
    if not names:
        print("no shipped weights", file=sys.stderr)
    return 0


def run_info(args) -> int:
    from earshot.weights.hub import pretrained_info

    m = pretrained_info(args.name, args.root)
    m.pop("_manifest_path", None)
    print(json.dumps(m, indent=2))
    return 0


def run_verify(args) -> int:
    from earshot.errors import WeightsError
    from earshot.weights.hub import list_pretrained, verify_pretrained

    bad = 0
    for name in args.names or list_pretrained(args.root):
        try:
            verify_pretrained(name, args.root)
            print(f"ok      {name}")
        except WeightsError as exc:
            bad += 1
            print(f"FAILED  {name}: {exc}")
    return 1 if bad else 0

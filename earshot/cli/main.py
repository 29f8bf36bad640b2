"""Entry point of the `earshot` command.

Each command group lives in its own module ``earshot.cli.<group>`` exposing
``register(subparsers)``, which adds its sub-commands and sets ``func(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys

import earshot
from earshot.errors import EarshotError

COMMAND_MODULES = (
    "score", "corpus", "perturb", "pairs", "train", "export", "weights", "experiment",
    "eval", "listen", "codec", "separate", "style", "explain", "demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="earshot",
        description="Perceptual losses, metrics and reference models for generative audio.",
    )
    parser.add_argument("--version", action="version", version=f"earshot {earshot.__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module_name = f"earshot.cli.{name}"
        if importlib.util.find_spec(module_name) is None:
            continue
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except EarshotError as exc:
        print(f"earshot: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("earshot: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""Entry point of the `earshot` command (also ``python -m earshot``).

Each command group lives in its own module ``earshot.cli.<group>`` exposing
``register(subparsers)``, which adds its sub-commands and sets ``func(args) -> int``.
Errors end a command with one line on stderr and exit status 2: every
:class:`~earshot.errors.EarshotError`, and a missing optional package, which names the
extra that installs it (``pip install 'earshot[train]'``).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys

import earshot
from earshot.cli.common import EarshotParser, examples
from earshot.errors import EarshotError

COMMAND_MODULES = (
    "score", "corpus", "perturb", "pairs", "train", "export", "weights", "experiment",
    "eval", "listen", "codec", "separate", "style", "explain", "demo",
)

# top-level module of an optional dependency -> the extra that installs it
EXTRAS = {
    "lightning_fabric": "train", "lightning": "train", "tensorboard": "train",
    "pesq": "metrics", "pystoi": "metrics", "fast_bss_eval": "metrics", "visqol": "metrics",
    "fastapi": "web", "uvicorn": "web", "sqlalchemy": "web", "psycopg": "web", "multipart": "web",
}


def build_parser() -> argparse.ArgumentParser:
    parser = EarshotParser(
        prog="earshot",
        description="Perceptual losses, metrics and reference models for generative audio.",
        epilog=examples("earshot score decoded.wav clean.wav      (estimate first, then the reference)", "earshot codec encode speech.wav",
                        "earshot separate song.wav", "earshot train toy train.steps=200",
                        "earshot COMMAND --help      (every command's options and defaults)"),
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
    except ModuleNotFoundError as exc:
        message = missing_extra_message(exc)
        if message is None:
            raise
        print(f"earshot: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("earshot: interrupted", file=sys.stderr)
        return 130


def missing_extra_message(exc: ModuleNotFoundError) -> str | None:
    """One line naming the extra that installs the missing module, or None if it is not optional."""
    module = (exc.name or "").split(".")[0]
    extra = EXTRAS.get(module)
    if extra is None:
        return None
    return f"this command needs the optional package '{module}': pip install 'earshot[{extra}]'"


if __name__ == "__main__":
    sys.exit(main())

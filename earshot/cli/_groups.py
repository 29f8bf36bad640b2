"""Command groups whose sub-commands live one per module in a sub-package."""

from __future__ import annotations

import importlib
import pkgutil


def register_group(subparsers, name: str, package: str, help: str) -> None:
    """Add ``earshot NAME`` whose sub-commands are the modules of ``package``.

    Each module in ``package`` exposes ``register(subparsers)``.
    """
    parser = subparsers.add_parser(name, help=help)
    group = parser.add_subparsers(dest=f"{name}_command", metavar="NAME")
    parser.set_defaults(func=lambda args: parser.print_help() or 0)
    pkg = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}").register(group)

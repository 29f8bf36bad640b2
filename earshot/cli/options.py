"""Command-line options derived from a config dataclass, with help taken from the dataclass.

Each field becomes ``--field-name`` with the field's default and type; its help text is the
field's ``metadata["help"]`` or else the comment after it in the class source. Lists take one
or more values (``--models A C`` or ``--models A,C``); a boolean that defaults to true becomes
``--no-field-name``, one that defaults to false ``--field-name``.

    p = subparsers.add_parser("denoising")
    add_config_options(p, DenoisingConfig, aliases={"wiener_iterations": ["--wiener"]})
    cfg = config_from_args(DenoisingConfig, args)
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import inspect
import io
import tokenize
import types
import typing
from pathlib import Path

from earshot.errors import ConfigError

_SCALARS = (int, float, str, Path)


@functools.lru_cache(maxsize=None)
def field_comments(cls) -> dict[str, str]:
    """``{field: comment}`` from comments after a field (same line) in ``cls``'s source."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    out: dict[str, str] = {}
    name, depth = None, 0
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NL or tok.type == tokenize.NEWLINE:
            name = None
        elif tok.type == tokenize.NAME and name is None and tok.start[1] == 4 and depth == 0:
            name = tok.string
        elif tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        elif tok.type == tokenize.COMMENT and name:
            out[name] = tok.string.lstrip("#").strip()
    return out


def _unwrap(tp):
    """``(base type, is_list, is_optional)`` of a field annotation."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        base, is_list, _ = _unwrap(inner[0])
        return base, is_list, True
    if origin in (list, tuple):
        return (args[0] if args and args[0] is not Ellipsis else str), True, False
    return tp, False, False


def _help(f: dataclasses.Field, comments: dict[str, str], default) -> str:
    text = f.metadata.get("help") or comments.get(f.name, "")
    shown = ",".join(map(str, default)) if isinstance(default, (list, tuple)) else default
    text = (f"{text} (default: {shown})" if text else f"(default: {shown})").replace("%", "%%")
    return text  # argparse formats help with %


def add_config_options(parser: argparse.ArgumentParser, cls, *, skip=(), aliases: dict | None = None,
                       defaults: dict | None = None) -> None:
    """Add one option per field of dataclass ``cls`` to ``parser`` (``dest`` = field name).

    ``skip``: fields left out; ``aliases``: ``{field: ["--old-flag", ...]}`` extra spellings;
    ``defaults``: ``{field: value}`` overriding the dataclass default on the command line.
    """
    hints = typing.get_type_hints(cls)
    comments = field_comments(cls)
    aliases, defaults = aliases or {}, defaults or {}
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init:
            continue
        default = defaults.get(f.name, f.default if f.default is not dataclasses.MISSING else f.default_factory())
        base, is_list, optional = _unwrap(hints[f.name])
        flag = "--" + f.name.replace("_", "-")
        names = [flag, *aliases.get(f.name, [])]
        help_text = _help(f, comments, default)
        if base is bool and not is_list:
            if default:
                parser.add_argument(f"--no-{f.name.replace('_', '-')}", *aliases.get(f.name, []), dest=f.name,
                                    action="store_false", help=help_text)
            else:
                parser.add_argument(*names, dest=f.name, action="store_true", help=help_text)
            parser.set_defaults(**{f.name: bool(default)})
            continue
        if base not in _SCALARS:
            raise ConfigError(f"{cls.__name__}.{f.name}: no command-line option for type {hints[f.name]}")
        kwargs = dict(dest=f.name, default=default, help=help_text, type=base)
        if is_list:
            kwargs.update(nargs="+", type=_list_item(base), default=list(default))
        elif optional:
            kwargs.update(metavar=f.name.upper())
        parser.add_argument(*names, **kwargs)


def _list_item(base):
    """Parse one command-line word of a list option; commas split it further (flattened later)."""
    def parse(text: str):
        return [base(part.strip()) for part in text.split(",") if part.strip()]
    parse.__name__ = base.__name__
    return parse


def config_from_args(cls, args: argparse.Namespace, **extra):
    """An instance of ``cls`` from the parsed options (fields not on the command line keep their
    defaults); ``extra`` sets fields directly."""
    values = {}
    for f in dataclasses.fields(cls):
        if not f.init or not hasattr(args, f.name):
            continue
        value = getattr(args, f.name)
        if isinstance(value, list):
            value = [v for part in value for v in (part if isinstance(part, list) else [part])]
        values[f.name] = value
    values.update(extra)
    return cls(**values)


def add_run_command(subparsers, name: str, config_class, run: str, *, help: str, description: str = "",
                    aliases: dict | None = None, skip=(), defaults: dict | None = None) -> argparse.ArgumentParser:
    """``earshot GROUP NAME``: options from ``config_class``, then ``run`` (``"module:function"``,
    imported when the command runs) called with the config; its report `Section` is written under
    ``config.out`` (`earshot.report.write_section`) and its tables printed."""
    p = subparsers.add_parser(name, help=help, description=description or help,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_options(p, config_class, aliases=aliases, skip=skip, defaults=defaults)

    def command(args) -> int:
        import importlib
        import sys

        from earshot.report import write_section

        cfg = config_from_args(config_class, args)
        module, _, fn = run.partition(":")
        section = getattr(importlib.import_module(module), fn)(cfg)
        print(write_section(section, cfg.out, title=f"earshot {p.prog.split(' ', 1)[-1]}"))
        print(f"wrote {Path(cfg.out)}/results.md, metrics.json, report.html and results.json", file=sys.stderr)
        return 0
    p.set_defaults(func=command)
    return p


__all__ = ["add_config_options", "add_run_command", "config_from_args", "field_comments"]

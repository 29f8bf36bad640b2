"""Typed dataclass configs from plain mappings (YAML, JSON, ``key=value``): the one reader.

``merge(obj, mapping, prefix=, source=)`` returns a copy of dataclass ``obj`` with the mapping
applied: every key must be a field (an unknown key is a ``ConfigError`` with a did-you-mean
hint) and every value is converted to the field's annotated type by ``coerce`` (or refused with
a ``ConfigError`` naming ``source`` and the key). Training configs (``earshot.train.config``) and
listening-test experiment files (``earshot.listening.experiment``) both read through it.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Literal, Mapping

import yaml

from earshot.errors import ConfigError


def merge(obj: Any, updates: Mapping, *, prefix: str, source: str) -> Any:
    """A copy of dataclass ``obj`` with ``updates`` (nested mapping) applied and type-checked."""
    if not isinstance(updates, Mapping):
        raise ConfigError(f"{source}: '{prefix}' must be a mapping, got {updates!r}")
    names = {f.name: f for f in dataclasses.fields(obj)}
    hints = typing.get_type_hints(type(obj))
    changes = {}
    for key, value in updates.items():
        if key not in names:
            near = difflib.get_close_matches(str(key), list(names), n=3)
            hint = f"; did you mean {', '.join(prefix + '.' + n for n in near)}?" if near else ""
            raise ConfigError(f"{source}: unknown key '{prefix}.{key}'{hint}")
        current = getattr(obj, key)
        where = f"{prefix}.{key}"
        if dataclasses.is_dataclass(current) and isinstance(value, Mapping):
            changes[key] = merge(current, value, prefix=where, source=source)
        else:  # a mapping given for a dict field replaces the whole dict
            changes[key] = coerce(value, hints[key], where, source)
    return dataclasses.replace(obj, **changes)


def coerce(value: Any, tp: Any, where: str, source: str) -> Any:
    """Convert ``value`` to type ``tp`` or raise ConfigError naming ``where``."""
    origin, args = _origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return coerce(value, arg, where, source)
            except ConfigError:
                pass
        _fail(value, tp, where, source)
    if origin is Literal:
        if value not in args:
            _fail(value, tp, where, source, f"; choose one of {list(args)}")
        return value
    if tp in (bool, int, float, str):
        return _coerce_scalar(value, tp, where, source)
    if origin in (list, tuple, dict):
        return _coerce_container(value, tp, where, source)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            _fail(value, tp, where, source)
        return merge(tp(), value, prefix=where, source=source)
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    _fail(value, tp, where, source)


def _fail(value: Any, tp: Any, where: str, source: str, msg: str = "") -> typing.NoReturn:
    raise ConfigError(f"{source}: {where}={value!r} is not a valid {_type_name(tp)}{msg}")


_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def _coerce_scalar(value: Any, tp: type, where: str, source: str) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
            return value.lower() in _TRUE
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
    elif tp is int and not isinstance(value, bool):
        if isinstance(value, int):
            return value
        try:
            number = float(value) if isinstance(value, (str, float)) else None
        except ValueError:
            number = None
        if number is not None and number.is_integer():
            return int(number)
    elif tp is float and not isinstance(value, bool):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    elif tp is str and not isinstance(value, (dict, list)):
        return str(value)
    _fail(value, tp, where, source)


def _coerce_container(value: Any, tp: Any, where: str, source: str) -> Any:
    origin, args = _origin(tp), typing.get_args(tp)
    if origin is dict:
        if not isinstance(value, Mapping):
            _fail(value, tp, where, source)
        vt = args[1] if len(args) == 2 else Any
        return {str(k): coerce(v, vt, f"{where}.{k}", source) for k, v in value.items()}
    if isinstance(value, str):
        value = parse_value(value)
    if not isinstance(value, (list, tuple)):
        _fail(value, tp, where, source)
    if origin is tuple and args and args[-1] is not Ellipsis:
        if len(value) != len(args):
            _fail(value, tp, where, source, f" of length {len(args)}")
        return tuple(coerce(v, a, f"{where}[{i}]", source) for i, (v, a) in enumerate(zip(value, args)))
    item = args[0] if args else Any
    out = [coerce(v, item, f"{where}[{i}]", source) for i, v in enumerate(value)]
    return tuple(out) if origin is tuple else out




def parse_value(raw: str) -> Any:
    try:
        return yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        return raw


def _origin(tp: Any) -> Any:
    return typing.get_origin(tp)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


__all__ = ["coerce", "merge", "parse_value"]

"""One small registry for everything earshot builds by name: losses, metrics, perturbations, recipes.

A :class:`Registry` maps a name to a factory (a class or a function), or to a lazy entry: the
string ``"package.module:attribute"``, imported only when the entry is first loaded, so that
listing a registry never imports a heavy module (a network, its weights, an optional package)::

    LOSSES = Registry("loss", {"l1": L1Loss, "jnd": "earshot.losses.jnd:JNDLoss"})
    LOSSES.load("jnd")              # imports earshot.losses.jnd now, returns JNDLoss
    LOSSES.register("mine", MyLoss)

:func:`lazy_exports` gives a package the same laziness for its public names (PEP 562): a name
of the package is imported on first access, not when the package is.

Imports nothing of earshot's but ``errors``.
"""

from __future__ import annotations

import functools
import importlib
import re
import sys
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from earshot.errors import ConfigError

NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"


class Registry(MutableMapping):
    """Names -> factories (or lazy ``"module:attribute"`` strings) of one ``kind`` ("loss", ...).

    A mapping: ``registry[name]`` is the entry as registered (a lazy entry stays a string);
    :meth:`load` gives the factory itself, importing a lazy entry's module on first use.
    Iteration follows registration order; :meth:`names` is sorted. Names must match the regular
    expression ``pattern`` (default `NAME`: letters, digits, ``_`` and ``-``, not leading digit).
    """

    def __init__(self, kind: str, entries: Mapping[str, Any] | None = None, *, pattern: str = NAME):
        self.kind, self.pattern = kind, re.compile(pattern)
        self._entries: dict[str, Any] = {}
        for name, target in (entries or {}).items():
            self.register(name, target)

    # -- the mapping ------------------------------------------------------------------------
    def __getitem__(self, name: str) -> Any:
        return self._entries[name]

    def __setitem__(self, name: str, target: Any) -> None:
        self.register(name, target)

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self)} entries)"

    # -- registering and loading ----------------------------------------------------------------
    def register(self, name: str, target: Any = None):
        """Add ``target`` under ``name``; without ``target``, a decorator that registers what it decorates.

        Raises ConfigError for a name that does not match the registry's ``pattern``.
        """
        if not isinstance(name, str) or not self.pattern.fullmatch(name):
            raise ConfigError(f"invalid {self.kind} name {name!r}: it must match {self.pattern.pattern}")
        if target is None:
            def decorate(obj):
                self._entries[name] = obj
                return obj
            return decorate
        self._entries[name] = target
        return target

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._entries)

    def is_lazy(self, name: str) -> bool:
        """Whether ``name``'s entry is a lazy ``"module:attribute"`` string."""
        return isinstance(self._entries.get(name), str)

    def load(self, name: str) -> Any:
        """The factory registered under ``name``, importing a lazy entry's module.

        Raises ConfigError naming the known entries for an unknown name, and naming the module
        for a lazy entry that cannot be loaded.
        """
        if name not in self._entries:
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names()) or 'none'}")
        return load_lazy(self.kind, name, self._entries[name])

    def available(self, name: str) -> bool:
        """Whether ``name`` is registered and its entry loads (lazy entries may be missing)."""
        try:
            self.load(name)
        except ConfigError:
            return False
        return True


def load_lazy(kind: str, name: str, target: Any) -> Any:
    """``target`` itself, or for a ``"module:attribute"`` string the attribute (imported once)."""
    return _import(kind, name, target) if isinstance(target, str) else target


@functools.lru_cache(maxsize=None)
def _import(kind: str, name: str, target: str) -> Any:
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"{kind} {name!r}: lazy entry {target!r} is not of the form 'module:attribute'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{kind} {name!r} is unavailable: {module_name} cannot be imported ({exc}), "
                          f"so {target} is not available") from None
    if not hasattr(module, attr):
        raise ConfigError(f"{kind} {name!r} is unavailable: {module_name} has no {attr!r}, "
                          f"so {target} is not available")
    return getattr(module, attr)


def lazy_exports(package: str, targets: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for ``package`` that imports ``targets`` on first access.

    ``targets`` maps a public name to ``"module:attribute"``; the loaded object is cached in the
    package's namespace, so later lookups are plain attribute reads. Usage, in the package's
    ``__init__.py``: ``__getattr__ = lazy_exports(__name__, {"JNDLoss": "earshot.losses.jnd:JNDLoss"})``.
    """
    def __getattr__(name: str) -> Any:
        if name not in targets:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = load_lazy("attribute", name, targets[name])
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__

"""Helpers shared by command modules: key=value overrides and batch jobs over files."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from tqdm import tqdm

from earshot.errors import ConfigError, EarshotError

log = logging.getLogger("earshot")


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """``["a.b=1", "c=x"]`` -> ``{"a.b": "1", "c": "x"}``; raise ConfigError on a bad item."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} is not of the form key=value")
        out[key.strip()] = value.strip()
    return out


@dataclass
class BatchResult:
    """What a batch job did: items done, and items skipped with their reasons."""

    done: list = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def report(self, stream=None) -> None:
        stream = stream or sys.stderr  # resolved per call: sys.stderr may be replaced after import
        for item, reason in self.failed:
            print(f"skipped {item}: {reason}", file=stream)
        print(f"{len(self.done)} done, {len(self.failed)} skipped", file=stream)


def run_batch(items: list, work: Callable, *, desc: str, progress: bool = True) -> BatchResult:
    """Apply ``work(item)`` to each item; an EarshotError skips that item and is recorded.

    Returns a BatchResult whose ``done`` holds each successful item's return value.
    """
    result = BatchResult()
    for item in tqdm(items, desc=desc, unit="file", disable=not progress or len(items) < 2, file=sys.stderr):
        try:
            result.done.append(work(item))
        except EarshotError as exc:
            result.failed.append((str(item), str(exc)))
            log.warning("skipped %s: %s", item, exc)
    return result


def refuse_overwrite_input(inputs: Iterable[Path], output: Path) -> None:
    """Raise ConfigError if ``output`` is one of ``inputs`` (we never write over an input)."""
    output = Path(output).resolve()
    for p in inputs:
        if Path(p).resolve() == output:
            raise ConfigError(f"output {output} is also an input; refusing to write over it")

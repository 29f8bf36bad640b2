"""The report's content as plain dataclasses: sections holding tables, figures and audio.

A stage of the demo (or any experiment) fills a `Section`; `earshot.report.html.write_report`
turns a list of sections into ``report.html`` plus ``results.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Interval:
    """A mean with its confidence interval, e.g. over seeds: one table cell."""

    mean: float
    low: float
    high: float

    def to_json(self) -> dict[str, float]:
        return {"mean": self.mean, "low": self.low, "high": self.high}


@dataclass
class Table:
    """A table of results. ``rows`` hold numbers, strings or `Interval`s; ``notes`` says what the
    columns mean. `earshot.report.tables` renders it as Markdown, HTML cells and JSON."""

    title: str
    columns: list[str]
    rows: list[list[Any]]
    notes: str = ""


@dataclass
class Figure:
    """A PNG image (raw bytes) with its title and caption."""

    title: str
    png: bytes
    caption: str = ""


@dataclass
class Clip:
    """An audio file beside the report (``path`` relative to the report's folder)."""

    label: str
    path: str


@dataclass
class Section:
    """One part of a report, e.g. one demo stage. ``error`` holds a traceback if the stage failed."""

    id: str
    title: str
    intro: str = ""
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    clips: list[Clip] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

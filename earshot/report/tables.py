"""One renderer for report tables: the same cells as Markdown, in the HTML report and as JSON.

Numbers show three decimals (three significant digits when very small or large), NaN shows
``n/a``, an `Interval` shows ``mean [low, high]``. The CLI prints and writes the Markdown, the
HTML report and ``results.json`` use the same cells, so every output of one call agrees.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from earshot.report.document import Interval, Section, Table


def format_cell(value: Any) -> str:
    """A table cell as text: floats to 3 decimals, NaN as ``n/a``, intervals as ``m [lo, hi]``."""
    if value is None:
        return ""
    if isinstance(value, Interval):
        if math.isnan(value.low):
            return format_cell(value.mean)
        return f"{format_cell(value.mean)} [{format_cell(value.low)}, {format_cell(value.high)}]"
    if isinstance(value, bool) or isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if value != 0 and (abs(value) < 1e-2 or abs(value) >= 1e4):
            return f"{value:.3g}"
        return f"{value:.3f}"
    return str(value)


def table_markdown(table: Table, *, heading: str = "###") -> str:
    """The table as a Markdown pipe table under its title, with its notes."""
    lines = [f"{heading} {table.title}", ""]
    if table.notes:
        lines += [table.notes, ""]
    lines += ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(format_cell(v) for v in row) + " |" for row in table.rows]
    return "\n".join(lines) + "\n"


def _json_cell(value: Any):
    if isinstance(value, Interval):
        return {k: _json_cell(v) for k, v in value.to_json().items()}
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def table_json(table: Table) -> dict[str, Any]:
    """The table as JSON-ready data (intervals as ``{"mean", "low", "high"}``, NaN as null)."""
    return {"title": table.title, "columns": list(table.columns), "notes": table.notes,
            "rows": [[_json_cell(v) for v in row] for row in table.rows]}


def section_json(section: Section) -> dict[str, Any]:
    """Everything in ``section`` but the image bytes, for ``results.json``."""
    out = asdict(section)
    out["tables"] = [table_json(t) for t in section.tables]
    out["figures"] = [{"title": f.title, "caption": f.caption} for f in section.figures]
    return out


def section_markdown(section: Section) -> str:
    """Every table of ``section`` as Markdown, with its intro and any notes on what was skipped."""
    parts = [f"## {section.title}", ""]
    if section.intro:
        parts += [section.intro, ""]
    parts += [table_markdown(t) for t in section.tables]
    return "\n".join(parts)


__all__ = ["format_cell", "section_json", "section_markdown", "table_json", "table_markdown"]

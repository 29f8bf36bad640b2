"""Write a report: ``report.html`` (figures embedded, audio beside it) and ``results.json``."""

from __future__ import annotations

import base64
import json
import math
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

import earshot
from earshot.report.document import Section
from earshot.report.tables import format_cell, section_json, section_markdown

TEMPLATES = Path(__file__).parent / "templates"


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def write_report(sections: list[Section], out_dir, *, title: str = "earshot report",
                 definitions: dict[str, str] | None = None, preface: str = "") -> Path:
    """Render ``sections`` to ``out_dir/report.html`` and ``out_dir/results.json``; return the HTML path.

    Clip paths in the sections are relative to ``out_dir``. Both files are written atomically.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["fmt"] = format_cell
    env.filters["data_uri"] = _data_uri
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    html = env.get_template("report.html").render(
        title=title, sections=sections, definitions=definitions or {}, preface=preface,
        version=earshot.__version__, created=created,
        css=(TEMPLATES / "report.css").read_text(),
    )
    results = {
        "title": title,
        "earshot_version": earshot.__version__,
        "created": created,
        "definitions": definitions or {},
        "sections": [section_json(s) for s in sections],
    }
    _atomic_write(out_dir / "results.json", json.dumps(results, indent=2, default=_json_default))
    return _atomic_write(out_dir / "report.html", html)


def write_section(section: Section, out_dir, *, title: str) -> str:
    """Write one experiment's or evaluation's outputs under ``out_dir`` and return its Markdown.

    The same four files for every command: ``results.md`` (the tables), ``metrics.json`` (the
    section's raw ``results``), and ``report.html`` + ``results.json`` (the report).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = section_markdown(section)
    _atomic_write(out_dir / "results.md", text)
    _atomic_write(out_dir / "metrics.json", json.dumps(section.results, indent=2, default=_json_default) + "\n")
    write_report([section], out_dir, title=title)
    return text


def _json_default(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _atomic_write(path: Path, text: str) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path

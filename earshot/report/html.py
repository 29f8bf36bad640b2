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

TEMPLATES = Path(__file__).parent / "templates"


def _fmt(value) -> str:
    """Numbers to 3 significant decimals, everything else as text."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:.3g}" if abs(value) < 1e-2 or abs(value) >= 1e4 else f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


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
    env.filters["fmt"] = _fmt
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
        "sections": [s.to_json() for s in sections],
    }
    _atomic_write(out_dir / "results.json", json.dumps(results, indent=2, default=_json_default))
    return _atomic_write(out_dir / "report.html", html)


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

"""A demo stage that runs an `earshot` command and turns what it wrote into a report section.

Every experiment and evaluation command writes, under its ``--out`` folder, ``results.json``,
one or more markdown tables (``*.md``), figures (``*.png``), audio examples (``audio/`` or
``examples/``) and, where it trains, the engine's ``metrics.csv`` per run. This module reads
them back, so the demo shows exactly what the command measured.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Callable

from earshot.demo.runner import DemoContext
from earshot.errors import EarshotError
from earshot.report import Clip, Figure, Section, Table

MAX_CLIPS = 24
AUDIO_FOLDERS = ("audio", "examples")


def markdown_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every pipe table in ``text`` as ``(columns, rows)``; cells are stripped strings."""
    tables, block = [], []
    for line in text.splitlines() + [""]:
        if line.strip().startswith("|"):
            block.append([c.strip() for c in line.strip().strip("|").split("|")])
            continue
        if len(block) >= 2 and all(re.fullmatch(r":?-{2,}:?|-+", c) for c in block[1] if c):
            tables.append((block[0], block[2:]))
        block = []
    return tables


def _number(cell: str):
    """A table cell as a float where it is one (so the report formats it), else the text."""
    try:
        return float(cell)
    except ValueError:
        return cell


def training_curves(out: Path) -> Figure | None:
    """The total training loss of every run under ``out`` (each ``metrics.csv``), or None."""
    from earshot.report.plots import curves

    series = {}
    for path in sorted(out.rglob("metrics.csv")):
        with open(path) as f:
            points = [(int(r["step"]), float(r["value"])) for r in csv.DictReader(f)
                      if r["split"] == "train" and r["name"] == "loss"]
        if points:
            series[path.parent.name] = points
    if not series:
        return None
    return Figure("training curves", curves(series, title="total training loss per run"),
                  "The weighted sum of each run's loss terms on its training batches (log scale); runs with "
                  "different losses are on different scales, so compare shapes, not heights.")


def collect(out: Path, ctx_out: Path, section_id: str, title: str, intro: str) -> Section:
    """Tables, figures, clips and results.json found under ``out`` as one section."""
    section = Section(section_id, title, intro=intro)
    for md in sorted(out.glob("*.md")):
        for i, (columns, rows) in enumerate(markdown_tables(md.read_text())):
            name = md.stem.replace("_", " ").replace("-", " ")
            section.tables.append(Table(name if i == 0 else f"{name} ({i + 1})", columns,
                                        [[_number(c) for c in row] for row in rows]))
    for png in sorted(out.glob("*.png")):
        section.figures.append(Figure(png.stem.replace("_", " ").replace("-", " "), png.read_bytes()))
    curves = training_curves(out)
    if curves is not None:
        section.figures.append(curves)
    wavs = [w for folder in AUDIO_FOLDERS for w in sorted((out / folder).glob("**/*.wav"))]
    for wav in wavs[:MAX_CLIPS]:
        section.clips.append(Clip(wav.stem, wav.relative_to(ctx_out).as_posix()))
    results = out / "results.json"
    if results.exists():
        section.results = json.loads(results.read_text())
    return section


def command_stage(section_id: str, title: str, intro: str, argv: Callable[[DemoContext, Path], list[str]]):
    """A stage running ``earshot <argv(ctx, out)>`` in-process, writing to ``ctx.out/section_id``."""
    def stage(ctx: DemoContext) -> Section:
        from earshot.cli.main import main

        out = ctx.out / section_id
        out.mkdir(parents=True, exist_ok=True)
        args = argv(ctx, out)
        code = main(args)
        if code != 0:
            raise EarshotError(f"`earshot {' '.join(args)}` exited with status {code}")
        return collect(out, ctx.out, section_id, title, intro)

    return stage

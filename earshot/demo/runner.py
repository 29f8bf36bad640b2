"""Run demo stages in order; each fills a report `Section`. A failing stage is recorded, not fatal."""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from earshot.audio import save
from earshot.report import Clip, Section, write_report

log = logging.getLogger("earshot.demo")


@dataclass
class DemoContext:
    """What every stage gets: where to write, which data, how big a budget."""

    out: Path
    data: Path | None = None  # user audio folder; None = the built-in corpus
    quick: bool = False
    full: bool = False
    seed: int = 0
    sample_rate: int = 16000
    corpus: Path | None = None  # set by the corpus stage
    shared: dict = field(default_factory=dict)  # values stages hand on to later stages

    def budget(self, quick: int, default: int, full: int) -> int:
        """Pick a step/item budget for the run size."""
        return quick if self.quick else full if self.full else default

    def clip(self, section: str, label: str, audio: torch.Tensor, sample_rate: int | None = None) -> Clip:
        """Save ``audio`` ``(channels, samples)`` under ``audio/<section>/`` and return its player entry."""
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
        rel = Path("audio") / section / f"{safe}.wav"
        save(self.out / rel, audio.detach().reshape(-1, audio.shape[-1]).cpu(), sample_rate or self.sample_rate,
             overwrite=True)
        return Clip(label, rel.as_posix())


Stage = Callable[[DemoContext], Section]


def run_stage(stage_id: str, title: str, stage: Stage, ctx: DemoContext) -> Section:
    """Run one stage, timing it; an exception becomes the section's error."""
    log.info("stage %s: %s", stage_id, title)
    start = time.perf_counter()
    try:
        section = stage(ctx)
    except Exception:  # a stage that breaks must not stop the others; its traceback goes in the report
        section = Section(stage_id, title, error=traceback.format_exc())
        log.error("stage %s failed:\n%s", stage_id, section.error)
    section.id, section.title = stage_id, title
    section.seconds = time.perf_counter() - start
    log.info("stage %s done in %.0f s", stage_id, section.seconds)
    return section


def run_demo(ctx: DemoContext, stages: list[tuple[str, str, Stage]], *, definitions: dict[str, str]) -> tuple[Path, list[Section]]:
    """Run ``stages`` ``[(id, title, fn), ...]`` and write the report after each, so a partial run is visible."""
    ctx.out.mkdir(parents=True, exist_ok=True)
    sections: list[Section] = []
    path = ctx.out / "report.html"
    for stage_id, title, fn in stages:
        sections.append(run_stage(stage_id, title, fn, ctx))
        path = write_report(sections, ctx.out, title="earshot demo", definitions=definitions, preface=PREFACE)
    return path, sections


PREFACE = (
    "Every number, figure and clip on this page was made by the run that wrote it. "
    "Judgments that trained the learned JND metric come from a simulated listener (a psychoacoustic "
    "stand-in), not from people; the corpus is synthetic speech (espeak-ng) and music (fluidsynth)."
)

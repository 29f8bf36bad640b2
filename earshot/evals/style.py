"""Style transfer evaluated on corpus pairs: style distances per feature network and method.

Speech onto another voice and music onto another instrument (`earshot.style.evaluate`); the
style reduction is how far the output's Gram statistics moved from the content's towards the
style's. Writes each transfer's audio (``audio/``) and spectrograms under ``out``.

    run(StyleEval(features=["ae"], methods=["spectrogram"])) -> Section    # `earshot eval style`
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from earshot.data.corpus import DEFAULT_CORPUS


@dataclass
class StyleEval:
    """Settings of the style evaluation."""

    corpus: str = DEFAULT_CORPUS      # corpus folder
    features: list[str] = field(default_factory=lambda: ["ae", "random"])  # feature networks
    methods: list[str] = field(default_factory=lambda: ["spectrogram", "waveform"])  # transfer methods
    pairs: int = 2                    # pairs per kind (speech, music)
    seconds: float = 3.0
    steps: int = 200                  # optimisation steps per transfer
    out: str = "runs/eval-style"      # output folder


def run(cfg: StyleEval | None = None):
    """Transfer and score every pair; return the report `Section`."""
    from earshot.audio import save
    from earshot.report import Clip, Figure, Section, Table
    from earshot.report.plots import spectrograms
    from earshot.style.evaluate import as_dicts, evaluate, summary_rows

    cfg = cfg or StyleEval()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    section = Section("style", "Style transfer")

    def keep(tag, clips):
        for role, audio in clips.items():
            save(out / "audio" / f"{tag}-{role}.wav", audio, 16000, overwrite=True)
            section.clips.append(Clip(f"{tag} {role}", f"audio/{tag}-{role}.wav"))
        png = spectrograms(list(clips.items()), 16000)
        (out / f"spectrograms_{tag}.png").write_bytes(png)
        section.figures.append(Figure(f"spectrograms {tag}", png))

    scores = evaluate(Path(cfg.corpus), features=list(cfg.features), methods=list(cfg.methods), per_kind=cfg.pairs,
                      seconds=cfg.seconds, steps=cfg.steps, on_output=keep)
    columns, rows = summary_rows(scores)
    section.tables.append(Table("Style transfer on corpus pairs", columns, rows))
    section.results = {"scores": as_dicts(scores)}
    return section


__all__ = ["StyleEval", "run"]

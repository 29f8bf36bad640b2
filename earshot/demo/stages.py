"""The demo's stages, in order, with their budgets for ``--quick``, the default and ``--full``.

Every trained or evaluated stage calls the same library function as its `earshot experiment` /
`earshot eval` command (``run(config) -> Section``), with a config made from the demo context.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from earshot.demo.runner import DemoContext
from earshot.demo.stages_basic import stage_corpus, stage_explain, stage_metrics
from earshot.report import Clip, Section


def autoencoder_config(ctx: DemoContext, out: Path):
    from earshot.experiments.autoencoder import AutoencoderExperiment

    return AutoencoderExperiment(corpus=str(ctx.corpus), out=str(out), models=["A", "B", "mrstft", "C", "E"],
                                 steps=ctx.budget(30, 150, 1000), test_files=ctx.budget(1, 2, 4),
                                 seeds=ctx.budget(2, 2, 3), seed=ctx.seed)


def jnd_config(ctx: DemoContext, out: Path):
    from earshot.evals.jnd import JNDEval

    return JNDEval(corpus=str(ctx.corpus), out=str(out), walks=ctx.budget(4, 8, 16), degradations=ctx.budget(8, 16, 40),
                   clips=ctx.budget(1, 1, 2), strengths=ctx.budget(3, 4, 5), seed=1234 + ctx.seed, cdpam=ctx.full)


def codec_config(ctx: DemoContext, out: Path):
    from earshot.evals.codec import CodecEval

    return CodecEval(corpus=str(ctx.corpus), out=str(out), kbps=[3.0, 6.0, 12.0], items=ctx.budget(1, 2, 8),
                     seconds=ctx.budget(2, 3, 4))


def separation_config(ctx: DemoContext, out: Path):
    from earshot.experiments.separation import ExperimentConfig

    return ExperimentConfig(corpus=str(ctx.corpus), out=str(out), modes=["supervised", "semi"],
                            steps=ctx.budget(20, 60, 2000), test_items=ctx.budget(2, 4, 16), seed=ctx.seed)


def style_config(ctx: DemoContext, out: Path):
    from earshot.evals.style import StyleEval

    return StyleEval(corpus=str(ctx.corpus), out=str(out), features=["ae"],
                     methods=["spectrogram"] if not ctx.full else ["spectrogram", "waveform"], pairs=1, seconds=3,
                     steps=ctx.budget(30, 150, 300))


def library_stage(section_id: str, intro: str, make_config: Callable, run: str):
    """A stage calling ``run`` (``"module:function"``, the command's library function) with
    ``make_config(ctx, out)``, writing under ``ctx.out/section_id``; clip paths become relative
    to the report."""
    def stage(ctx: DemoContext) -> Section:
        import importlib

        out = ctx.out / section_id
        module, _, fn = run.partition(":")
        section = getattr(importlib.import_module(module), fn)(make_config(ctx, out))
        section.intro = f"{intro} {section.intro}".strip()
        section.clips = [Clip(c.label, f"{section_id}/{c.path}") for c in section.clips]
        return section
    return stage


STAGES = [
    ("corpus", "Corpus", stage_corpus),
    ("metrics", "Degradations and every metric", stage_metrics),
    ("explain", "What each loss hears", stage_explain),
    ("autoencoder", "Codec-approximation loss: the autoencoder experiment", library_stage(
        "autoencoder", "A: L1, B: L1 + STFT, C: L1 + spectral CodecLoss, E: L1 + JNDLoss, and a multi-resolution "
        "STFT baseline. The demo's budget is small (2 seeds, 150 steps by default; the command's default is 3 "
        "seeds of 500 steps): the intervals are wide and the ranking is not settled here.",
        autoencoder_config, "earshot.experiments.autoencoder:run")),
    ("jnd", "Learned JND metric against baselines", library_stage(
        "jnd", "The shipped JND network (trained on simulated-listener judgments, not human ones) against L1, "
        "multi-resolution STFT, mel distance and the codec loss.", jnd_config, "earshot.evals.jnd:run")),
    ("codec", "Neural codec against Opus and MP3", library_stage(
        "codec", "The shipped SoundStream-style codec at 3, 6 and 12 kbps against the real Opus and LAME MP3 encoders "
        "at the same bitrates, on held-out speech and music.", codec_config, "earshot.evals.codec:run")),
    ("separation", "Semi-supervised source separation", library_stage(
        "separation", "Speech ('vocals') over music ('accompaniment'): a U-Net trained on a small paired set only, "
        "against the same plus per-source WGAN-GP critics on unpaired solos and an additivity loss on unpaired "
        "mixtures; BSS-eval v4 on held-out mixtures.", separation_config, "earshot.experiments.separation:run")),
    ("style", "Style transfer", library_stage(
        "style", "Speech onto another voice and music onto another instrument with the shipped spectrogram "
        "autoencoder's features.", style_config, "earshot.evals.style:run")),
]

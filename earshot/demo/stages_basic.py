"""Demo stages that need no training: the corpus, degradations scored by every metric, and
"what each loss hears"."""

from __future__ import annotations

import logging

import torch

from earshot.demo.clips import corpus_clips, folder_clips
from earshot.demo.runner import DemoContext
from earshot.data.perturb import degrade
from earshot.errors import EarshotError
from earshot.report import Figure, Section, Table
from earshot.report.plots import spectrograms

log = logging.getLogger("earshot.demo")

DEGRADATIONS = [("mp3 8 kbps", "mp3", 8), ("mp3 16 kbps", "mp3", 16), ("mp3 32 kbps", "mp3", 32),
                ("opus 12 kbps", "opus", 12), ("pink noise", "pink", 0.5), ("reverb", "reverb", 0.5)]
EXPLAIN_LOSSES = ["l1", "mrstft", "mel", "codec", "jnd"]


def stage_corpus(ctx: DemoContext) -> Section:
    """Build the corpus (or reuse one) for the training stages, and check the user's folder if given."""
    from earshot.data.corpus import build_corpus, load_manifest

    root = ctx.corpus or ctx.out.parent / "corpus"
    minutes, real_minutes = ctx.budget(3, 8, 30), ctx.budget(4, 12, 24)
    reused = (root / "manifest.json").exists()
    note = ""
    if not reused:
        try:
            build_corpus(root, minutes=minutes, real_minutes=real_minutes, sample_rate=ctx.sample_rate, seed=ctx.seed)
        except EarshotError as exc:  # no network and no cached .debs: the synthetic corpus still runs every stage
            note = f" Real recordings could not be added ({exc}); this corpus is synthetic only."
            build_corpus(root, minutes=minutes, sample_rate=ctx.sample_rate, seed=ctx.seed, overwrite=True)
    ctx.corpus = root  # every later stage trains on it, with or without --data
    items = load_manifest(root)
    rows = []
    for kind in ("speech", "music", "noise"):
        for split in ("train", "valid", "test"):
            for origin in ("synthetic", "real"):
                chosen = [i for i in items if i.kind == kind and i.split == split and i.origin == origin]
                if chosen:
                    rows.append([kind, split, origin, len(chosen), sum(i.duration for i in chosen) / 60])
    intro = (f"{'Reused' if reused else 'Built'} the corpus in {root}: synthetic speech (espeak-ng, many voices and "
             "accents), composed music rendered by fluidsynth and noises, beside real recordings from Debian "
             "packages (voice prompts in four languages, game and on-hold music, recorded effects; docs/data.md); "
             "splits are disjoint by sentence, voice, song and recording." + note)
    if ctx.data is not None:
        n = len(folder_clips(ctx.data, 10_000, seconds=0.1, sample_rate=ctx.sample_rate))
        intro += f" Your audio folder {ctx.data} ({n} files) gives the evaluation clips of the metric stages."
    section = Section("corpus", "Corpus", intro=intro, tables=[Table("Corpus contents", ["kind", "split", "origin", "items", "minutes"], rows)])
    clips = [c for kind in ("speech", "music", "noise") for c in corpus_clips(root, kind, 1, seconds=4, sample_rate=ctx.sample_rate)]
    section.figures.append(Figure("One test clip of each kind", spectrograms(clips, ctx.sample_rate)))
    section.clips += [ctx.clip("corpus", label, audio) for label, audio in clips]
    return section


def eval_clips(ctx: DemoContext, *, speech: int = 2, music: int = 1, seconds: float = 3.0) -> list[tuple[str, torch.Tensor]]:
    """Held-out clips for the evaluation stages (``(label, (1, samples))``)."""
    if ctx.data is not None:
        return folder_clips(ctx.data, speech + music, seconds=seconds, sample_rate=ctx.sample_rate)
    return (corpus_clips(ctx.corpus, "speech", speech, seconds=seconds, sample_rate=ctx.sample_rate)
            + corpus_clips(ctx.corpus, "music", music, seconds=seconds, sample_rate=ctx.sample_rate))


def stage_metrics(ctx: DemoContext) -> Section:
    """Degrade held-out clips with real codecs, noise and reverb; score each with every metric."""
    from earshot.metrics.registry import METRICS, default_metrics, score

    clips = eval_clips(ctx)
    names = default_metrics() + (["jnd"] if METRICS["jnd"].available else [])
    rows, panels, players = [], [("clean", clips[0][1])], [ctx.clip("metrics", "clean", clips[0][1])]
    for label, kind, amount in DEGRADATIONS:
        values: dict[str, list[float]] = {n: [] for n in names}
        for i, (_, clean) in enumerate(clips):
            degraded = degrade(clean, ctx.sample_rate, kind, amount, seed=ctx.seed + i)
            scored = score(estimate=degraded[None], reference=clean[None], sample_rate=ctx.sample_rate, metrics=names)
            for n in names:
                values[n].append(float(scored[n].mean()))
            if i == 0:
                panels.append((label, degraded))
                players.append(ctx.clip("metrics", label, degraded))
        rows.append([label] + [sum(v) / len(v) for v in values.values()])
    arrows = [f"{n} {'↑' if METRICS[n].higher_is_better else '↓'}" for n in names]
    ctx.shared["metric_names"] = names
    return Section("metrics", "Degradations and every metric", intro=(
        f"{len(clips)} held-out clips degraded by real MP3 (LAME) and Opus encoders, pink noise and reverb, "
        "each scored with every metric (mean over clips; ↑ higher is better, ↓ lower is better)."),
        tables=[Table("Metrics by degradation", ["degradation"] + arrows, rows)],
        figures=[Figure("The first clip, degraded", spectrograms(panels, ctx.sample_rate))],
        clips=players)


def stage_explain(ctx: DemoContext) -> Section:
    """Draw the gradient of every loss with respect to a degraded clip."""
    from earshot.losses.registry import build_loss
    from earshot.report.explain import gradient_heatmaps, loss_gradients

    label, clean = eval_clips(ctx, speech=1, music=0)[0]
    losses, skipped = {}, []
    for name in EXPLAIN_LOSSES:
        try:
            losses[name] = build_loss(name, sample_rate=ctx.sample_rate)
        except Exception as exc:  # a learned loss without shipped weights is skipped, and said so
            skipped.append(f"{name} ({exc})")
    section = Section("explain", "What each loss hears", intro=(
        "For a degraded clip y of a clean x, each panel after the first two is the spectrogram of d loss(y, x) / d y: "
        "where in time and frequency the loss wants y changed. A loss that ignores what a codec removes has little "
        "gradient there. Each gradient is scaled to its own peak."))
    for title, kind, amount in [("real MP3 16 kbps", "mp3", 16), ("pink noise", "pink", 0.5), ("reverb", "reverb", 0.5)]:
        degraded = degrade(clean, ctx.sample_rate, kind, amount, seed=ctx.seed)
        grads = loss_gradients(clean[None], degraded[None], losses)
        caption = ", ".join(f"{g.name} = {g.value:.3g}" for g in grads)
        section.figures.append(Figure(f"{label}: {title}", gradient_heatmaps(clean, degraded, grads, ctx.sample_rate), caption))
        section.results[title] = {g.name: g.value for g in grads}
    if skipped:
        section.intro += " Not shown: " + "; ".join(skipped) + "."
    return section

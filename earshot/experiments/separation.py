"""The separation experiment: supervised-only against semi-supervised adversarial training.

Both separators train with the ``separator`` recipe on the same paired data of the corpus demo
task (:class:`earshot.data.separation.SpeechMusicTask`), with the same number of separator
updates, batch size, learning rate and seed; the semi-supervised one also sees unlabelled
mixtures (additivity + adversarial terms) and unpaired solo sources (its critics). Both are
scored on held-out mixtures (corpus test split) with BSS-eval v4 (museval conventions: 1 s
frames, framewise values; per source the median over items of the framewise median, and the
mean over all scored frames) and SI-SDR. The mixture itself is scored as a reference row.

``run(ExperimentConfig(...))`` returns the report `Section` (audio examples and spectrograms
are written under ``out``); ``run_experiment`` also writes ``results.md``, ``metrics.json``,
``report.html`` and ``results.json`` there and returns the results dict. The CLI is
``earshot experiment separation``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from earshot.data.corpus import DEFAULT_CORPUS

log = logging.getLogger("earshot.separation")
METRICS = ("sdr", "sir", "sar")


@dataclass
class ExperimentConfig:
    """Settings of :func:`run_experiment` (defaults: the CPU budget, ~10 minutes of one thread)."""

    corpus: str = DEFAULT_CORPUS     # corpus folder (speech + music)
    out: str = "runs/separation"     # output folder
    modes: list[str] = field(default_factory=lambda: ["supervised", "semi"])  # supervised, semi and/or unsupervised
    steps: int = 200                 # separator updates per mode
    batch_size: int = 8
    lr: float = 1e-3                 # paper: 5e-5 (raised for the CPU budget)
    disc_lr: float = 1e-3            # critics' learning rate (the paper uses one rate for all)
    disc_steps: int = 5              # critic updates per separator update
    alpha: float = 0.001             # weight of the adversarial term
    beta: float = 0.001              # weight of the additivity term
    channels: int = 16               # U-Net filters at the first level
    kind: str = "direct"             # direct | mask
    segment_frames: int = 32
    paired_items: int = 64           # size of the fixed labelled set
    items_per_epoch: int = 512
    test_items: int = 16             # held-out mixtures scored
    test_seconds: float = 4.0
    wiener_iterations: int = 0       # Wiener iterations at test time
    examples: int = 2                # held-out mixtures written as audio
    seed: int = 0
    progress: bool = True

    def __post_init__(self):
        from earshot.errors import ConfigError

        bad = [m for m in self.modes if m not in ("supervised", "semi", "unsupervised")]
        if bad or not self.modes:
            raise ConfigError(f"modes {self.modes!r}: use supervised, semi and/or unsupervised")
        if self.kind not in ("direct", "mask"):
            raise ConfigError(f"kind {self.kind!r}: use direct or mask")


def train_mode(mode: str, cfg: ExperimentConfig, run_dir: Path):
    """Train one separator with ``mode``; return ``(model in eval mode, {"wall", "cpu"} seconds,
    final validation metrics)``."""
    from earshot.train.config import build_config
    from earshot.train.engine import train
    from earshot.train.recipe import get_recipe

    recipe = get_recipe("separator")
    overrides = {
        "train.steps": cfg.steps, "train.batch_size": cfg.batch_size, "train.lr": cfg.lr,
        "train.disc_steps": cfg.disc_steps, "train.disc_lr": cfg.disc_lr, "train.seed": cfg.seed, "train.val_every": 0,
        "train.ckpt_every": 0, "train.keep_last": 1, "train.tensorboard": "false",
        "train.progress": str(cfg.progress).lower(), "train.num_examples": 1,
        "recipe.mode": mode, "recipe.corpus": cfg.corpus, "recipe.alpha": cfg.alpha, "recipe.beta": cfg.beta,
        "recipe.channels": cfg.channels, "recipe.kind": cfg.kind, "recipe.segment_frames": cfg.segment_frames,
        "recipe.paired_items": cfg.paired_items, "recipe.items_per_epoch": cfg.items_per_epoch,
        "recipe.valid_items": 4, "recipe.seed": cfg.seed,
    }
    run_cfg = build_config("separator", recipe.config_class, train_defaults=recipe.train_defaults,
                           overrides={k: str(v) for k, v in overrides.items()})
    start, cpu = time.perf_counter(), time.process_time()
    result = train(run_cfg, run_dir)
    seconds = {"wall": time.perf_counter() - start, "cpu": time.process_time() - cpu}
    model = result.models["generator" if "generator" in result.models else "model"].eval()
    return model, seconds, dict(result.metrics)


def _nanmean(x: torch.Tensor) -> float:
    x = x[torch.isfinite(x)]
    return float(x.mean()) if x.numel() else math.nan


def score(estimates: torch.Tensor, references: torch.Tensor, sources, sample_rate: int) -> dict:
    """BSS-eval v4 and SI-SDR of ``estimates`` vs ``references`` ``(B, K, 1, T)``, per source:
    ``{source: {"sdr_median", "sdr_mean", "sir_...", "sar_...", "si_sdr"}}``."""
    from earshot.metrics import bss_eval, si_sdr

    res = bss_eval(estimates, references, sample_rate, window=1.0, hop=1.0)
    out = {}
    for k, name in enumerate(sources):
        row = {}
        for i, metric in enumerate(("sdr", "isr", "sir", "sar")):
            if metric not in METRICS:
                continue
            per_item = getattr(res, metric)[:, k]
            finite = per_item[torch.isfinite(per_item)]
            row[f"{metric}_median"] = float(finite.median()) if finite.numel() else math.nan
            row[f"{metric}_mean"] = _nanmean(res.frames[:, i, k])
        row["si_sdr"] = _nanmean(si_sdr(estimates[:, k], references[:, k]))
        out[name] = row
    return out


def evaluate(models: dict, task, cfg: ExperimentConfig, out: Path) -> dict:
    """Score each model (and the unprocessed mixture) on the held-out test mixtures; write examples
    and ``spectrograms.png`` of the first: mixture, each reference and each model's estimates."""
    from earshot.audio.io import save
    from earshot.models.separator import Separator
    from earshot.report.plots import spectrograms

    data = task.held_out("test", items=cfg.test_items, seconds=cfg.test_seconds)
    items = [data[i] for i in range(len(data))]
    mix = torch.stack([m for m, _ in items])                     # (B, 1, T)
    refs = torch.stack([s for _, s in items])[:, :, None]        # (B, K, 1, T)
    sources, sr = ("vocals", "accompaniment"), task.sample_rate
    rows = {"mixture (no separation)": score(mix[:, None].expand_as(refs).contiguous(), refs, sources, sr)}
    examples = []  # files written, relative to out

    def example(name: str, audio: torch.Tensor) -> None:
        examples.append(save(out / "examples" / f"{name}.wav", audio, sr, overwrite=True).relative_to(out).as_posix())

    panels = [("mixture", mix[0])] + [(f"{s} reference", refs[0, k]) for k, s in enumerate(sources)]
    for i in range(min(cfg.examples, len(items))):
        example(f"{i:02d}-mixture", mix[i])
        for k, s in enumerate(sources):
            example(f"{i:02d}-{s}-reference", refs[i, k])
    for name, model in models.items():
        separator = Separator(model, wiener_iterations=cfg.wiener_iterations).eval()
        with torch.no_grad():
            est = torch.cat([separator(mix[i:i + 4]) for i in range(0, len(items), 4)])
        rows[name] = score(est, refs, sources, sr)
        log.info("%s: %s", name, rows[name])
        for i in range(min(cfg.examples, len(items))):
            for k, s in enumerate(sources):
                example(f"{i:02d}-{s}-{name}", est[i, k])
        panels += [(f"{s} {name}", est[0, k]) for k, s in enumerate(sources)]
    (out / "spectrograms.png").write_bytes(spectrograms(panels, sr))
    return {"items": len(items), "seconds": cfg.test_seconds, "split": "test", "rows": rows,
            "params": [data.params(i) for i in range(len(items))], "examples": examples}


def table(results: dict):
    """The results as one `earshot.report.Table` (one row per model and source)."""
    from earshot.report import Table

    rows = []
    for name, per_source in results["eval"]["rows"].items():
        t = results["train_seconds"].get(name, {}).get("cpu")
        for source, r in per_source.items():
            rows.append([name, source, *(r[f"{m}_{a}"] for m in METRICS for a in ("median", "mean")), r["si_sdr"],
                         "" if t is None else round(t)])
    return Table(f"Separation on {results['eval']['items']} held-out mixtures",
                 ["model", "source", "SDR med", "SDR mean", "SIR med", "SIR mean", "SAR med", "SAR mean", "SI-SDR",
                  "train CPU s"], rows, "BSS-eval v4 (1 s frames): median over items of the framewise median, and "
                 "mean over all frames; dB, higher is better")


def markdown(results: dict) -> str:
    """The results table as Markdown (`earshot.report.table_markdown`)."""
    from earshot.report import table_markdown

    return table_markdown(table(results))


def run(cfg: ExperimentConfig | None = None):
    """Train a separator per ``cfg.modes`` and compare them; return the report `Section`."""
    from earshot.data.separation import SpeechMusicTask
    from earshot.report import Clip, Figure, Section
    from earshot.report.plots import training_curves
    from earshot.experiments.testsets import require_corpus

    cfg = cfg or ExperimentConfig()
    require_corpus(cfg.corpus)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    task = SpeechMusicTask(cfg.corpus, segment_frames=cfg.segment_frames, paired_items=cfg.paired_items,
                           items_per_epoch=cfg.items_per_epoch, seed=cfg.seed)
    task.save_plan(out / "data_plan.json")
    models, seconds, valid = {}, {}, {}
    for mode in cfg.modes:
        log.info("training the %s separator for %d steps", mode, cfg.steps)
        models[mode], seconds[mode], valid[mode] = train_mode(mode, cfg, out / mode)
    results = {"config": asdict(cfg), "train_seconds": seconds, "valid": valid,
               "eval": evaluate(models, task, cfg, out)}
    figures = [Figure("spectrograms", (out / "spectrograms.png").read_bytes())]
    curves = training_curves(out)
    section = Section("separation", "Semi-supervised source separation", intro=__doc__.split("\n\n")[1],
                      tables=[table(results)], figures=figures + ([curves] if curves else []), results=results)
    section.clips = [Clip(Path(w).stem, w) for w in results["eval"]["examples"]]
    return section


def run_experiment(cfg: ExperimentConfig | None = None) -> dict:
    """:func:`run`, and write its outputs under ``cfg.out``; returns the results dict."""
    from earshot.report import write_section

    cfg = cfg or ExperimentConfig()
    section = run(cfg)
    write_section(section, cfg.out, title="earshot experiment separation")
    return section.results


__all__ = ["ExperimentConfig", "evaluate", "markdown", "run", "run_experiment", "score", "table", "train_mode"]

"""Compare training losses over seeds: train each variant per seed, score every seed's model on the
same held-out items, and summarise with 95% intervals and paired tests against a baseline.

Statistics (said on every table):
- interval: per seed, the mean of a metric over the test items; the table shows the mean over
  seeds and its Student-t 95% interval (``t_{0.975, n-1} s / sqrt(n)``, n = seeds). With one
  seed there is no interval.
- paired test: per test item, the metric's mean over seeds, for a variant and for the baseline;
  the Wilcoxon signed-rank test (two-sided, scipy) over the items, reported with the median
  per-item difference (variant - baseline).
"""

from __future__ import annotations

import json
import logging
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from earshot.errors import ConfigError, EarshotError
from earshot.metrics.stats import paired_wilcoxon, t_interval
from earshot.experiments.testsets import TestItem
from earshot.report import Interval, Table

log = logging.getLogger("earshot.experiments")

# name -> (column label, higher is better)
METRIC_INFO = {
    "snr": ("SNR dB", True), "pesq": ("PESQ-WB", True), "stoi": ("STOI", True), "visqol": ("ViSQOL", True),
    "mel_distance": ("mel dist.", False), "jnd": ("JND dist.", False), "si_sdr": ("SI-SDR dB", True),
}
DEFAULT_METRICS = ["pesq", "stoi", "visqol", "mel_distance", "jnd", "si_sdr"]


def seed_list(first: int, count: int) -> list[int]:
    """``count`` consecutive seeds from ``first`` (ConfigError for fewer than one)."""
    if count < 1:
        raise ConfigError(f"seeds must be at least 1, got {count}")
    return list(range(first, first + count))


@dataclass
class Scorer:
    """Per-item metrics of a model output against its reference, with what could not run noted.

    PESQ (wide band) scores speech only; ViSQOL runs through the metrics registry when it is
    there (speech mode for speech, audio mode for music); the JND distance uses ``jnd_weights``.
    """

    metrics: list[str]
    sample_rate: int = 16000
    jnd_weights: str = "jnd-sim-16k"
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        unknown = [m for m in self.metrics if m not in METRIC_INFO]
        if unknown:
            raise ConfigError(f"unknown metrics {unknown}; choose from {', '.join(METRIC_INFO)}")
        self._fns = {}
        for name in self.metrics:
            try:
                self._fns[name] = self._load(name)
            except (ImportError, EarshotError) as exc:
                self.notes.append(f"{METRIC_INFO[name][0]} not scored: {exc}")
                log.warning("%s not scored: %s", name, exc)
        self.metrics = [m for m in self.metrics if m in self._fns]

    def _load(self, name: str) -> Callable:
        from earshot.metrics.registry import METRICS

        sr = self.sample_rate
        if name == "jnd":
            from earshot.metrics.jnd import jnd_distance

            def jnd(est, ref, kind):
                return jnd_distance(est, ref, sr, weights=self.jnd_weights)
            jnd(torch.zeros(1, 1, sr), 0.1 * torch.ones(1, 1, sr), "speech")  # loads the weights now
            return jnd
        if name == "visqol":
            return _visqol(METRICS, sr)
        spec = METRICS[name]
        spec.load()
        if name == "pesq":
            return lambda est, ref, kind: spec(est, ref, sr) if kind == "speech" else None
        return lambda est, ref, kind: spec(est, ref, sr)

    def __call__(self, estimate: torch.Tensor, reference: torch.Tensor, kind: str) -> dict[str, float]:
        """``{metric: value}`` of ``estimate`` vs ``reference`` ``(1, 1, T)``; NaN where it does not apply."""
        out = {}
        for name, fn in self._fns.items():
            value = fn(estimate, reference, kind)
            out[name] = math.nan if value is None else float(torch.as_tensor(value).reshape(-1)[0])
        return out


def _visqol(metrics: dict, sample_rate: int) -> Callable:
    """ViSQOL from the metrics registry: ``visqol`` (speech mode) and ``visqol_audio`` for music if
    registered; raises ConfigError when the registry has no ViSQOL."""
    speech = metrics.get("visqol") or metrics.get("visqol_speech")
    if speech is None:
        raise ConfigError("the metrics registry has no 'visqol' entry (earshot.metrics.visqol not installed)")
    speech.load()
    audio = metrics.get("visqol_audio")
    if audio is not None and not audio.available:
        audio = None

    def visqol(est, ref, kind):
        if kind == "speech":
            return speech(est, ref, sample_rate)
        return audio(est, ref, sample_rate) if audio is not None else None
    return visqol


ModelFn = Callable[[torch.Tensor], torch.Tensor]
TrainFn = Callable[[str, int], tuple[ModelFn, float]]


@dataclass
class Outcome:
    """Scores of every variant and seed: ``per_item[variant][seed][origin][metric]`` -> list over items."""

    per_item: dict = field(default_factory=dict)
    train_seconds: dict = field(default_factory=dict)


def run_variants(variants: list[str], seeds: list[int], train_fn: TrainFn, items: dict[str, list[TestItem]],
                 scorer: Scorer, *, on_first_seed: Callable | None = None) -> Outcome:
    """Train and score every ``variant`` x ``seed``; ``on_first_seed(variant, model_fn)`` runs once
    per variant for the first seed (audio examples). One model is held in memory at a time."""
    outcome = Outcome()
    for variant in variants:
        for seed in seeds:
            model_fn, seconds = train_fn(variant, seed)
            outcome.train_seconds.setdefault(variant, {})[seed] = seconds
            outcome.per_item.setdefault(variant, {})[seed] = score_items(model_fn, items, scorer)
            if seed == seeds[0] and on_first_seed is not None:
                on_first_seed(variant, model_fn)
            del model_fn
    return outcome


def score_items(model_fn: ModelFn, items: dict[str, list[TestItem]], scorer: Scorer) -> dict:
    """``{origin: {metric: [value per item]}}`` of ``model_fn``'s outputs."""
    out = {}
    for origin, group in items.items():
        per = {m: [] for m in scorer.metrics}
        for item in group:
            with torch.no_grad():
                est = model_fn(item.input)
            for m, v in scorer(est, item.reference, item.kind).items():
                per[m].append(v)
        out[origin] = per
    return out


def timed(fn: Callable) -> tuple[object, float]:
    """``(fn(), CPU seconds it took)`` (process time: fair between runs on a shared machine)."""
    start = time.process_time()
    result = fn()
    return result, time.process_time() - start


def _item_means(outcome: Outcome, variant: str, seeds: list, origin: str, metric: str) -> np.ndarray:
    """Per test item, the mean over seeds (NaN where an item has no value in any seed)."""
    x = np.array([outcome.per_item[variant][s][origin][metric] for s in seeds], dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN items (PESQ of music) stay NaN
        return np.nanmean(x, axis=0)


def _nanmean(values) -> float:
    x = np.asarray(values, dtype=np.float64)
    return float(np.nanmean(x)) if np.isfinite(x).any() else math.nan


def summarise(outcome: Outcome, baseline: str | None, metrics: list[str]) -> dict:
    """``{origin: {variant: {metric: {"mean", "low", "high", "median_diff", "p"}}}}`` (see the module doc)."""
    variants = list(outcome.per_item)
    seeds = list(outcome.per_item[variants[0]])
    origins = list(outcome.per_item[variants[0]][seeds[0]])
    out: dict = {}
    for origin in origins:
        out[origin] = {}
        item_means = {v: {m: _item_means(outcome, v, seeds, origin, m) for m in metrics} for v in variants}
        for v in variants:
            row = {}
            for m in metrics:
                mean, low, high = t_interval([_nanmean(outcome.per_item[v][s][origin][m]) for s in seeds])
                row[m] = {"mean": mean, "low": low, "high": high}
                if baseline is not None and v != baseline and baseline in item_means:
                    diff, p = paired_wilcoxon(item_means[v][m], item_means[baseline][m])
                    row[m].update(median_diff=diff, p=p)
            out[origin][v] = row
    return out


def tables(summary: dict, *, labels: dict[str, str], metrics: list[str], baseline: str | None, seeds: int,
           origin_notes: dict[str, str], train_seconds: dict | None = None, what: str = "") -> list[Table]:
    """Per test set (origin): a table of means with 95% intervals, and one of the paired tests."""
    out = []
    heads = [f"{METRIC_INFO[m][0]} {'↑' if METRIC_INFO[m][1] else '↓'}" for m in metrics]
    for origin, rows in summary.items():
        body = []
        for v, row in rows.items():
            cells = [Interval(row[m]["mean"], row[m]["low"], row[m]["high"]) for m in metrics]
            cpu = [float(np.mean(list(train_seconds[v].values())))] if train_seconds else []
            body.append([labels.get(v, v), *cells, *cpu])
        out.append(Table(f"{what}{origin_notes.get(origin, origin)}: mean over {seeds} seed(s) [95% interval]",
                         ["model", *heads, *(["train CPU s"] if train_seconds else [])], body,
                         "Per seed the mean over the test items; the Student-t 95% interval over seeds (none with one "
                         "seed). PESQ scores speech items only."))
        if baseline is None or baseline not in rows:
            continue
        paired = [[labels.get(v, v), *(_paired_cell(row[m]) for m in metrics)] for v, row in rows.items() if v != baseline]
        if paired:
            out.append(Table(f"{what}{origin_notes.get(origin, origin)}: paired test against {labels.get(baseline, baseline)}",
                             ["model", *heads], paired,
                             f"Median over items of (model - {labels.get(baseline, baseline)}) of the per-item mean over "
                             "seeds, and the two-sided Wilcoxon signed-rank p over the same items."))
    return out


def _paired_cell(r: dict) -> str:
    if "p" not in r or math.isnan(r["median_diff"]):
        return "n/a"
    p = "n/a" if math.isnan(r["p"]) else f"{r['p']:.2g}"
    return f"{r['median_diff']:+.3g} (p={p})"


def overall_means(outcome: Outcome) -> dict:
    """``{variant: {metric: mean over seeds, origins and items}}`` (the one-number summary)."""
    out = {}
    for v, by_seed in outcome.per_item.items():
        pooled: dict[str, list] = {}
        for by_origin in by_seed.values():
            for per in by_origin.values():
                for m, values in per.items():
                    pooled.setdefault(m, []).extend(values)
        out[v] = {m: (None if math.isnan(_nanmean(vals)) else _nanmean(vals)) for m, vals in pooled.items()}
    return out


def write_examples(out: Path, items: dict[str, list[TestItem]], per_group: int, variant: str,
                   model_fn: ModelFn, sample_rate: int, examples: dict) -> None:
    """Save the model's outputs for the first ``per_group`` items of each kind and origin as
    ``audio/<label>-<variant>.wav`` (and each item's input, and reference when it differs, once);
    record the files in ``examples`` (``{label: {"kind", "origin", "reference", "input", "outputs"}}``)."""
    from earshot.audio.io import save

    for origin, group in items.items():
        counts: dict[str, int] = {}
        for item in group:
            counts[item.kind] = counts.get(item.kind, 0) + 1
            if counts[item.kind] > per_group:
                continue
            entry = examples.get(item.label)
            if entry is None:
                entry = examples[item.label] = {"kind": item.kind, "origin": origin, "outputs": {}}
                entry["input"] = _save(save, out, f"{item.label}-input", item.input, sample_rate)
                entry["reference"] = (entry["input"] if item.input is item.reference
                                      else _save(save, out, f"{item.label}-reference", item.reference, sample_rate))
            with torch.no_grad():
                est = model_fn(item.input)
            entry["outputs"][variant] = _save(save, out, f"{item.label}-{variant}", est, sample_rate)


def _save(save, out: Path, stem: str, audio: torch.Tensor, sample_rate: int) -> str:
    rel = f"audio/{stem}.wav"
    save(out / rel, audio.reshape(1, -1).clamp(-1, 1), sample_rate, overwrite=True)
    return rel


def example_figures(out: Path, examples: dict, labels: dict[str, str], sample_rate: int) -> list:
    """``spectrograms_<label>.png`` of the first example of each kind and origin: input, reference
    (when it differs) and every variant's output; returns the report figures."""
    from earshot.audio.io import load
    from earshot.report import Figure
    from earshot.report.plots import spectrograms

    figures, seen = [], set()
    for label, e in examples.items():
        if (e["kind"], e["origin"]) in seen:
            continue
        seen.add((e["kind"], e["origin"]))
        files = [("input", e["input"])] + ([("reference", e["reference"])] if e["reference"] != e["input"] else [])
        files += [(labels.get(v, v), path) for v, path in e["outputs"].items()]
        png = spectrograms([(name, load(out / path)[0]) for name, path in files], sample_rate)
        (out / f"spectrograms_{label}.png").write_bytes(png)
        figures.append(Figure(f"spectrograms {label} ({e['origin']})", png))
    return figures




def train_recipe(recipe_name: str, overrides: dict, run_dir: Path, *, model_key: str = "model", files=()):
    """Train ``recipe_name`` with the config ``files`` (names under ``configs/`` or paths) and
    ``overrides`` (``{"train.steps": 10, ...}``) into ``run_dir``; return ``(model in eval mode,
    CPU seconds)``."""
    from earshot.train.config import build_config
    from earshot.train.engine import train
    from earshot.train.recipe import get_recipe

    recipe = get_recipe(recipe_name)
    cfg = build_config(recipe_name, recipe.config_class, train_defaults=recipe.train_defaults, files=files,
                       overrides={k: str(v) for k, v in overrides.items()})
    result, seconds = timed(lambda: train(cfg, run_dir))
    models = result.models
    return models[model_key if model_key in models else "model"].eval(), seconds


def quiet_train_overrides(steps: int, batch_size: int, seed: int, loss_weights: dict | None = None) -> dict:
    """Engine settings every experiment shares: no mid-run validation, checkpoint or TensorBoard."""
    out = {"train.steps": steps, "train.batch_size": batch_size, "train.seed": seed, "train.val_every": 0,
           "train.ckpt_every": 0, "train.keep_last": 1, "train.tensorboard": "false"}
    if loss_weights is not None:
        out["train.loss_weights"] = json.dumps(loss_weights)
    return out



ORIGIN_NOTES = {"synthetic": "synthetic test split (espeak-ng speech, fluidsynth music)",
                "real": "real-recording test split"}


@dataclass
class Comparison:
    """One loss comparison: what to train, how to score, where to write (see :func:`run_comparison`)."""

    section_id: str
    title: str
    intro: str
    out: Path
    variants: list[str]
    labels: dict[str, str]
    baseline: str | None
    seeds: list[int]
    train_fn: TrainFn
    items: dict[str, list[TestItem]]
    scorer: Scorer
    examples: int = 1
    sample_rate: int = 16000
    settings: dict = field(default_factory=dict)


def run_comparison(c: Comparison):
    """Train and score every variant and seed; return the report `Section` (tables with intervals and
    paired tests per test set, spectrograms, training curves, audio) with all numbers in ``results``."""
    from earshot.report import Clip, Section
    from earshot.report.plots import training_curves

    c.out.mkdir(parents=True, exist_ok=True)
    examples: dict = {}

    def keep(variant, model_fn):
        write_examples(c.out, c.items, c.examples, variant, model_fn, c.sample_rate, examples)
    outcome = run_variants(c.variants, c.seeds, c.train_fn, c.items, c.scorer, on_first_seed=keep)
    metrics = c.scorer.metrics
    summary = summarise(outcome, c.baseline, metrics)
    notes = " ".join(c.scorer.notes)
    section = Section(c.section_id, c.title, intro=c.intro + (f" {notes}" if notes else ""))
    section.tables = tables(summary, labels=c.labels, metrics=metrics, baseline=c.baseline, seeds=len(c.seeds),
                            origin_notes=ORIGIN_NOTES, train_seconds=outcome.train_seconds)
    section.figures = example_figures(c.out, examples, c.labels, c.sample_rate)
    curves = training_curves(c.out)
    if curves is not None:
        section.figures.append(curves)
    section.clips = [Clip(f"{label} {role}", path) for label, e in examples.items()
                     for role, path in [("input", e["input"]), *e["outputs"].items()]]
    section.results = {
        "settings": c.settings, "seeds": c.seeds, "baseline": c.baseline, "labels": c.labels, "metrics": metrics,
        "notes": c.scorer.notes, "test_sets": {o: [{"label": i.label, "kind": i.kind} for i in g] for o, g in c.items.items()},
        "train_cpu_seconds": outcome.train_seconds, "scores": overall_means(outcome), "summary": summary,
        "per_item": outcome.per_item, "examples": examples,
        "statistics": "95% Student-t interval over seeds of the per-seed mean over items; Wilcoxon signed-rank "
                      "test over items of the per-item mean over seeds, against the baseline",
    }
    (c.out / "examples.json").write_text(json.dumps(examples, indent=2) + "\n")
    return section

__all__ = ["DEFAULT_METRICS", "METRIC_INFO", "Outcome", "Scorer", "example_figures", "overall_means",
           "Comparison", "quiet_train_overrides", "run_comparison", "run_variants", "score_items", "seed_list", "summarise", "tables", "timed",
           "train_recipe", "write_examples"]

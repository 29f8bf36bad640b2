"""DPAM's use as a loss: one small denoiser per training loss and seed.

Trains the ``denoiser`` recipe (`earshot.train.recipes.denoiser`) on corpus speech + noise with
each loss in ``losses`` (default: L1, MR-STFT, JNDLoss, L1 + JNDLoss), the same steps, batch
and data order for all, once per seed, then scores every model and the noisy input on held-out
(test split) speech with test-split noise mixed in at -5..15 dB SNR, synthetic and real
recordings apart: PESQ (wide band), STOI, ViSQOL (when installed), mel distance, the JND distance
and SI-SDR, with 95% intervals over seeds and Wilcoxon tests against MR-STFT.

    run(DenoisingExperiment(steps=300, seeds=3)) -> Section     # `earshot experiment denoising`
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from earshot.data.corpus import DEFAULT_CORPUS
from earshot.errors import ConfigError
from earshot.experiments.compare import (DEFAULT_METRICS, Comparison, Scorer, quiet_train_overrides, run_comparison,
                                         seed_list, train_recipe)
from earshot.experiments.mixing import corpus_noises, noisy_versions
from earshot.experiments.testsets import TestItem, require_corpus, test_clips

TERMS = ("l1", "mrstft", "jnd", "jnd_spectral")  # jnd_spectral: JNDLoss(branch="spectral")
SAMPLE_RATE = 16000
NOISY = "noisy input"


@dataclass
class DenoisingExperiment:
    """Settings of the denoising experiment."""

    corpus: str = DEFAULT_CORPUS      # corpus folder (speech + noise)
    out: str = "runs/denoising"       # output folder
    losses: list[str] = field(default_factory=lambda: ["l1", "mrstft", "jnd", "l1+jnd"])  # variants: terms joined by +, optional weight*term; 'balanced:' prefix = gradient-norm balancing
    steps: int = 300                  # optimiser steps per variant and seed
    batch_size: int = 8
    jnd_weight: float = 0.03          # weight of the JND term in a sum (0.03: both terms about equal on noisy input)
    jnd_weights: str = "jnd-sim-16k"  # shipped JND weights used as the loss and metric
    seconds: float = 1.0              # training excerpt length
    test_items: int = 24              # held-out speech clips per origin (synthetic, real)
    test_seconds: float = 3.0
    clips_per_file: int = 1           # consecutive test clips per held-out file (real recordings are long)
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS))  # metrics scored
    seeds: int = 3                    # seeds per variant (intervals need 2 or more)
    seed: int = 0                     # first seed
    examples: int = 2                 # clips per origin written as audio

    def __post_init__(self):
        if not self.losses:
            raise ConfigError("losses: name at least one variant")
        self.variants = {v: parse_variant(v, self.jnd_weight) for v in self.losses}


def parse_variant(spec: str, jnd_weight: float) -> dict[str, float]:
    """``"l1+jnd"`` -> ``{"l1": 1.0, "jnd": jnd_weight}``; ``"0.5*mrstft"`` -> ``{"mrstft": 0.5}``;
    a ``balanced:`` prefix (gradient-norm balancing) weighs every term 1 unless given."""
    balanced = spec.startswith("balanced:")
    body = spec.removeprefix("balanced:")
    weights = {}
    for part in body.split("+"):
        w, _, name = part.strip().rpartition("*")
        name = name.strip()
        if name not in TERMS:
            raise ConfigError(f"unknown loss {name!r} in variant {spec!r}; use {', '.join(TERMS)}")
        default = jnd_weight if (name.startswith("jnd") and "+" in body and not balanced) else 1.0
        weights[name] = float(w) if w else default
    return weights


def load_items(cfg: DenoisingExperiment) -> dict[str, list[TestItem]]:
    """Per origin, held-out speech clips with test-split noise at an SNR drawn in -5..15 dB."""
    clips = test_clips(cfg.corpus, ["speech"], per_group=cfg.test_items, seconds=cfg.test_seconds,
                       sample_rate=SAMPLE_RATE, clips_per_file=cfg.clips_per_file)
    noises = corpus_noises(cfg.corpus, "test", SAMPLE_RATE)
    items = {}
    for k, (origin, group) in enumerate(clips.items()):
        noisy = noisy_versions([a for _, _, a in group], noises, seed=[1000 + cfg.seed, k])
        items[origin] = [TestItem(label, kind, origin, mix, clean)
                         for (label, kind, clean), (mix, _) in zip(group, noisy)]
    return items


def trainer(cfg: DenoisingExperiment, out: Path):
    """``train(variant, seed) -> (model_fn, CPU s)``; the noisy-input row needs no training."""
    def train(variant: str, seed: int):
        if variant == NOISY:
            return (lambda x: x), 0.0
        overrides = quiet_train_overrides(cfg.steps, cfg.batch_size, seed, cfg.variants[variant])
        overrides.update({"train.balancer": str(variant.startswith("balanced:")).lower(), "recipe.corpus": cfg.corpus,
                          "recipe.seconds": cfg.seconds, "recipe.jnd_weights": cfg.jnd_weights, "recipe.seed": seed})
        name = variant.replace("balanced:", "balanced-").replace("+", "_plus_").replace("*", "x")
        model, seconds = train_recipe("denoiser", overrides, out / (name if seed == cfg.seed else f"{name}-seed{seed}"))
        return model, seconds
    return train


def run(cfg: DenoisingExperiment | None = None):
    """Run the experiment; return its report `Section` (see the module docstring)."""
    cfg = cfg or DenoisingExperiment()
    require_corpus(cfg.corpus)
    seeds = seed_list(cfg.seed, cfg.seeds)
    variants = [NOISY, *cfg.losses]
    intro = (f"A small STFT-mask denoiser trained on corpus speech + noise with each loss, {cfg.steps} steps, batch "
             f"{cfg.batch_size}, seeds {seeds}; scored on held-out noisy speech. Baseline of the paired tests: "
             f"MR-STFT. JND network: {cfg.jnd_weights}.")
    return run_comparison(Comparison(
        "denoising", "Denoising experiment", intro, Path(cfg.out), variants, {}, "mrstft" if "mrstft" in cfg.losses else None,
        seeds, trainer(cfg, Path(cfg.out)), load_items(cfg), Scorer(list(cfg.metrics), SAMPLE_RATE, cfg.jnd_weights),
        cfg.examples, SAMPLE_RATE, {**asdict(cfg), "variants": cfg.variants}))


__all__ = ["DenoisingExperiment", "load_items", "parse_variant", "run"]

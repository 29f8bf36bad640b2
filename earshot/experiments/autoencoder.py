"""The codec-loss paper's autoencoder experiment (Ananthabhotla et al. 2019), over seeds.

Trains the paper's small waveform autoencoder (`earshot.train.recipes.autoencoder`) once per
loss and seed -- A: L1, B: L1 + magnitude-STFT L1, C: L1 + spectral CodecLoss, D: time-domain
CodecLoss (C and D with the paper's feature term over all layers), a multi-resolution STFT
baseline, E: L1 + the learned JND loss, F: MR-STFT + JND balanced by gradient norm, and G: the
same with the JND network's spectral branch only -- with the same data order, batch and steps, on corpus speech + music band-limited to 3 kHz
(``lowpass=0`` keeps the full band). Scores each on held-out (test split) excerpts, band-limited
the same way, synthetic and real recordings apart: SNR, PESQ (wide band, speech only), STOI,
ViSQOL (when installed), DAC mel distance, the learned JND distance and SI-SDR; means over seeds
with 95% intervals and Wilcoxon tests against MR-STFT (`earshot.experiments.compare`).

    run(AutoencoderExperiment(steps=500, seeds=3)) -> Section     # `earshot experiment autoencoder`
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from earshot.data.corpus import DEFAULT_CORPUS
from earshot.errors import ConfigError
from earshot.experiments.compare import (DEFAULT_METRICS, Comparison, Scorer, quiet_train_overrides, run_comparison,
                                         seed_list, train_recipe)
from earshot.experiments.testsets import TestItem, require_corpus, test_clips

MODELS = {
    "A": {"l1": 1.0},
    "B": {"l1": 1.0, "stft": 1.0},
    "C": {"l1": 1.0, "codec_spectral": 1.0},
    "D": {"codec_time": 1.0},
    "mrstft": {"mrstft": 1.0},
    "E": {"l1": 1.0, "jnd": 0.03},  # JND weight as in the denoising experiment: terms about equal at the start
    "F": {"mrstft": 1.0, "jnd": 1.0},  # with train.balancer: each term's gradient norm equalised
    "G": {"mrstft": 1.0, "jnd_spectral": 1.0},  # balanced too; JNDLoss over its spectral branch only
    "H": {"mrstft": 1.0, "codec_spectral": 1.0},  # balanced too: CodecLoss and MR-STFT gradient norms equalised
}
LABELS = {"A": "A: L1", "B": "B: L1 + STFT", "C": "C: L1 + codec (spectral)", "D": "D: codec (time)",
          "mrstft": "MR-STFT", "E": "E: L1 + JND", "F": "F: MR-STFT + JND (balanced)", "G": "G: MR-STFT + spectral JND (balanced)",
          "H": "H: MR-STFT + codec (balanced)"}
BALANCED = {"F", "G", "H"}
SAMPLE_RATE = 16000


@dataclass
class AutoencoderExperiment:
    """Settings of the autoencoder experiment (defaults: about 10 CPU minutes per model and seed)."""

    corpus: str = DEFAULT_CORPUS      # corpus folder (speech + music)
    out: str = "runs/autoencoder"     # output folder
    models: list[str] = field(default_factory=lambda: ["A", "B", "C", "D", "mrstft", "E"])  # A B C D mrstft E F G H
    steps: int = 500                  # optimiser steps per model and seed
    batch_size: int = 8
    seconds: float = 0.5              # training excerpt length
    lr: float = 1e-3
    lowpass: float = 3000.0           # band-limit in Hz (0 = full band)
    codec_layers: str = "all"         # CodecLoss layers: all | encoder | shallow | decoder
    codec_feature_weight: float = 1.0  # CodecLoss feature term weight (c)
    spectral_emulator: str = "emulator-spectral"  # weights name or manifest path
    time_emulator: str = "emulator-time"          # weights name or manifest path
    test_files: int = 4               # held-out files per kind and origin (synthetic, real)
    test_seconds: float = 4.0
    clips_per_file: int = 1           # consecutive test clips per held-out file
    metrics: list[str] = field(default_factory=lambda: ["snr", *DEFAULT_METRICS])  # metrics scored
    jnd_weights: str = "jnd-sim-16k"  # JND network of the JND distance metric
    seeds: int = 3                    # seeds per model (intervals need 2 or more)
    seed: int = 0                     # first seed
    examples: int = 1                 # clips per kind and origin written as audio

    def __post_init__(self):
        bad = [m for m in self.models if m not in MODELS]
        if bad or not self.models:
            raise ConfigError(f"models {bad or '[]'}: choose from {', '.join(MODELS)}")


def load_items(cfg: AutoencoderExperiment) -> dict[str, list[TestItem]]:
    """Band-limited held-out excerpts per origin; the model's input is also its reference."""
    from earshot.data.corpus import load_manifest
    from earshot.train.recipes.autoencoder import band_limited_files

    kinds = ("speech", "music")
    manifest = load_manifest(cfg.corpus, kind=list(kinds), split="test")
    files = band_limited_files(cfg.corpus, kinds, "test", SAMPLE_RATE, cfg.lowpass)  # same order as the manifest
    by_path = {str(item.path): audio for item, (_, audio) in zip(manifest, files)}
    clips = test_clips(cfg.corpus, kinds, per_group=cfg.test_files, seconds=cfg.test_seconds,
                       sample_rate=SAMPLE_RATE, load=lambda item: by_path[str(item.path)],
                       clips_per_file=cfg.clips_per_file)
    return {o: [TestItem(label, kind, o, a, a) for label, kind, a in group] for o, group in clips.items()}


def trainer(cfg: AutoencoderExperiment, out: Path):
    """``train(model, seed) -> (model_fn, CPU s)``; the first seed's run is ``runs/<model>``, others
    ``runs/<model>-seed<k>``."""
    def train(name: str, seed: int):
        overrides = quiet_train_overrides(cfg.steps, cfg.batch_size, seed, MODELS[name])
        overrides.update({
            "train.lr": cfg.lr, "train.balancer": str(name in BALANCED).lower(), "recipe.corpus": cfg.corpus,
            "recipe.seconds": cfg.seconds, "recipe.lowpass_hz": cfg.lowpass, "recipe.seed": seed,
            "recipe.codec_layers": cfg.codec_layers, "recipe.codec_feature_weight": cfg.codec_feature_weight,
            "recipe.spectral_emulator": cfg.spectral_emulator, "recipe.time_emulator": cfg.time_emulator})
        run_dir = out / "runs" / (name if seed == cfg.seed else f"{name}-seed{seed}")
        model, seconds = train_recipe("autoencoder", overrides, run_dir)
        return model, seconds
    return train


def run(cfg: AutoencoderExperiment | None = None):
    """Run the experiment; return its report `Section` (see the module docstring)."""
    from earshot.train.recipes.autoencoder import band_limited_files

    cfg = cfg or AutoencoderExperiment()
    require_corpus(cfg.corpus)
    out = Path(cfg.out)
    for split in ("train", "valid"):  # load (cached) before the clock starts: every model gets the same
        band_limited_files(cfg.corpus, ("speech", "music"), split, SAMPLE_RATE, cfg.lowpass)
    seeds = seed_list(cfg.seed, cfg.seeds)
    intro = (f"The paper's conv autoencoder trained on corpus speech + music band-limited to {cfg.lowpass:g} Hz "
             f"with each loss, {cfg.steps} steps, batch {cfg.batch_size}, seeds {seeds}; scored on held-out "
             "excerpts band-limited the same way. Baseline of the paired tests: MR-STFT.")
    return run_comparison(Comparison(
        "autoencoder", "Codec-approximation loss: the autoencoder experiment", intro, out, list(cfg.models),
        LABELS, "mrstft" if "mrstft" in cfg.models else None, seeds, trainer(cfg, out), load_items(cfg),
        Scorer(list(cfg.metrics), SAMPLE_RATE, cfg.jnd_weights), cfg.examples, SAMPLE_RATE,
        {**asdict(cfg), "loss_weights": {m: MODELS[m] for m in cfg.models}}))


__all__ = ["AutoencoderExperiment", "LABELS", "MODELS", "load_items", "run"]

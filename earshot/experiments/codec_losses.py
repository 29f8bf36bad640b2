"""The codec recipe with and without a perceptual term: ``extra_loss`` none, ``jnd`` and ``codec``.

Trains the small 16 kHz SoundStream of ``configs/codec-16k.yaml`` (reconstruction only: the
multi-scale spectral loss ``rec`` + RVQ commitment) once per variant and seed at equal steps,
the variants adding ``recipe.extra_loss`` (JNDLoss or CodecLoss, weight ``extra_weight``) to the
generator. Scores decodings at ``kbps`` on held-out speech and music, synthetic and real
recordings apart, with 95% intervals over seeds and Wilcoxon tests against the plain recipe,
whose reconstruction term is a multi-resolution spectral loss (the MR-STFT family's member here).
With ``init`` (e.g. the shipped ``codec-16k``) every run fine-tunes those weights instead of
starting from scratch: the comparison then asks what the extra term does to a codec that already
reconstructs, at a budget a CPU affords.

    run(CodecLossExperiment(steps=300, seeds=3)) -> Section    # `earshot experiment codec-losses`
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from earshot.data.corpus import DEFAULT_CORPUS
from earshot.errors import ConfigError
from earshot.experiments.compare import (DEFAULT_METRICS, Comparison, Scorer, quiet_train_overrides, run_comparison,
                                         seed_list, train_recipe)
from earshot.experiments.testsets import TestItem, require_corpus, test_clips

EXTRA = {"none": "", "jnd": "jnd", "codec": "codec"}
LABELS = {"none": "codec recipe (multi-scale spectral)", "jnd": "+ JNDLoss", "codec": "+ CodecLoss"}
SAMPLE_RATE = 16000


@dataclass
class CodecLossExperiment:
    """Settings of the codec extra-loss comparison."""

    corpus: str = DEFAULT_CORPUS      # corpus folder (speech + music)
    out: str = "runs/codec-losses"    # output folder
    variants: list[str] = field(default_factory=lambda: ["none", "jnd", "codec"])  # extra_loss per run: none, jnd, codec
    steps: int = 300                  # generator steps per variant and seed
    batch_size: int = 8
    extra_weight: float = 1.0         # weight of the extra term (rec and commit weigh 1)
    quantizer_warmup: int = 100       # steps before the RVQ is used (the shipped config: 300)
    kbps: float = 6.0                 # bitrate of the scored decodings
    test_files: int = 4               # held-out files per kind and origin
    test_seconds: float = 3.0
    clips_per_file: int = 1           # consecutive test clips per held-out file
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS))  # metrics scored
    jnd_weights: str = "jnd-sim-16k"  # JND network of the JND distance metric
    init: str = ""                    # shipped codec to fine-tune from (e.g. codec-16k); "" trains from scratch
    lr: float = 0.0                   # learning rate; 0 keeps configs/codec-16k.yaml's
    seeds: int = 3                    # seeds per variant
    seed: int = 0                     # first seed
    examples: int = 1                 # clips per kind and origin written as audio

    def __post_init__(self):
        bad = [v for v in self.variants if v not in EXTRA]
        if bad or not self.variants:
            raise ConfigError(f"variants {bad or '[]'}: use none, jnd, codec")


def trainer(cfg: CodecLossExperiment, out: Path):
    def train(variant: str, seed: int):
        extra = EXTRA[variant]
        weights = {"rec": 1.0, "commit": 1.0, **({"extra": cfg.extra_weight} if extra else {})}
        overrides = quiet_train_overrides(cfg.steps, cfg.batch_size, seed, weights)
        overrides.update({"train.progress": "false",
                          "train.val_batches": 1, "recipe.extra_loss": extra, "recipe.corpus": cfg.corpus,
                          "recipe.seed": seed, "recipe.init": cfg.init,
                          "recipe.quantizer_warmup": 0 if cfg.init else min(cfg.quantizer_warmup, cfg.steps)})
        if cfg.lr:
            overrides["train.lr"] = cfg.lr
        model, seconds = train_recipe("codec", overrides,
                                      out / "runs" / (variant if seed == cfg.seed else f"{variant}-seed{seed}"),
                                      files=["codec-16k"])
        n_q = model.quantizers_for_kbps(cfg.kbps)
        return (lambda x: model(x, n_q).audio), seconds
    return train


def run(cfg: CodecLossExperiment | None = None):
    """Run the comparison; return its report `Section` (see the module docstring)."""
    cfg = cfg or CodecLossExperiment()
    require_corpus(cfg.corpus)
    seeds = seed_list(cfg.seed, cfg.seeds)
    clips = test_clips(cfg.corpus, ["speech", "music"], per_group=cfg.test_files, seconds=cfg.test_seconds,
                       sample_rate=SAMPLE_RATE, clips_per_file=cfg.clips_per_file)
    items = {o: [TestItem(label, kind, o, a, a) for label, kind, a in g] for o, g in clips.items()}
    start = f"fine-tuned from {cfg.init}" if cfg.init else "trained from scratch"
    intro = (f"The small 16 kHz SoundStream (configs/codec-16k.yaml, reconstruction only) {start} for {cfg.steps} steps, "
             f"batch {cfg.batch_size}, seeds {seeds}, with and without a perceptual extra term (weight "
             f"{cfg.extra_weight:g}); decoded at {cfg.kbps:g} kbps. Baseline of the paired tests: the plain recipe.")
    return run_comparison(Comparison(
        "codec-losses", "Codec recipe with and without a perceptual loss", intro, Path(cfg.out), list(cfg.variants),
        LABELS, "none" if "none" in cfg.variants else None, seeds, trainer(cfg, Path(cfg.out)), items,
        Scorer(list(cfg.metrics), SAMPLE_RATE, cfg.jnd_weights), cfg.examples, SAMPLE_RATE, asdict(cfg)))


__all__ = ["CodecLossExperiment", "run"]

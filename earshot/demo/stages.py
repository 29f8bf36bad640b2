"""The demo's stages, in order, with their budgets for ``--quick``, the default and ``--full``."""

from __future__ import annotations

from pathlib import Path

from earshot.demo.command_stage import command_stage
from earshot.demo.runner import DemoContext
from earshot.demo.stages_basic import stage_corpus, stage_explain, stage_metrics


def _corpus(ctx: DemoContext) -> list[str]:
    return ["--corpus", str(ctx.corpus)]


def _autoencoder(ctx: DemoContext, out: Path) -> list[str]:
    return ["experiment", "autoencoder", *_corpus(ctx), "--out", str(out), "--models", "A", "B", "mrstft", "C", "E",
            "--steps", str(ctx.budget(30, 300, 1000)), "--test-files", str(ctx.budget(1, 2, 4)), "--seed", str(ctx.seed)]


def _jnd(ctx: DemoContext, out: Path) -> list[str]:
    return ["eval", "jnd", *_corpus(ctx), "--out", str(out), "--walks", str(ctx.budget(4, 8, 16)),
            "--degradations", str(ctx.budget(8, 16, 40)), "--clips", str(ctx.budget(1, 1, 2)),
            "--strengths", str(ctx.budget(3, 4, 5)), "--seed", str(1234 + ctx.seed)] + ([] if ctx.full else ["--no-cdpam"])


def _codec(ctx: DemoContext, out: Path) -> list[str]:
    return ["eval", "codec", *_corpus(ctx), "--out", str(out), "--kbps", "3", "6", "12",
            "--items", str(ctx.budget(1, 2, 8)), "--seconds", str(ctx.budget(2, 3, 4))]


def _separation(ctx: DemoContext, out: Path) -> list[str]:
    return ["experiment", "separation", *_corpus(ctx), "--out", str(out), "--modes", "supervised,semi",
            "--steps", str(ctx.budget(20, 60, 2000)), "--test-items", str(ctx.budget(2, 4, 16)), "--seed", str(ctx.seed)]


def _style(ctx: DemoContext, out: Path) -> list[str]:
    return ["eval", "style", *_corpus(ctx), "--out", str(out), "--features", "ae",
            "--methods", "spectrogram" if not ctx.full else "spectrogram,waveform",
            "--pairs", "1", "--seconds", "3", "--steps", str(ctx.budget(30, 150, 300))]


STAGES = [
    ("corpus", "Corpus", stage_corpus),
    ("metrics", "Degradations and every metric", stage_metrics),
    ("explain", "What each loss hears", stage_explain),
    ("autoencoder", "Codec-approximation loss: the autoencoder experiment", command_stage(
        "autoencoder", "Codec-approximation loss: the autoencoder experiment",
        "The codec-loss paper's conv autoencoder trained on band-limited corpus audio with each loss, same seed and "
        "step budget, scored on held-out audio. A: L1, B: L1 + STFT, C: L1 + spectral CodecLoss, E: L1 + JNDLoss, "
        "and a multi-resolution STFT baseline.", _autoencoder)),
    ("jnd", "Learned JND metric against baselines", command_stage(
        "jnd", "Learned JND metric against baselines",
        "The shipped JND network (trained on simulated-listener judgments, not human ones) against L1, "
        "multi-resolution STFT, mel distance and the codec loss: same/different accuracy on held-out judgments, "
        "rank correlation with perturbation strength, and with PESQ and STOI.", _jnd)),
    ("codec", "Neural codec against Opus and MP3", command_stage(
        "codec", "Neural codec against Opus and MP3",
        "The shipped SoundStream-style codec at 3, 6 and 12 kbps against the real Opus and LAME MP3 encoders at the "
        "same bitrates, on held-out speech and music.", _codec)),
    ("separation", "Semi-supervised source separation", command_stage(
        "separation", "Semi-supervised source separation",
        "Speech ('vocals') over music ('accompaniment'): a U-Net trained on a small paired set only, against the same "
        "plus per-source WGAN-GP critics on unpaired solos and an additivity loss on unpaired mixtures; BSS-eval v4 "
        "on held-out mixtures.", _separation)),
    ("style", "Style transfer", command_stage(
        "style", "Style transfer",
        "Speech onto another voice and music onto another instrument with the shipped spectrogram autoencoder's "
        "features: the style reduction is how far the output's Gram statistics moved from the content's towards "
        "the style's.", _style)),
]

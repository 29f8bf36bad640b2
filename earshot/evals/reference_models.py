"""The shipped reference models against their peers, on held-out real recordings.

    run(ReferenceEval(weights="runs/shipped-gpu/weights")) -> Section
    earshot eval reference --weights DIR [--items 6] [--parts codec separator] [--out DIR]

Clips are the corpus' ``test`` split, by default only its real recordings (``origin="real"``
in the manifest; ``origin="all"`` takes synthetic ones too), the first ``seconds`` of the first
``items`` files per kind. Four parts, each against its peer in the same run:

- codec: ``codec-16k`` at 3/6/12 kbps (through the real bitstream) vs Opus at 6 and 12 kbps and
  MP3 (LAME CBR) at 8 and 16 kbps. Speech: PESQ-WB, ViSQOL (speech mode), mel distance; music:
  ViSQOL (audio mode), mel distance.
- emulator: each emulator's explained fraction E of the real MP3 16 kbps codec's effect on
  speech and on music (`earshot.evals.emulator`; target >= 0.8).
- separator: SI-SDR improvement of the speech (vocals) and music estimates over the mixture, on
  real speech over real music mixed at 0 dB, for ``separator-speech-music`` and the
  Open-Unmix-architecture peer ``separator-openunmix-peer`` (trained on the same data and steps;
  present where ``scripts/train_shipped.sh`` made it). Target: >= 6 dB for speech.
- jnd: Spearman correlation of -distance with PESQ over graded degradations of real test
  speech (`earshot.evals.jnd.part_c`) for the JND weights in ``weights`` and the package's.

Models are loaded from ``weights`` (a folder of NAME.json + NAME.safetensors, e.g. what
``scripts/train_shipped.sh`` wrote) where they are present, else from the package.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from earshot.data.corpus import DEFAULT_CORPUS
from earshot.errors import ConfigError, EarshotError

log = logging.getLogger("earshot.evals.reference_models")
PARTS = ("codec", "emulator", "separator", "jnd")
ORIGINS = ("real", "synthetic", "all")
CODEC_SYSTEMS = (("soundstream", 3.0), ("soundstream", 6.0), ("soundstream", 12.0),
                 ("opus", 6.0), ("opus", 12.0), ("mp3", 8.0), ("mp3", 16.0))


@dataclass
class ReferenceEval:
    """Settings of the evaluation against peers."""

    weights: str = ""                 # folder of the weights to evaluate ("" = the package's)
    corpus: str = DEFAULT_CORPUS      # corpus root
    split: str = "test"               # corpus split
    origin: str = "real"              # real | synthetic | all: which recordings to evaluate on
    items: int = 6                    # files per kind
    seconds: float = 4.0              # excerpt length
    parts: list[str] = field(default_factory=lambda: list(PARTS))  # codec, emulator, separator, jnd
    degradations: int = 40            # degraded clips for the JND part
    out: str = "runs/eval-reference"  # output folder
    seed: int = 0

    def __post_init__(self):
        if self.origin not in ORIGINS:
            raise ConfigError(f"origin must be one of {ORIGINS}, got {self.origin!r}")
        unknown = set(self.parts) - set(PARTS)
        if unknown:
            raise ConfigError(f"unknown parts {sorted(unknown)}; choose from {PARTS}")


# ------------------------------------------------------------------------------- loading
def weights_path(name: str, root: str) -> str:
    """``root/NAME.json`` where ``root`` holds it, else ``name`` (the package's weights)."""
    path = Path(root) / f"{name}.json" if root else None
    return str(path) if path is not None and path.is_file() else name


def load_model(name: str, root: str):
    from earshot.weights import load_pretrained

    return load_pretrained(weights_path(name, root))


def load_clips(cfg: ReferenceEval, sample_rate: int, kinds=("speech", "music")) -> dict[str, list]:
    """``{kind: [(name, (1, 1, T)), ...]}``: the first ``seconds`` of the first ``items`` files of
    the split per kind, of the chosen origin (ConfigError naming the kind when there is none)."""
    from earshot.evals.codec import load_clips as load_split

    return load_split(cfg.corpus, cfg.split, cfg.items, cfg.seconds, sample_rate, kinds=kinds, origin=cfg.origin)


# ------------------------------------------------------------------------------- codec
def codec_metrics(decoded: torch.Tensor, clip: torch.Tensor, kind: str, sample_rate: int) -> dict[str, float]:
    from earshot.metrics import mel_distance, pesq
    from earshot.metrics.visqol import visqol

    out = {"mel_distance": mel_distance(decoded, clip, sample_rate)}
    if kind == "speech":
        out["pesq"] = pesq(decoded, clip, sample_rate)
        out["visqol"] = visqol(decoded, clip, sample_rate, mode="speech")
    else:
        out["visqol_audio"] = visqol(decoded, clip, sample_rate, mode="audio")
    return {k: float(v[0]) for k, v in out.items()}


def codec_part(cfg: ReferenceEval) -> list[dict]:
    """One row per (kind, system, target kbps): the kbps used and the mean metrics."""
    from earshot.evals.codec import baselines, ours

    model = load_model("codec-16k", cfg.weights)
    sr = model.sample_rate
    systems = {"soundstream": ours(model, "codec-16k"), **baselines(sr)}
    clips = load_clips(cfg, sr)
    rows = []
    for kind, items in clips.items():
        for system, kbps in tqdm(CODEC_SYSTEMS, desc=f"codec {kind}", file=sys.stderr, leave=False):
            scores, used = [], kbps
            for _, clip in items:
                decoded, used = systems[system](clip, kbps)
                scores.append(codec_metrics(decoded, clip, kind, sr))
            rows.append({"kind": kind, "system": system, "kbps": kbps, "kbps_used": float(used),
                         "items": len(items), **_means(scores)})
    return rows


def _means(scores: list[dict]) -> dict[str, float]:
    keys = scores[0].keys() if scores else ()
    return {k: float(np.nanmean([s[k] for s in scores])) if any(not math.isnan(s[k]) for s in scores)
            else float("nan") for k in keys}


# ------------------------------------------------------------------------------- emulator
def emulator_part(cfg: ReferenceEval) -> list[dict]:
    """E per emulator and kind against the real MP3 16 kbps codec (whole files of the origin)."""
    from earshot.evals.emulator import evaluate
    from earshot.train.recipes.emulator import roundtrip

    models = {n: load_model(n, cfg.weights) for n in ("emulator-spectral", "emulator-time")}
    rate = next(iter(models.values())).sample_rate
    files = load_clips(ReferenceEval(**{**cfg.__dict__, "seconds": 60.0}), rate)
    coded = {k: [roundtrip(c[0], rate, "mp3", 16.0)[None] for _, c in v] for k, v in files.items()}
    results = evaluate(models, files, coded)
    return [{"model": name, "kind": kind, **values} for name, kinds in results.items() for kind, values in kinds.items()]


# ------------------------------------------------------------------------------- separator
def mix_at_0db(speech: torch.Tensor, music: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(mix, speech, music)`` with the music scaled to the speech's RMS, all three scaled by one
    factor so the mixture's peak is at most 1. Tensors ``(1, 1, T)`` (cut to the shorter)."""
    n = min(speech.shape[-1], music.shape[-1])
    s, m = speech[..., :n], music[..., :n]
    m = m * s.pow(2).mean().sqrt() / m.pow(2).mean().sqrt().clamp_min(1e-8)
    mix = s + m
    scale = 1.0 / float(mix.abs().max().clamp_min(1.0))
    return mix * scale, s * scale, m * scale


def separator_part(cfg: ReferenceEval) -> list[dict]:
    """SI-SDR (dB) of the mixture and of each model's estimates, and the improvement, per source."""
    from earshot.metrics import si_sdr

    models = {}
    for name in ("separator-speech-music", "separator-openunmix-peer"):
        try:
            models[name] = load_model(name, cfg.weights)
        except EarshotError as exc:
            log.warning("%s: not evaluated (%s)", name, exc)
    if not models:
        raise ConfigError("no separator weights could be loaded (separator-speech-music, separator-openunmix-peer)")
    rate = next(iter(models.values())).sample_rate
    clips = load_clips(cfg, rate)
    music = clips["music"]                                           # cycled: every speech clip is used
    pairs = [mix_at_0db(s, music[i % len(music)][1]) for i, (_, s) in enumerate(clips["speech"])]
    rows = []
    for name, model in models.items():
        acc: dict[str, list[float]] = {}
        for mix, speech, music in pairs:
            with torch.inference_mode():
                est = model.separate(mix)                                     # (1, K, T)
            for k, ref in enumerate((speech, music)):
                source = model.sources[k]
                before, after = float(si_sdr(mix, ref)[0]), float(si_sdr(est[:, k:k + 1], ref)[0])
                acc.setdefault(f"{source}_si_sdr", []).append(after)
                acc.setdefault(f"{source}_si_sdri", []).append(after - before)
        rows.append({"model": name, "architecture": type(model).__name__, "mixtures": len(pairs),
                     "parameters": sum(p.numel() for p in model.parameters()),
                     **{k: float(np.mean(v)) for k, v in acc.items()}})
    return rows


# ------------------------------------------------------------------------------- jnd
def jnd_part(cfg: ReferenceEval) -> dict:
    """Spearman(-distance, PESQ) and (-distance, STOI) over graded degradations of real test speech."""
    from earshot.data.jnd import DEFAULT_PERTURBATIONS, perturbations
    from earshot.evals.jnd import build_scorers, part_c

    names = ["jnd-sim-16k", "jnd-dpam-sim-16k"]
    weights = [*names, *(weights_path(n, cfg.weights) for n in names if weights_path(n, cfg.weights) != n)]
    scorers, skipped = build_scorers(weights, cdpam=False)
    clips = [c[0] for _, c in load_clips(cfg, 16000, kinds=("speech",))["speech"]]
    shortest = min(c.shape[-1] for c in clips)                 # part_c stacks them: one length
    clips = [c[..., :shortest] for c in clips]
    perts = perturbations(list(DEFAULT_PERTURBATIONS), corpus=cfg.corpus, split=cfg.split)
    result = part_c(clips, perts, cfg.degradations, scorers, cfg.seed)
    return {**result, "skipped": skipped}


# ------------------------------------------------------------------------------- report
def tables(results: dict) -> list:
    from earshot.report import Table

    out = []
    if "codec" in results:
        cols = ["pesq", "visqol", "visqol_audio", "mel_distance"]
        out.append(Table("Codec vs Opus and MP3 (held-out recordings)",
                         ["kind", "system", "target kbps", "kbps used", "PESQ-WB ↑", "ViSQOL speech ↑",
                          "ViSQOL audio ↑", "mel distance ↓"],
                         [[r["kind"], r["system"], r["kbps"], r["kbps_used"], *(r.get(c, "-") for c in cols)]
                          for r in results["codec"]]))
    if "emulator" in results:
        out.append(Table("Emulators: explained fraction E of the real MP3 16 kbps codec's effect (target >= 0.8)",
                         ["model", "kind", "E ↑", "files"],
                         [[r["model"], r["kind"], r["E"], r["files"]] for r in results["emulator"]]))
    if "separator" in results:
        out.append(Table("Separation of speech over music at 0 dB: SI-SDR improvement (dB, target >= 6 for speech)",
                         ["model", "architecture", "parameters", "speech SI-SDRi ↑", "music SI-SDRi ↑", "mixtures"],
                         [[r["model"], r["architecture"], r["parameters"], r.get("vocals_si_sdri", "-"),
                           r.get("accompaniment_si_sdri", "-"), r["mixtures"]] for r in results["separator"]]))
    if "jnd" in results:
        rows = [[m, v.get("pesq"), v.get("stoi")] for m, v in results["jnd"]["metrics"].items()]
        out.append(Table(f"Spearman of -distance with PESQ / STOI over {results['jnd']['n']} graded degradations "
                         "of held-out speech", ["metric", "PESQ ↑", "STOI ↑"], rows))
    return out


def run(cfg: ReferenceEval | None = None):
    """Evaluate every part asked for; return the report `Section` (results hold every number)."""
    from earshot.metrics.visqol import lattice_available
    from earshot.report import Section

    cfg = cfg or ReferenceEval()
    torch.set_num_threads(1)
    parts = {"codec": codec_part, "emulator": emulator_part, "separator": separator_part, "jnd": jnd_part}
    results: dict = {"config": dict(cfg.__dict__), "visqol_speech_mapping": "lattice" if lattice_available() else "polynomial"}
    errors = {}
    for part in cfg.parts:
        start = time.time()
        try:
            results[part] = parts[part](cfg)
        except EarshotError as exc:  # one part's missing data or weights must not stop the others
            errors[part] = str(exc)
            log.warning("%s: %s", part, exc)
        results.setdefault("seconds", {})[part] = round(time.time() - start, 1)
    results["errors"] = errors
    return Section("reference-models", "Reference models against their peers",
                   intro=f"Held-out {cfg.origin} recordings of {cfg.corpus} ({cfg.split} split); weights "
                         f"from {cfg.weights or 'the package'}.", tables=tables(results), results=results,
                   error="\n".join(f"{k}: {v}" for k, v in errors.items()) or None)


__all__ = ["PARTS", "ReferenceEval", "codec_part", "emulator_part", "jnd_part", "mix_at_0db", "run",
           "separator_part", "tables"]

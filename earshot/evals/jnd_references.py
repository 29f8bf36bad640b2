"""The JND metric against reference quality measures on real recordings.

Held-out recordings of the corpus (the ``real`` origin; with none, the synthetic test split, and
the section says so) are degraded in graded steps by real processes: white noise at several
SNRs, the real MP3 (LAME) and Opus encoders at several bitrates, low-pass filters at several
cutoffs and reverberation of several lengths. Each degraded clip is scored by the reference
measures -- PESQ (wide band) for speech, ViSQOL (audio mode) for music, ViSQOL speech mode for
speech too -- and by every distance: the learned JND distance, CDPAM (when its package loads),
MR-STFT, mel distance and L1. The table gives Spearman's rho between -distance and each
reference measure over all the degraded clips of a kind (pooled over degradation types and
clips), and per degradation type.

    run(ReferenceEval(clips=4)) -> Section      # `earshot eval jnd-references`
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch

from earshot.data.corpus import DEFAULT_CORPUS
from earshot.errors import EarshotError
from earshot.metrics.stats import spearman

log = logging.getLogger("earshot.evals.jnd_references")
SR = 16000
# (type, amounts): noise SNR dB, MP3 kbps, Opus kbps, low-pass strength, reverb strength
LADDER = {"noise": [30.0, 20.0, 10.0, 0.0], "mp3": [64, 32, 16, 8], "opus": [32.0, 16.0, 8.0, 6.0],
          "lowpass": [0.25, 0.5, 0.75, 1.0], "reverb": [0.25, 0.5, 0.75, 1.0]}
REFERENCES = {"speech": ["pesq", "visqol"], "music": ["visqol_audio"]}


@dataclass
class ReferenceEval:
    """Settings of the reference-correlation evaluation."""

    corpus: str = DEFAULT_CORPUS      # corpus with a real-recording test split
    clips: int = 4                    # clips per kind (speech, music)
    seconds: float = 4.0              # clip length
    distances: list[str] = field(default_factory=lambda: ["jnd", "cdpam", "mrstft", "mel", "l1"])  # distances compared
    jnd_weights: str = "jnd-sim-16k"  # JND network
    out: str = "runs/eval-jnd-references"  # output folder
    seed: int = 0


def degrade(audio: torch.Tensor, kind: str, amount: float, seed: int) -> torch.Tensor:
    """``audio`` ``(1, T)`` through one real degradation at one step of `LADDER` (``"noise"``:
    white noise at ``amount`` dB SNR)."""
    from earshot.data.perturb import degrade as degrade_at
    from earshot.experiments.mixing import fit_and_mix

    if kind == "noise":
        return fit_and_mix(audio, torch.randn(audio.shape, generator=torch.Generator().manual_seed(seed)), amount)
    return degrade_at(audio, SR, kind, amount, seed=seed)


def distance_fns(names: list[str], jnd_weights: str) -> tuple[dict, dict]:
    """``{name: fn(est (1,1,T), ref) -> float}`` for the distances that load here, and skip reasons."""
    from earshot.losses import L1Loss, MultiResolutionSTFTLoss
    from earshot.metrics import mel_distance

    fns, skipped = {}, {}
    makers = {"mrstft": lambda: MultiResolutionSTFTLoss(), "l1": lambda: L1Loss(),
              "mel": lambda: (lambda e, r: mel_distance(e, r, SR))}
    for name in names:
        try:
            if name == "jnd":
                from earshot.losses.jnd import JNDLoss

                fns[name] = JNDLoss(SR, weights=jnd_weights)
            elif name == "cdpam":
                from earshot.evals.cdpam import CDPAMPeer

                peer = CDPAMPeer()
                fns[name] = lambda e, r, peer=peer: peer.distance(e, r, SR)
            else:
                fns[name] = makers[name]()
        except (EarshotError, ImportError, OSError, KeyError) as exc:
            skipped[name] = str(exc) or type(exc).__name__
    return fns, skipped


def _clips(cfg: ReferenceEval) -> tuple[str, dict]:
    from earshot.experiments.testsets import test_clips

    groups = test_clips(cfg.corpus, ["speech", "music"], per_group=cfg.clips, seconds=cfg.seconds, sample_rate=SR)
    origin = "real" if "real" in groups else "synthetic"
    by_kind: dict = {}
    for label, kind, audio in groups[origin]:
        by_kind.setdefault(kind, []).append((label, audio[0]))
    return origin, by_kind


def score(cfg: ReferenceEval) -> dict:
    """Per kind, every degraded clip's reference measures and distances."""
    from earshot.metrics.registry import METRICS

    fns, skipped = distance_fns(list(cfg.distances), cfg.jnd_weights)
    origin, by_kind = _clips(cfg)
    rows: dict = {}
    for kind, clips in by_kind.items():
        refs = [r for r in REFERENCES[kind] if METRICS[r].available]
        for name in set(REFERENCES[kind]) - set(refs):
            skipped[name] = METRICS[name].unavailable_reason
        for i, (label, clean) in enumerate(clips):
            for deg, amounts in LADDER.items():
                for step, amount in enumerate(amounts):
                    y = degrade(clean, deg, amount, cfg.seed + 100 * i + step)[None]
                    x = clean[None]
                    with torch.no_grad():
                        row = {"clip": label, "type": deg, "amount": amount,
                               **{r: float(METRICS[r](y, x, SR)[0]) for r in refs},
                               **{d: float(torch.as_tensor(fn(y, x)).reshape(-1)[0]) for d, fn in fns.items()}}
                    rows.setdefault(kind, []).append(row)
    return {"origin": origin, "rows": rows, "distances": list(fns), "skipped": skipped}


def correlations(result: dict) -> dict:
    """``{kind: {reference: {type or "all": {distance: rho}}}}``: Spearman of -distance with the reference."""
    out: dict = {}
    for kind, rows in result["rows"].items():
        refs = [r for r in REFERENCES[kind] if r in rows[0]]
        for ref in refs:
            per = {}
            for group in ["all", *LADDER]:
                chosen = [r for r in rows if group == "all" or r["type"] == group]
                per[group] = {d: spearman([-r[d] for r in chosen], [r[ref] for r in chosen]) for d in result["distances"]}
            out.setdefault(kind, {})[ref] = per
    return out


def run(cfg: ReferenceEval | None = None):
    """Degrade, score and correlate; return the report `Section`."""
    from earshot.report import Section, Table

    cfg = cfg or ReferenceEval()
    result = score(cfg)
    result["spearman"] = corr = correlations(result)
    Path(cfg.out).mkdir(parents=True, exist_ok=True)
    names = result["distances"]
    tables = []
    for kind, by_ref in corr.items():
        n = len(result["rows"][kind])
        for ref, per in by_ref.items():
            rows = [[group, *(per[group][d] for d in names)] for group in per]
            tables.append(Table(f"{kind}: Spearman(-distance, {ref}) over {n} degraded {result['origin']} clips",
                                ["degradations", *names], rows,
                                "'all' pools every type and step; the other rows one type's steps over the clips. "
                                "1 = the distance ranks the degradations exactly as the reference measure does."))
    intro = __doc__.split("\n\n")[1]
    if result["origin"] != "real":
        intro += " THIS CORPUS HAS NO REAL RECORDINGS IN ITS TEST SPLIT: the clips here are synthetic."
    if result["skipped"]:
        intro += " Not scored: " + "; ".join(f"{k} ({v})" for k, v in result["skipped"].items()) + "."
    return Section("references", "JND metric against PESQ and ViSQOL on real recordings", intro=intro, tables=tables,
                   results=result)


__all__ = ["LADDER", "ReferenceEval", "correlations", "degrade", "distance_fns", "run", "score"]

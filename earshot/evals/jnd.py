"""The learned JND metric against L1, MR-STFT, mel distance, the codec loss and CDPAM.

(a) same/different judgments held out from training (test split of the corpus, other seeds):
    accuracy with a threshold fitted on the other half of the walks (2-fold, by walk), ROC AUC,
    and for JND networks the accuracy of their own calibrated head (P > 0.5);
(b) per perturbation type, Spearman correlation between distance and strength (per clip,
    averaged over clips);
(c) across random degradations of held-out speech, Spearman correlation of -distance with
    PESQ (wide band) and with STOI.

THE JUDGMENTS IN (a) COME FROM THE SIMULATED LISTENER (`earshot.psycho.listener`), like the
training judgments of the shipped weights: (a) measures agreement with that stand-in, not with
people. (b) and (c) involve no listener at all.

    run(JNDEval(out="runs/eval-jnd", cdpam=False)) -> Section     # `earshot eval jnd [--no-cdpam]`
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from earshot.data.corpus import DEFAULT_CORPUS
from earshot.errors import ConfigError, EarshotError
from earshot.metrics.stats import auc, cv_accuracy, spearman

log = logging.getLogger("earshot.evals.jnd")
SR = 16000


@dataclass
class JNDEval:
    """Settings of the JND metric evaluation."""

    weights: list[str] = field(default_factory=lambda: ["jnd-sim-16k"])  # JND weights to evaluate
    corpus: str = DEFAULT_CORPUS
    pairs: str | None = None          # held-out JND pair folder (default: generated into out/pairs-test)
    walks: int = 16                   # walks generated for (a)
    trials: int = 12                  # adaptive trials per walk for (a)
    clips: int = 4                    # held-out speech clips for (b)
    strengths: int = 5                # strengths per type and clip for (b)
    degradations: int = 40            # degraded clips for (c)
    seconds: float = 2.0              # clip length for (b) and (c)
    perturbations: list[str] = field(default_factory=list)  # perturbation types (default: the JND walk pool)
    cdpam: bool = True                # score CDPAM too (about 1000x slower than JNDLoss)
    cdpam_judgments: int = 48         # CDPAM (and every metric, for comparison) on the first walks up to this many judgments, 1 s of 1 clip x 3 strengths per type, and cdpam_degradations clips
    cdpam_degradations: int = 16
    out: str = "runs/eval-jnd"
    seed: int = 1234


# ------------------------------------------------------------------------------- distances
def build_scorers(weights: list[str], *, cdpam: bool) -> tuple[dict, dict]:
    """``name -> fn(est (B,1,T), ref (B,1,T)) -> (B,) numpy`` for every metric that loads; and skip reasons."""
    from earshot.losses import MultiResolutionSTFTLoss
    from earshot.losses.jnd import JNDLoss
    from earshot.metrics import mel_distance

    scorers, skipped = {}, {}
    for w in weights:
        try:
            loss = JNDLoss(SR, weights=w, reduction="none")
            scorers[f"jnd:{w}"] = _jnd_scorer(loss)
        except EarshotError as exc:
            skipped[f"jnd:{w}"] = str(exc)
    scorers["l1"] = lambda e, r: (e - r).abs().mean(dim=(1, 2))
    mr = MultiResolutionSTFTLoss(reduction="none")
    scorers["mrstft"] = lambda e, r: mr(e, r)
    scorers["mel"] = lambda e, r: mel_distance(e, r, SR)
    try:
        from earshot.losses.codec import CodecLoss

        codec = CodecLoss(sample_rate=SR, reduction="none")
        scorers["codec"] = lambda e, r: codec(e, r)
    except (EarshotError, ImportError) as exc:
        skipped["codec"] = str(exc)
    if cdpam:
        try:
            from earshot.evals.cdpam import CDPAMPeer

            scorers["cdpam"] = _cdpam_scorer(CDPAMPeer())
        except EarshotError as exc:
            skipped["cdpam"] = str(exc)
    return scorers, skipped


def _jnd_scorer(loss):
    def score(e, r):
        return loss(e, r)
    score.judge = loss.judge
    return score


def _cdpam_scorer(peer):
    cache: dict[bytes, torch.Tensor] = {}

    def embed(x):
        key = x.numpy().tobytes()
        if key not in cache:
            cache[key] = peer.embed(x[None], SR)[0]
        return cache[key]

    def score(e, r):
        a = torch.stack([embed(x) for x in e])
        b = torch.stack([embed(x) for x in r])
        return peer.distance_from_embeddings(a, b)
    return score


def distances(scorers: dict, est: torch.Tensor, ref: torch.Tensor, batch: int = 8) -> dict[str, np.ndarray]:
    """Every scorer's distances of ``(N, 1, T)`` pairs, in chunks, without gradients."""
    out = {}
    with torch.no_grad():
        for name, fn in scorers.items():
            out[name] = np.concatenate([np.asarray(fn(est[i:i + batch], ref[i:i + batch]), dtype=np.float64)
                                        for i in range(0, len(est), batch)])
    return out


# ------------------------------------------------------------------------------- the three parts
def part_a(dataset, scorers: dict) -> dict:
    """Same/different accuracy (2-fold threshold and own head) and AUC on held-out judgments."""
    items = [dataset[i] for i in range(len(dataset))]
    ref = torch.stack([it["reference"] for it in items])
    test = torch.stack([it["test"] for it in items])
    label = np.array([float(it["label"]) for it in items])
    walk_ids = {g: k for k, g in enumerate(dict.fromkeys(dataset.groups))}
    fold = np.array([walk_ids[g] % 2 for g in dataset.groups])
    dist = distances(scorers, test, ref)
    out = {"n": len(items), "different_rate": float(label.mean()), "metrics": {}}
    for name, d in dist.items():
        row = {"accuracy": cv_accuracy(d, label, fold), "auc": auc(d, label)}
        judge = getattr(scorers[name], "judge", None)
        if judge is not None:
            with torch.no_grad():
                p = torch.cat([judge(test[i:i + 8], ref[i:i + 8]).p_different for i in range(0, len(test), 8)])
            row["accuracy_head"] = float(((p.numpy() > 0.5) == (label > 0.5)).mean())
        out["metrics"][name] = row
    p_true = np.array([float(it["p_listener"]) for it in items])
    out["oracle"] = {"accuracy": float(((p_true > 0.5) == (label > 0.5)).mean()), "auc": auc(p_true, label)}
    return out


def _perturb(clean: torch.Tensor, perts: dict, name: str, strength: float, seed: int) -> torch.Tensor:
    from earshot.data.jnd import render

    params = perts[name].sample(float(strength), np.random.default_rng(seed))
    return render(clean, SR, [name], [params], perts)


def part_b(clips: list[torch.Tensor], perts: dict, n_strengths: int, scorers: dict, seed: int) -> tuple[dict, dict]:
    """Per type: Spearman(distance, strength) per clip averaged over clips, and pooled over all clips
    (the pooled figure also asks that one scale fits every clip)."""
    strengths = np.linspace(0.1, 1.0, n_strengths)
    per_clip, pooled = {}, {}
    for name in tqdm(list(perts), desc="(b) perturbation types", file=sys.stderr):
        scores: dict[str, list[float]] = {}
        flat: dict[str, list[np.ndarray]] = {}
        for c, clean in enumerate(clips):
            degraded = torch.stack([_perturb(clean, perts, name, s, seed + c) for s in strengths])
            ref = clean[None].expand_as(degraded).contiguous()
            for metric, d in distances(scorers, degraded, ref).items():
                scores.setdefault(metric, []).append(spearman(strengths, d))
                flat.setdefault(metric, []).append(d)
        per_clip[name] = {m: float(np.nanmean(v)) if np.isfinite(v).any() else float("nan") for m, v in scores.items()}
        pooled[name] = {m: spearman(np.tile(strengths, len(clips)), np.concatenate(v)) for m, v in flat.items()}
    return per_clip, pooled


def part_c(clips: list[torch.Tensor], perts: dict, n: int, scorers: dict, seed: int) -> dict:
    """Spearman of -distance with PESQ and with STOI over random degradations of held-out speech."""
    from earshot.metrics import pesq, stoi

    rng = np.random.default_rng(seed)
    ref_list, deg_list, kinds = [], [], []
    for i in range(n):
        clean = clips[i % len(clips)]
        name = str(rng.choice(list(perts)))
        deg_list.append(_perturb(clean, perts, name, float(rng.uniform(0.05, 1.0)), int(rng.integers(2**31 - 1))))
        ref_list.append(clean)
        kinds.append(name)
    ref, deg = torch.stack(ref_list), torch.stack(deg_list)
    quality = {"pesq": pesq(deg, ref, SR).numpy(), "stoi": stoi(deg, ref, SR).numpy()}
    out = {"n": n, "types": sorted(set(kinds)), "metrics": {}}
    for metric, d in distances(scorers, deg, ref).items():
        out["metrics"][metric] = {q: spearman(-d, v) for q, v in quality.items()}
    return out


class _FirstWalks:
    """The first walks of a JND pair dataset, up to ``n`` judgments (whole walks)."""

    def __init__(self, data, n: int):
        walks = list(dict.fromkeys(data.groups))
        keep, count = set(), 0
        for g in walks:
            if count >= n:
                break
            keep.add(g)
            count += data.groups.count(g)
        self.index = [i for i, g in enumerate(data.groups) if g in keep]
        self.data, self.groups = data, [data.groups[i] for i in self.index]

    def __len__(self):
        return len(self.index)

    def __getitem__(self, i):
        return self.data[self.index[i]]


# ------------------------------------------------------------------------------- the command
def _clips(corpus: str, n: int, seconds: float, seed: int) -> list[torch.Tensor]:
    from earshot.data.datasets import CorpusDataset

    data = CorpusDataset(corpus, kind="speech", split="test", segment_seconds=seconds, sample_rate=SR, seed=seed)
    if len(data) == 0:
        raise ConfigError(f"{corpus} has no test-split speech")
    out = []
    for i in range(n):
        item = data[i % len(data)]
        out.append((item[0] if isinstance(item, (tuple, list)) else item).float()[:1])
    return out


def _pairs(args: JNDEval, out: Path):
    from earshot.data.jnd import JNDPairDataset, make_jnd_pairs

    folder = Path(args.pairs) if args.pairs else out / "pairs-test"
    if not (folder / "manifest.json").exists():
        if args.pairs:
            raise ConfigError(f"{folder} holds no JND pairs (manifest.json missing)")
        make_jnd_pairs(folder, source=args.corpus, split="test", n_walks=args.walks, n_trials=args.trials,
                       seconds=1.0, sample_rate=SR, seed=args.seed)
    return JNDPairDataset(folder)


def tables(results: dict, suffix: str = "") -> list:
    """The (a), (b), (c) tables of ``results`` as `earshot.report.Table` objects."""
    from earshot.report import Table

    a, b, c = results["a"], results["b"], results["c"]
    metrics = list(a["metrics"])
    rows_a = [[m, r["accuracy"], r.get("accuracy_head", "-"), r["auc"]] for m, r in a["metrics"].items()]
    rows_b = [[t] + [row.get(m, float("nan")) for m in metrics] for t, row in b.items()]
    rows_b.append(["mean"] + [float(np.nanmean([row.get(m, np.nan) for row in b.values()])) for m in metrics])
    rows_c = [[m, r["pesq"], r["stoi"]] for m, r in c["metrics"].items()]
    extra = []
    if "b_pooled" in results:
        bp = results["b_pooled"]
        rows_p = [[t] + [row.get(m, float("nan")) for m in metrics] for t, row in bp.items()]
        rows_p.append(["mean"] + [float(np.nanmean([row.get(m, np.nan) for row in bp.values()])) for m in metrics])
        extra = [Table(f"(b, pooled) Spearman(distance, strength) over all clips together{suffix}", ["type"] + metrics,
                       rows_p, "one ranking across clips: the distance's scale must also agree between signals")]
    return [
        Table(f"(a) held-out simulated-listener judgments{suffix}", ["metric", "accuracy (2-fold threshold)",
              "accuracy (own head)", "AUC"], rows_a,
              f"n={a['n']} judgments, 'different' rate {a['different_rate']:.2f}; labels from the SIMULATED listener. "
              f"Ceiling: the listener's own P(different) predicts its answers with accuracy "
              f"{a['oracle']['accuracy']:.3f} (AUC {a['oracle']['auc']:.3f}); its answers are noisy draws."),
        Table(f"(b) Spearman(distance, strength) per perturbation type{suffix}", ["type"] + metrics, rows_b,
              "per clip, averaged over clips; 1 = distance grows monotonically with strength"),
        *extra,
        Table(f"(c) Spearman(-distance, quality) over {c['n']} degraded held-out speech clips{suffix}",
              ["metric", "PESQ", "STOI"], rows_c, "higher = ranks degradations like PESQ / STOI"),
    ]


SHOWN = ("pink", "reverb", "mp3", "eq", "lowpass")  # varied types for the spectrogram figure


def write_examples(clean: torch.Tensor, perts: dict, out: Path, seed: int, strength: float = 0.5) -> list[str]:
    """``audio/clean.wav`` and ``audio/<type>-<strength>.wav``: the first clip of (b) under each perturbation;
    ``spectrograms.png``: the clean clip and the types of ``SHOWN`` (or the first five) among them.
    Returns the audio files written, relative to ``out``."""
    from earshot.audio.io import save
    from earshot.report.plots import spectrograms

    written = [save(out / "audio" / "clean.wav", clean, SR, overwrite=True)]
    shown = [n for n in SHOWN if n in perts] or list(perts)[:5]
    panels = [("clean", clean)]
    for name in perts:
        degraded = _perturb(clean, perts, name, strength, seed)
        written.append(save(out / "audio" / f"{name}-{strength:g}.wav", degraded, SR, overwrite=True))
        if name in shown:
            panels.append((f"{name} {strength:g}", degraded))
    (out / "spectrograms.png").write_bytes(spectrograms(panels, SR))
    return [w.relative_to(out).as_posix() for w in written]


def section(results: dict, out: Path):
    """The report `Section` of ``results``: the tables, the spectrograms and the audio examples."""
    from earshot.report import Clip, Figure, Section

    tabs = tables(results)
    if "cdpam_subset" in results:
        tabs += tables(results["cdpam_subset"], " -- CDPAM subset, every metric re-scored on it")
    intro = __doc__.split("\n\n")[1]
    if results.get("skipped"):
        intro += " Skipped: " + "; ".join(f"{k}: {v}" for k, v in results["skipped"].items()) + "."
    return Section("jnd", "Learned JND metric vs baselines", intro=intro, tables=tabs, results=results,
                   figures=[Figure("spectrograms", (out / "spectrograms.png").read_bytes())],
                   clips=[Clip(Path(w).stem, w) for w in results.get("examples", [])])


def run(cfg: JNDEval | None = None):
    """Run parts (a), (b), (c) (and the CDPAM subset); return the report `Section`."""
    from earshot.data.jnd import DEFAULT_PERTURBATIONS, perturbations

    args = cfg or JNDEval()  # (named args: the settings read like the command line)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    weights = list(args.weights)
    names = list(args.perturbations) or list(DEFAULT_PERTURBATIONS)
    scorers, skipped = build_scorers(weights, cdpam=args.cdpam)
    if not any(k.startswith("jnd:") for k in scorers):
        raise ConfigError(f"no JND weights could be loaded: {skipped}")
    cdpam = scorers.pop("cdpam", None)
    pairs = _pairs(args, out)
    log.info("(a) %d held-out judgments", len(pairs))
    results = {"weights": weights, "skipped": skipped, "judgments": pairs.manifest.get("judgments"),
               "a": part_a(pairs, scorers)}
    clips = _clips(args.corpus, max(args.clips, 8), args.seconds, args.seed)
    perts = perturbations(names, corpus=args.corpus, split="test")
    results["b"], results["b_pooled"] = part_b(clips[:args.clips], perts, args.strengths, scorers, args.seed)
    results["examples"] = write_examples(clips[0], perts, out, args.seed)
    results["c"] = part_c(clips, perts, args.degradations, scorers, args.seed + 1)
    if cdpam is not None:
        scorers["cdpam"] = cdpam
        log.info("CDPAM subset (slow)")
        results["cdpam_subset"] = {"a": part_a(_FirstWalks(pairs, args.cdpam_judgments), scorers),
                                   "b": part_b([clips[0][..., :SR]], perts, 3, scorers, args.seed)[0],
                                   "c": part_c(clips, perts, args.cdpam_degradations, scorers, args.seed + 1)}
    return section(results, out)


__all__ = ["JNDEval", "build_scorers", "distances", "part_a", "part_b", "part_c", "run", "section", "tables"]

"""Why a learned loss does or does not train better models than MR-STFT: what its gradient does.

For pairs ``(reference x, output y)`` -- real artefacts (the outputs of an experiment's models,
read from its ``examples.json``) and graded degradations of held-out speech (low-pass, white
noise, real MP3, reverb) -- and every loss ``L`` (L1, MR-STFT, mel, CodecLoss, JNDLoss):

- scale: ``|dL/dy|`` and its ratio to MR-STFT's (what a fixed loss weight multiplies);
- direction: the cosine of ``dL/dy`` with MR-STFT's gradient and with the error ``y - x``
  (positive: a gradient step moves ``y`` towards ``x``);
- where it looks: the share of the gradient's energy below 1 kHz, 1-4 kHz and above 4 kHz,
  beside the share of the error's energy there;
- for JNDLoss, which layers carry the distance and the gradient (waveform layer groups, the
  log-mel layer, the spectral convolutions), and its calibrated head's P(different) on each pair:
  a head at 1.0 on every artefact means the judgments it was trained on never came near these
  artefacts (saturated, out of the range it was calibrated on).

``run(GradientAnalysis(...)) -> Section``; the command is ``earshot experiment gradients``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from earshot.data.corpus import DEFAULT_CORPUS
from earshot.errors import EarshotError

BANDS = ((0.0, 1000.0), (1000.0, 4000.0), (4000.0, 8000.0))
DEGRADATIONS = (("low-pass", "lowpass", 0.7), ("white noise", "white", 0.5), ("mp3 16 kbps", "mp3", 16),
                ("reverb", "reverb", 0.5))
SAMPLE_RATE = 16000


@dataclass
class GradientAnalysis:
    """Settings of the gradient analysis."""

    corpus: str = DEFAULT_CORPUS       # corpus folder (held-out speech for the degradations)
    run_dirs: list[str] = field(default_factory=list)  # experiment output folders whose model outputs are analysed
    losses: list[str] = field(default_factory=lambda: ["l1", "mrstft", "mel", "codec", "jnd"])  # build_loss names
    clips: int = 4                     # held-out speech clips for the degradations
    seconds: float = 2.0
    jnd_weights: str = "jnd-sim-16k"   # JND network of the jnd loss (name or manifest path)
    out: str = "runs/gradients"
    seed: int = 0


def pairs(cfg: GradientAnalysis) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """``[(artefact, reference (1, 1, T), output (1, 1, T))]``: model outputs of ``run_dirs`` and
    degradations of held-out speech."""
    from earshot.audio.io import load
    from earshot.data.perturb import degrade
    from earshot.experiments.testsets import test_clips

    out = []
    for run_dir in map(Path, cfg.run_dirs):
        for label, e in json.loads((run_dir / "examples.json").read_text()).items():
            ref = load(run_dir / e["reference"], sample_rate=SAMPLE_RATE)[0][None]
            for variant, path in e["outputs"].items():
                y = load(run_dir / path, sample_rate=SAMPLE_RATE)[0][None]
                out.append((f"{run_dir.name}: {variant}", ref, y))
    clips = [a for group in test_clips(cfg.corpus, ["speech"], per_group=cfg.clips, seconds=cfg.seconds,
                                       sample_rate=SAMPLE_RATE).values() for _, _, a in group][:cfg.clips]
    for title, kind, amount in DEGRADATIONS:
        for i, x in enumerate(clips):
            out.append((title, x, degrade(x[0], SAMPLE_RATE, kind, amount, seed=cfg.seed + i)[None]))
    return out


def band_shares(signal: torch.Tensor) -> list[float]:
    """Share of ``signal``'s energy ``(samples,)`` in each of `BANDS` (sums to 1 over the bands)."""
    spec = torch.fft.rfft(signal.double().reshape(-1)).abs().square()
    freqs = torch.fft.rfftfreq(signal.numel(), 1 / SAMPLE_RATE)
    energy = [float(spec[(freqs >= lo) & (freqs < hi if hi < SAMPLE_RATE / 2 else freqs <= hi)].sum()) for lo, hi in BANDS]
    total = sum(energy) or 1.0
    return [e / total for e in energy]


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double().reshape(-1), b.double().reshape(-1)
    den = float(a.norm() * b.norm())
    return float(a @ b) / den if den > 0 else math.nan


def gradient(loss, x: torch.Tensor, y: torch.Tensor) -> tuple[float, torch.Tensor]:
    """``(L(y, x), dL/dy)`` for one pair ``(1, 1, T)``."""
    y = y.detach().clone().requires_grad_(True)
    value = loss(y, x.detach())
    (g,) = torch.autograd.grad(value, y)
    return float(value.detach()), g.detach()


def jnd_layers(net, x: torch.Tensor, y: torch.Tensor) -> dict:
    """Per layer group of a `JNDNet`: share of the distance and of the gradient norm, the cosine of the
    group's gradient with the error ``y - x`` and its energy share above 4 kHz; and P(different)."""
    y = y.detach().clone().requires_grad_(True)
    feats = net.features(torch.cat([y, x.detach()], 0))
    n_wave = len(net.wave.blocks)
    groups = {}
    for i, (w, f) in enumerate(zip(net.weights, feats)):
        third = min(2, 3 * i // n_wave)
        name = f"wave layers {third * n_wave // 3 + 1}-{(third + 1) * n_wave // 3}" if i < n_wave else (
            "log-mel" if i == n_wave else "spectral convs")
        term = ((f[:1] - f[1:]).abs() * w.abs()[None, :, None]).mean()
        groups.setdefault(name, []).append(term)
    error = (y - x).detach()
    values, norms, cos, high = {}, {}, {}, {}
    for k, v in groups.items():
        (g,) = torch.autograd.grad(sum(v), y, retain_graph=True)
        values[k], norms[k] = float(sum(v).detach()), float(g.norm())
        cos[k], high[k] = _cos(g, error), band_shares(g)[-1]
    with torch.no_grad():
        p = float(net(y.detach(), x.detach()).p_different[0])
    total_v, total_n = sum(values.values()) or 1.0, sum(norms.values()) or 1.0
    return {"value_share": {k: v / total_v for k, v in values.items()},
            "grad_share": {k: v / total_n for k, v in norms.items()}, "cos_error": cos, "above_4k": high,
            "p_different": p}


def analyse(cfg: GradientAnalysis) -> dict:
    """Every number of the analysis (see the module docstring), per artefact averaged over its pairs."""
    from earshot.losses.registry import build_loss

    losses, skipped = {}, {}
    for name in cfg.losses:
        try:
            extra = {"weights": cfg.jnd_weights} if name == "jnd" else {}
            losses[name] = build_loss(name, sample_rate=SAMPLE_RATE, **extra)
        except (EarshotError, ImportError) as exc:
            skipped[name] = str(exc)
    rows: dict = {}
    for artefact, x, y in pairs(cfg):
        grads = {n: gradient(loss, x, y) for n, loss in losses.items()}
        ref = grads.get("mrstft", (None, None))[1]
        error = (y - x).reshape(-1)
        entry = rows.setdefault(artefact, {"n": 0, "error_bands": [], "losses": {}, "jnd": []})
        entry["n"] += 1
        entry["error_bands"].append(band_shares(error))
        for n, (value, g) in grads.items():
            r = entry["losses"].setdefault(n, {"value": [], "norm": [], "cos_mrstft": [], "cos_error": [], "bands": []})
            r["value"].append(value)
            r["norm"].append(float(g.norm()))
            r["cos_mrstft"].append(_cos(g, ref) if ref is not None else math.nan)
            r["cos_error"].append(_cos(g, error))
            r["bands"].append(band_shares(g))
        if "jnd" in losses:
            entry["jnd"].append(jnd_layers(losses["jnd"].net, x, y))
    return {"rows": {a: _mean_entry(e) for a, e in rows.items()}, "skipped": skipped}


def _mean_entry(e: dict) -> dict:
    mean = lambda v: float(np.nanmean(np.asarray(v, dtype=float), axis=0)) if v else math.nan  # noqa: E731
    out = {"pairs": e["n"], "error_bands": np.mean(e["error_bands"], axis=0).tolist(), "losses": {}}
    for n, r in e["losses"].items():
        out["losses"][n] = {k: (np.mean(v, axis=0).tolist() if k == "bands" else mean(v)) for k, v in r.items()}
    if e["jnd"]:
        for part in ("value_share", "grad_share", "cos_error", "above_4k"):
            out[f"jnd_{part}"] = {k: mean([d[part][k] for d in e["jnd"]]) for k in e["jnd"][0][part]}
        out["jnd_p_different"] = mean([d["p_different"] for d in e["jnd"]])
    return out


def tables(result: dict) -> list:
    """The analysis as report tables: gradients per artefact and loss; JNDLoss layers and head."""
    from earshot.report import Table

    rows, layer_rows = [], []
    for artefact, e in result["rows"].items():
        base = e["losses"].get("mrstft", {}).get("norm", math.nan)
        err = " / ".join(f"{100 * b:.0f}" for b in e["error_bands"])
        for n, r in e["losses"].items():
            bands = " / ".join(f"{100 * b:.0f}" for b in r["bands"])
            rows.append([artefact, n, r["value"], r["norm"], r["norm"] / base if base else math.nan, r["cos_mrstft"],
                         r["cos_error"], bands, err])
        if "jnd_grad_share" in e:
            layer_rows.append([artefact, e["jnd_p_different"],
                               *(f"{100 * e['jnd_value_share'][k]:.0f} / {100 * e['jnd_grad_share'][k]:.0f} / "
                                 f"{e['jnd_cos_error'][k]:+.3f} / {100 * e['jnd_above_4k'][k]:.0f}"
                                 for k in e["jnd_grad_share"])])
    out = [Table("Loss gradients on each artefact (mean over its pairs)",
                 ["artefact", "loss", "value", "|dL/dy|", "ratio to MR-STFT", "cos with MR-STFT grad",
                  "cos with error y-x", "grad energy % <1k / 1-4k / >4k Hz", "error energy % (same bands)"], rows,
                 "A gradient step moves y along -dL/dy: a positive cosine with the error y - x moves y towards x. "
                 "The band shares say where in frequency a loss pushes, beside where the error is.")]
    if layer_rows:
        keys = list(next(e for e in result["rows"].values() if "jnd_grad_share" in e)["jnd_grad_share"])
        out.append(Table("JNDLoss: which layers carry the distance and the gradient; the head's P(different)",
                         ["artefact", "P(different)", *(f"{k}: % dist / % grad / cos(grad, error) / % grad >4k"
                                                         for k in keys)], layer_rows,
                         "P(different) near 1 on every artefact: the calibrated head is saturated there (the "
                         "simulated-listener judgments it was fitted on rarely reach artefacts this large); the loss "
                         "uses the distance, not the head, so saturation does not flatten its gradient."))
    return out


def run(cfg: GradientAnalysis | None = None):
    """Run :func:`analyse`; return the report `Section`."""
    from earshot.experiments.testsets import require_corpus
    from earshot.report import Section

    cfg = cfg or GradientAnalysis()
    require_corpus(cfg.corpus)
    torch.manual_seed(cfg.seed)
    result = analyse(cfg)
    intro = __doc__.split("\n\n")[1] + f" JND network: {cfg.jnd_weights}."
    if result["skipped"]:
        intro += " Skipped: " + "; ".join(f"{k} ({v})" for k, v in result["skipped"].items()) + "."
    return Section("gradients", "What the losses' gradients do", intro=intro, tables=tables(result), results=result)


__all__ = ["GradientAnalysis", "analyse", "band_shares", "gradient", "jnd_layers", "pairs", "run", "tables"]

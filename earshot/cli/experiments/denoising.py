"""`earshot experiment denoising`: DPAM's use as a loss -- one small denoiser per training loss.

Trains the ``denoiser`` recipe (`earshot.train.recipes.denoiser`) on corpus speech + noise with
each loss in ``--losses`` (default: L1, MR-STFT, JNDLoss, L1 + JNDLoss), the same steps, batch
and seed for all, then scores every model and the noisy input on held-out (test split) mixtures
with PESQ (wide band), STOI, SI-SDR and the JND distance. Writes ``metrics.json``,
``results.md`` and an HTML ``report.html`` (+ ``results.json``) under ``--out``.

    earshot experiment denoising --steps 300 --out runs/denoising
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import torch

from earshot.errors import ConfigError
from earshot.data.corpus import DEFAULT_CORPUS

log = logging.getLogger("earshot.denoising")
DEFAULT_LOSSES = "l1,mrstft,jnd,l1+jnd"


def register(subparsers) -> None:
    p = subparsers.add_parser("denoising", help="train a small denoiser with L1 / MR-STFT / JNDLoss and compare",
                              description=__doc__)
    p.add_argument("--corpus", default=DEFAULT_CORPUS, help="corpus folder (speech + noise)")
    p.add_argument("--out", default="runs/denoising", help="output folder")
    p.add_argument("--losses", default=DEFAULT_LOSSES, help=f"comma-separated variants (default {DEFAULT_LOSSES})")
    p.add_argument("--steps", type=int, default=300, help="optimiser steps per variant")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--jnd-weight", type=float, default=0.03,
                   help="weight of the JND term in l1+jnd (0.03: both terms about equal on noisy input)")
    p.add_argument("--jnd-weights", default="jnd-sim-16k", help="shipped JND weights used as the loss and metric")
    p.add_argument("--seconds", type=float, default=1.0, help="training excerpt length")
    p.add_argument("--test-items", type=int, default=24)
    p.add_argument("--test-seconds", type=float, default=3.0)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def parse_variant(spec: str, jnd_weight: float) -> dict[str, float]:
    """``"l1+jnd"`` -> ``{"l1": 1.0, "jnd": jnd_weight}``; ``"0.5*mrstft"`` -> ``{"mrstft": 0.5}``."""
    weights = {}
    for part in spec.split("+"):
        w, _, name = part.strip().rpartition("*")
        name = name.strip()
        if name not in ("l1", "mrstft", "jnd"):
            raise ConfigError(f"unknown loss {name!r} in variant {spec!r}; use l1, mrstft, jnd")
        default = jnd_weight if (name == "jnd" and "+" in spec) else 1.0
        weights[name] = float(w) if w else default
    return weights


def train_variant(name: str, weights: dict, args, out: Path):
    from earshot.train.config import build_config
    from earshot.train.engine import train
    from earshot.train.recipe import get_recipe

    recipe = get_recipe("denoiser")
    overrides = {
        "train.steps": str(args.steps), "train.batch_size": str(args.batch_size), "train.seed": str(args.seed),
        "train.val_every": "0", "train.ckpt_every": "0", "train.tensorboard": "false",
        "train.loss_weights": json.dumps(weights), "recipe.corpus": args.corpus,
        "recipe.seconds": str(args.seconds), "recipe.jnd_weights": args.jnd_weights, "recipe.seed": str(args.seed),
    }
    cfg = build_config("denoiser", recipe.config_class, train_defaults=recipe.train_defaults, overrides=overrides)
    start = time.perf_counter()
    result = train(cfg, out / name)
    return result.models["model"].eval(), time.perf_counter() - start


def evaluate(models: dict, args) -> dict:
    """Score each model (and the noisy input) on ``--test-items`` held-out mixtures."""
    from earshot.metrics import pesq, si_sdr, stoi
    from earshot.metrics.jnd import jnd_distance
    from earshot.train.recipes.denoiser import NoisySpeech

    sr = 16000
    data = NoisySpeech(args.corpus, split="test", seconds=args.test_seconds, sample_rate=sr, seed=args.seed + 1000,
                       vary=False, items=args.test_items)
    n = min(args.test_items, len(data))
    items = [data[i] for i in range(n)]
    clean = torch.stack([it["clean"] for it in items])
    noisy = torch.stack([it["noisy"] for it in items])
    rows = {}
    for name, model in [("noisy input", None), *models.items()]:
        with torch.no_grad():
            est = noisy if model is None else torch.cat([model(noisy[i:i + 4]) for i in range(0, n, 4)])
        scores = {"pesq": pesq(est, clean, sr), "stoi": stoi(est, clean, sr), "si_sdr": si_sdr(est, clean),
                  "jnd": jnd_distance(est, clean, sr, weights=args.jnd_weights)}
        rows[name] = {k: float(torch.nanmean(v.float())) for k, v in scores.items()}
        log.info("%s: %s", name, rows[name])
    return {"items": n, "seconds": args.test_seconds, "rows": rows}


def table(results: dict):
    """The results table as an `earshot.report.Table`."""
    from earshot.report import Table

    rows = [[name, r["pesq"], r["stoi"], r["si_sdr"], r["jnd"], results["train_seconds"].get(name, "-")]
            for name, r in results["eval"]["rows"].items()]
    return Table(f"Denoising with each training loss ({results['steps']} steps each, batch {results['batch_size']})",
                 ["model", "PESQ (wb)", "STOI", "SI-SDR (dB)", "JND distance", "train wall s"], rows,
                 f"{results['eval']['items']} held-out mixtures of {results['eval']['seconds']} s; higher PESQ/STOI/"
                 f"SI-SDR and lower JND distance ({results['jnd_weights']}) are better")


def write_outputs(results: dict, out: Path) -> str:
    """``metrics.json`` (raw), ``results.md``, ``report.html`` + ``results.json``; returns the markdown."""
    from earshot.report import Section, write_report

    t = table(results)

    def cell(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)
    lines = [f"### {t.title}", "", t.notes, "", "| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in t.rows]
    text = "\n".join(lines) + "\n"
    (out / "metrics.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "results.md").write_text(text)
    write_report([Section("denoising", "Denoising experiment", intro=__doc__.split("\n\n")[1], tables=[t],
                          results=results)], out, title="earshot experiment denoising")
    return text


def run(args) -> int:
    out = Path(args.out)
    variants = [v.strip() for v in args.losses.split(",") if v.strip()]
    specs = {v: parse_variant(v, args.jnd_weight) for v in variants}
    if not (Path(args.corpus) / "manifest.json").exists() and not Path(args.corpus).is_dir():
        raise ConfigError(f"corpus {args.corpus} not found; build it with `earshot corpus build`")
    out.mkdir(parents=True, exist_ok=True)
    models, seconds = {}, {}
    for v, weights in specs.items():
        print(f"training denoiser with {v} ({weights}), {args.steps} steps", file=sys.stderr)
        models[v], seconds[v] = train_variant(v.replace("+", "_plus_").replace("*", "x"), weights, args, out)
    results = {"steps": args.steps, "batch_size": args.batch_size, "variants": specs, "train_seconds": seconds,
               "jnd_weights": args.jnd_weights, "eval": evaluate(models, args)}
    print(write_outputs(results, out))
    return 0

"""Training throughput of every recipe: steps/s, seconds of audio per second, and where the time goes.

    python benchmarks/training.py --device cuda --steps 50 --json train.json     # recipe sizes, bf16-mixed
    python benchmarks/training.py --device cpu --steps 8 --size tiny             # a quick CPU table
    python benchmarks/training.py --recipes codec separator --batch-size 64      # some recipes, bigger batches

Each recipe trains ``--steps`` optimiser steps through the real engine (``earshot.train``) with
``train.profile=true``: every step logs its time (the GPU synchronised at its end) and the part
of it spent waiting for the next batch and copying it to the device (``time/data``). The first
fifth of the steps (at least one) is warm-up and left out. Columns:

- ``steps/s``: optimiser steps per second (GAN recipes include their discriminator steps);
- ``audio s/s``: seconds of training audio consumed per second of wall time (batch x
  accumulation x discriminator-and-generator batches x seconds per item);
- ``data %``: share of the step time spent waiting for data: near 0 means compute-bound.

The data are written by this script (tones and noise; JND pairs from white-noise and low-pass
walks), so it needs no corpus tools. ``--size recipe`` (default) keeps each recipe's model and
batch settings from its config; ``--size tiny`` uses the CI test sizes. Not a test: nothing
asserts a time. ``--json PATH`` writes the rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SR = 16000
# the CI test sizes (tests/train/test_precision.py), for --size tiny
TINY = {
    "toy": {"recipe.train_items": 64},
    "autoencoder": {"recipe.layers": 4, "recipe.filters": 4},
    "codec": {"recipe.channels": 2, "recipe.dim": 4, "recipe.n_quantizers": 2, "recipe.codebook_size": 8,
              "recipe.wave_channels": 2, "recipe.wave_max_channels": 4, "recipe.stft_channels": 2,
              "recipe.valid_kbps": 0.2},
    "denoiser": {"recipe.hidden": 8, "recipe.layers": 1},
    "emulator": {"recipe.base_filters": 4},
    "jnd": {"recipe.layers": 6, "recipe.widths": "[4, 8]", "recipe.n_mels": 16, "recipe.spec_layers": 1,
            "recipe.spec_channels": 4},
    "separator": {"recipe.channels": 4, "recipe.depth": 2, "recipe.critic_channels": 4, "recipe.critic_layers": 2},
    "style-ae": {"recipe.channels": "[8, 4]"},
}


def write_corpus(root: Path, seconds: float = 2.0, train_files: int = 32) -> Path:
    """Speech-like, music-like and noise files (``train_files`` train, 1 valid, 1 test per kind), with a manifest."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SR)) / SR
    items = []
    for kind in ("speech", "music", "noise"):
        (root / kind).mkdir(parents=True, exist_ok=True)
        for i, split in enumerate(["train"] * train_files + ["valid", "test"]):
            if kind == "speech":
                f0 = rng.uniform(110, 220) * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))
                phase = 2 * np.pi * np.cumsum(f0) / SR
                x = sum(np.sin(h * phase) / h for h in range(1, 8)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) ** 2
            elif kind == "music":
                root_hz = rng.uniform(200, 400)
                x = sum(np.sin(2 * np.pi * root_hz * r * t) for r in (1.0, 1.25, 1.5))
            else:
                x = np.cumsum(rng.standard_normal(t.size)) * 0.02
                x = x - np.convolve(x, np.ones(400) / 400, mode="same")
            x = 0.3 * x / (np.abs(x).max() + 1e-9)
            path = f"{kind}/{kind}-{i}.wav"
            sf.write(root / path, x.astype(np.float32), SR)
            items.append({"path": path, "kind": kind, "split": split, "duration": seconds, "params": {}})
    (root / "manifest.json").write_text(json.dumps({"format": "earshot-corpus", "sample_rate": SR, "items": items}))
    return root


def write_pairs(root: Path) -> Path:
    from earshot.data.jnd import WalkConfig, make_jnd_pairs

    t = torch.arange(SR) / SR
    clips = [(0.2 * torch.sin(2 * math.pi * f * t))[None] for f in (200.0, 330.0, 450.0)]
    cfg = WalkConfig(perturbations=("white", "lowpass"), n_levels=16)
    for split, seed in (("train", 0), ("valid", 1)):
        make_jnd_pairs(root / split, source=clips, n_walks=6, n_trials=8, seconds=1.0, seed=seed,
                       walk_config=cfg, progress=False)
    return root


def recipe_config(name: str, data: dict, args) -> "object":
    from earshot.train.config import build_config
    from earshot.train.recipe import get_recipe

    cls = get_recipe(name)
    items = {"train.steps": args.steps, "train.accelerator": args.device, "train.precision": args.precision,
             "train.profile": "true", "train.log_every": 1, "train.val_every": 0, "train.ckpt_every": 0,
             "train.val_batches": 1, "train.num_examples": 0, "train.progress": "false",
             "train.tensorboard": "false", "train.num_workers": args.workers, "train.compile": args.compile}
    fields = {f for f in cls.config_class.__dataclass_fields__}
    if "corpus" in fields:
        items["recipe.corpus"] = data["corpus"]
    if name == "jnd":
        items |= {"recipe.pairs": f"{data['pairs']}/train", "recipe.valid_pairs": f"{data['pairs']}/valid"}
    if args.size == "tiny":
        items |= TINY.get(name, {})
    if args.batch_size:
        items["train.batch_size"] = args.batch_size
    return build_config(name, cls.config_class, train_defaults=cls.train_defaults,
                        overrides={k: str(v) for k, v in items.items()})


def item_seconds(recipe) -> float:
    """Seconds of audio in one training item (its first audio tensor)."""
    item = recipe.datasets()[0][0]
    values = item.values() if isinstance(item, dict) else (item if isinstance(item, (list, tuple)) else [item])
    for v in values:
        if torch.is_tensor(v) and v.dim() >= 1 and v.shape[-1] > 100:
            return v.shape[-1] / float(recipe.sample_rate or SR)
    return float("nan")


def bench_recipe(name: str, data: dict, args, out: Path) -> dict:
    from earshot.train.engine import train
    from earshot.train.recipe import get_recipe

    cfg = recipe_config(name, data, args)
    run_dir = out / name
    result = train(cfg, run_dir)
    with open(run_dir / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "train"]
    series = {k: [float(r["value"]) for r in rows if r["name"] == k] for k in ("time/step", "time/data")}
    skip = max(1, len(series["time/step"]) // 5)
    step_s = statistics.mean(series["time/step"][skip:] or series["time/step"])
    data_s = statistics.mean(series["time/data"][skip:] or series["time/data"])
    t = cfg.train
    disc = t.disc_steps if "discriminator" in result.models and t.adversary_start < t.steps else 0
    batches = t.accumulate + disc
    seconds = item_seconds(get_recipe(name)(cfg.recipe, t, run_dir))
    return {"recipe": name, "device": args.device, "precision": args.precision, "size": args.size,
            "batch_size": t.batch_size, "batches_per_step": batches, "item_seconds": round(seconds, 4),
            "workers": t.num_workers, "steps": result.step, "step_ms": 1000 * step_s,
            "steps_per_s": 1.0 / step_s, "audio_s_per_s": t.batch_size * batches * seconds / step_s,
            "data_fraction": data_s / step_s}


def table(rows: list[dict]) -> str:
    head = "| recipe | batch | step ms | steps/s | audio s/s | data % |\n|---|---:|---:|---:|---:|---:|"
    lines = [f"| {r['recipe']} | {r['batch_size']}x{r['batches_per_step']} | {r['step_ms']:.1f} | "
             f"{r['steps_per_s']:.2f} | {r['audio_s_per_s']:.1f} | {100 * r['data_fraction']:.0f} |" for r in rows]
    return "\n".join([head, *lines])


def main(argv=None) -> int:
    from earshot.train.recipe import discover_recipes

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", choices=["cpu", "cuda"], default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--precision", default="auto", help="auto (bf16-mixed on CUDA, 32-true on CPU) | 32-true | bf16-mixed | 16-mixed")
    p.add_argument("--size", choices=["recipe", "tiny"], default="recipe")
    p.add_argument("--batch-size", type=int, default=0, help="per-step batch (0: each recipe's own)")
    p.add_argument("--workers", type=int, default=-1, help="DataLoader workers (-1: the engine's auto choice)")
    p.add_argument("--compile", action="store_true", help="train.compile=true")
    p.add_argument("--recipes", nargs="*", default=None, help="default: every registered recipe")
    p.add_argument("--json", metavar="PATH", help="write the rows as JSON")
    args = p.parse_args(argv)
    if args.precision == "auto":
        args.precision = "bf16-mixed" if args.device == "cuda" else "32-true"
    names = args.recipes or discover_recipes()
    rows, failed = [], {}
    with tempfile.TemporaryDirectory(prefix="earshot-bench-train-") as tmp:
        tmp = Path(tmp)
        data = {"corpus": str(write_corpus(tmp / "corpus")), "pairs": str(write_pairs(tmp / "pairs"))}
        for name in names:
            try:
                rows.append(bench_recipe(name, data, args, tmp / "runs"))
                print(f"{name}: {rows[-1]['steps_per_s']:.2f} steps/s", file=sys.stderr, flush=True)
            except Exception as exc:  # report and go on: one recipe's failure must not hide the others
                failed[name] = f"{type(exc).__name__}: {exc}"
                print(f"{name}: FAILED {failed[name]}", file=sys.stderr, flush=True)
    print(f"training throughput, {args.device}, {args.precision}, size {args.size}, {args.steps} steps\n")
    print(table(rows))
    for name, why in failed.items():
        print(f"\n{name}: FAILED {why}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "failed": failed}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

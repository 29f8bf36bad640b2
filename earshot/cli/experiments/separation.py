"""`earshot experiment separation`: supervised-only vs semi-supervised adversarial separation.

Trains the ``separator`` recipe twice on the corpus speech-over-music task (same paired data,
same number of separator updates, batch, learning rate and seed), the second time with the
unlabelled mixtures, unpaired solo sources and per-source WGAN-GP critics, then scores both
on held-out test mixtures: BSS-eval v4 SDR/SIR/SAR (framewise median and mean) and SI-SDR per
source. Writes ``results.json``, ``results.md`` and audio examples under ``--out``.

    OMP_NUM_THREADS=1 earshot experiment separation --out runs/separation [--steps 200]

The default budget is about 10 minutes of one CPU thread; ``--steps`` scales it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from earshot.errors import ConfigError


def register(subparsers) -> None:
    from earshot.experiments.separation import ExperimentConfig

    d = ExperimentConfig()
    p = subparsers.add_parser("separation", help="supervised vs semi-supervised adversarial source separation",
                              description=__doc__)
    p.add_argument("--corpus", default=d.corpus, help="corpus folder (speech + music)")
    p.add_argument("--out", default=d.out, help="output folder")
    p.add_argument("--modes", default=",".join(d.modes), help="comma-separated: supervised, semi, unsupervised")
    p.add_argument("--steps", type=int, default=d.steps, help="separator updates per mode")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate (paper: 5e-5)")
    p.add_argument("--disc-lr", type=float, default=d.disc_lr, help="critics' learning rate")
    p.add_argument("--disc-steps", type=int, default=d.disc_steps, help="critic updates per separator update")
    p.add_argument("--alpha", type=float, default=d.alpha, help="weight of the adversarial term")
    p.add_argument("--beta", type=float, default=d.beta, help="weight of the additivity term")
    p.add_argument("--channels", type=int, default=d.channels, help="U-Net filters at the first level")
    p.add_argument("--kind", choices=("direct", "mask"), default=d.kind)
    p.add_argument("--paired-items", type=int, default=d.paired_items, help="size of the fixed labelled set")
    p.add_argument("--test-items", type=int, default=d.test_items)
    p.add_argument("--test-seconds", type=float, default=d.test_seconds)
    p.add_argument("--wiener", type=int, default=d.wiener_iterations, help="Wiener iterations at test time")
    p.add_argument("--seed", type=int, default=d.seed)
    p.set_defaults(func=run)


def run(args) -> int:
    from earshot.experiments.separation import ExperimentConfig, markdown, run_experiment

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in ("supervised", "semi", "unsupervised")]
    if bad or not modes:
        raise ConfigError(f"--modes {args.modes!r}: use supervised, semi and/or unsupervised")
    if not (Path(args.corpus) / "manifest.json").is_file():
        raise ConfigError(f"corpus {args.corpus} not found; build it with `earshot corpus build`")
    cfg = ExperimentConfig(
        corpus=args.corpus, out=args.out, modes=modes, steps=args.steps, batch_size=args.batch_size, lr=args.lr, disc_lr=args.disc_lr,
        disc_steps=args.disc_steps, alpha=args.alpha, beta=args.beta, channels=args.channels, kind=args.kind,
        paired_items=args.paired_items, test_items=args.test_items, test_seconds=args.test_seconds,
        wiener_iterations=args.wiener, seed=args.seed)
    results = run_experiment(cfg)
    print(markdown(results))
    print(f"wrote {Path(args.out) / 'results.md'}, results.json and examples/", file=sys.stderr)
    return 0

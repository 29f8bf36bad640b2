"""`earshot explain REF DEG`: draw what each loss hears (its gradient w.r.t. the degraded clip)."""

from __future__ import annotations

from pathlib import Path

from earshot.audio import load
from earshot.errors import ConfigError

DEFAULT_LOSSES = "l1,mrstft,mel"


def register(subparsers) -> None:
    p = subparsers.add_parser("explain", help="draw each loss's gradient w.r.t. a degraded clip")
    p.add_argument("reference", type=Path, help="clean reference audio file")
    p.add_argument("degraded", type=Path, help="degraded audio file (same content)")
    p.add_argument("--losses", default=DEFAULT_LOSSES,
                   help=f"comma-separated loss names from the registry (default: {DEFAULT_LOSSES})")
    p.add_argument("--sample-rate", type=int, default=16000, help="rate both files are resampled to")
    p.add_argument("--out", type=Path, default=Path("explain.png"), help="PNG to write")
    p.set_defaults(func=run)


def run(args) -> int:
    from earshot.losses.registry import build_loss
    from earshot.report.explain import gradient_heatmaps, loss_gradients

    if args.out.exists():
        raise ConfigError(f"{args.out} exists; choose another --out")
    ref, _ = load(args.reference, sample_rate=args.sample_rate, mono=True)
    deg, _ = load(args.degraded, sample_rate=args.sample_rate, mono=True)
    n = min(ref.shape[-1], deg.shape[-1])
    ref, deg = ref[None, :, :n], deg[None, :, :n]
    names = [n.strip() for n in args.losses.split(",") if n.strip()]
    losses = {name: build_loss(name, sample_rate=args.sample_rate) for name in names}
    grads = loss_gradients(ref, deg, losses)
    args.out.write_bytes(gradient_heatmaps(ref, deg, grads, args.sample_rate, title=args.degraded.name))
    for g in grads:
        print(f"{g.name:>12s}  loss {g.value:.4g}  |grad| peak {float(g.gradient.abs().max()):.3g}")
    print(f"wrote {args.out}")
    return 0

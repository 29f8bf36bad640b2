"""`earshot explain DEG REF`: draw what each loss hears (its gradient w.r.t. the degraded clip).

Estimate first, reference second, as for every loss, metric and `earshot score`."""

from __future__ import annotations

from pathlib import Path

from earshot.cli.common import (add_device_option, add_writing_options, check_output, examples, resolve_device,
                                split_list)

DEFAULT_LOSSES = ["l1", "mrstft", "mel"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "explain", help="draw each loss's gradient w.r.t. a degraded clip",
        description="Draw, for each loss, the spectrogram of its gradient with respect to the degraded clip: "
                    "where in time and frequency the loss would push a model. Both files are mixed to mono, "
                    "resampled to --sample-rate and cut to the shorter length.",
        epilog=examples("earshot explain decoded.wav clean.wav",
                        "earshot explain decoded.wav clean.wav --losses l1 mrstft codec jnd --out explain.png"))
    p.add_argument("degraded", type=Path, help="degraded audio file (the estimate; its gradient is drawn)")
    p.add_argument("reference", type=Path, help="clean reference audio file (same content)")
    p.add_argument("--losses", nargs="+", default=DEFAULT_LOSSES, metavar="LOSS",
                   help="loss names from the registry, space-separated")
    p.add_argument("--sample-rate", type=int, default=16000, help="rate both files are resampled to (Hz)")
    p.add_argument("-o", "--out", type=Path, default=Path("explain.png"), help="PNG file to write")
    add_device_option(p)
    add_writing_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from earshot.audio import load
    from earshot.losses.registry import build_loss
    from earshot.report.explain import gradient_heatmaps, loss_gradients

    check_output(args.out, [args.degraded, args.reference], overwrite=args.overwrite)
    device = resolve_device(args.device)
    ref, _ = load(args.reference, sample_rate=args.sample_rate, mono=True)
    deg, _ = load(args.degraded, sample_rate=args.sample_rate, mono=True)
    n = min(ref.shape[-1], deg.shape[-1])
    ref, deg = ref[None, :, :n], deg[None, :, :n]
    losses = {name: build_loss(name, sample_rate=args.sample_rate).to(device) for name in split_list(args.losses)}
    grads = loss_gradients(ref.to(device), deg.to(device), losses)
    for g in grads:
        g.gradient = g.gradient.cpu()
        if not args.quiet:
            print(f"{g.name:>12s}  loss {g.value:.4g}  |grad| peak {float(g.gradient.abs().max()):.3g}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(gradient_heatmaps(ref, deg, grads, args.sample_rate, title=args.degraded.name))
    print(f"wrote {args.out}")
    return 0

"""`earshot style CONTENT STYLE OUT`: style transfer or texture synthesis with deep features."""

from __future__ import annotations

from pathlib import Path

from earshot.audio import load, save
from earshot.cli.common import refuse_overwrite_input
from earshot.errors import ConfigError


def register(subparsers) -> None:
    p = subparsers.add_parser("style", help="transfer the style of one clip onto another (or synthesise a texture)")
    p.add_argument("content", type=Path, help="content audio (ignored with --texture; pass '-' then)")
    p.add_argument("style", type=Path, help="style audio")
    p.add_argument("out", type=Path, help="output audio file (never an input; never replaced)")
    p.add_argument("--features", default="ae", choices=["ae", "random", "emulator", "jnd"],
                   help="feature network (default: ae, the shipped spectrogram autoencoder)")
    p.add_argument("--method", default="spectrogram", choices=["spectrogram", "waveform"],
                   help="optimise a spectrogram then Griffin-Lim, or the waveform through the STFT")
    p.add_argument("--content-weight", type=float, default=1.0)
    p.add_argument("--style-weight", type=float, default=10.0)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--optimizer", default="adam", choices=["adam", "lbfgs"])
    p.add_argument("--texture", action="store_true", help="style only, starting from noise")
    p.add_argument("--seconds", type=float, default=None, help="output length with --texture")
    p.add_argument("--sample-rate", type=int, default=16000)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args) -> int:
    from earshot.style.transfer import TransferSettings, transfer

    inputs = [args.style] + ([] if args.texture else [args.content])
    refuse_overwrite_input(inputs, args.out)
    if args.out.exists():
        raise ConfigError(f"{args.out} exists; refusing to write over it")
    style, _ = load(args.style, sample_rate=args.sample_rate, mono=True)
    content = None if args.texture else load(args.content, sample_rate=args.sample_rate, mono=True)[0]
    settings = TransferSettings(content_weight=args.content_weight, style_weight=args.style_weight,
                                steps=args.steps, optimizer=args.optimizer)
    result = transfer(content, style, args.sample_rate, features=args.features, method=args.method,
                      texture=args.texture, seconds=args.seconds, settings=settings, seed=args.seed)
    save(args.out, result.audio, args.sample_rate)
    step, total, content_d, style_d = result.history[-1]
    print(f"wrote {args.out} in {result.seconds:.1f} s (final loss {total:.4f}: content {content_d:.4f}, style {style_d:.4f})")
    return 0

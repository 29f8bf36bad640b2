"""`earshot style CONTENT STYLE OUT`: style transfer or texture synthesis with deep features."""

from __future__ import annotations

from pathlib import Path

from earshot.cli.common import (add_device_option, add_writing_options, check_output, examples, resolve_device,
                                say, show_progress)
from earshot.errors import ConfigError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "style", help="transfer the style of one clip onto another (or synthesise a texture)",
        description="Optimise a clip whose deep features keep CONTENT's content (feature maps) and take "
                    "STYLE's style (Gram matrices), then write it to OUT at --sample-rate. With --texture "
                    "there is no content: the output starts from noise and matches the style only.",
        epilog=examples("earshot style speech.wav cello.wav out.wav",
                        "earshot style - rain.wav rain-texture.wav --texture --seconds 5",
                        "earshot style speech.wav cello.wav out.wav --features jnd --method waveform --steps 500"))
    p.add_argument("content", type=Path, help="content audio file ('-' with --texture, which has no content)")
    p.add_argument("style", type=Path, help="style audio file")
    p.add_argument("out", type=Path, help="output audio file (never an input)")
    p.add_argument("--features", default="ae", choices=["ae", "random", "emulator", "jnd"],
                   help="feature network (ae: the shipped spectrogram autoencoder)")
    p.add_argument("--method", default="spectrogram", choices=["spectrogram", "waveform"],
                   help="optimise a spectrogram then Griffin-Lim, or the waveform through the STFT")
    p.add_argument("--content-weight", type=float, default=1.0, help="weight of the content distance")
    p.add_argument("--style-weight", type=float, default=10.0, help="weight of the style (Gram) distance")
    p.add_argument("--steps", type=int, default=200, help="optimiser steps")
    p.add_argument("--optimizer", default="adam", choices=["adam", "lbfgs"], help="optimiser")
    p.add_argument("--texture", action="store_true", help="style only, starting from noise")
    p.add_argument("--seconds", type=float, default=None,
                   help="output length with --texture (default: the style clip's length)")
    p.add_argument("--sample-rate", type=int, default=16000, help="rate the clips are resampled to and written at (Hz)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random feature net and the initial noise")
    add_device_option(p)
    add_writing_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from earshot.audio import load, save
    from earshot.losses.style_features import feature_extractor
    from earshot.style.transfer import TransferSettings, transfer

    inputs = [args.style] + ([] if args.texture else [args.content])
    check_output(args.out, inputs, overwrite=args.overwrite)
    device = resolve_device(args.device)
    if args.texture and device.type != "cpu":
        raise ConfigError("--texture draws its starting noise on the CPU; use --device cpu for textures")
    style, _ = load(args.style, sample_rate=args.sample_rate, mono=True)
    content = None if args.texture else load(args.content, sample_rate=args.sample_rate, mono=True)[0].to(device)
    net = feature_extractor(args.features, sample_rate=args.sample_rate, seed=args.seed).to(device)
    if args.method == "spectrogram" and not net.works_on_spectrograms:
        raise ConfigError(f"--features {args.features} reads waveforms; use --method waveform")
    settings = TransferSettings(content_weight=args.content_weight, style_weight=args.style_weight,
                                steps=args.steps, optimizer=args.optimizer)
    result = transfer(content, style.to(device), args.sample_rate, features=net, method=args.method,
                      texture=args.texture, seconds=args.seconds, settings=settings, seed=args.seed,
                      progress=show_progress(args))
    save(args.out, result.audio.cpu(), args.sample_rate, overwrite=args.overwrite)
    step, total, content_d, style_d = result.history[-1]
    say(args, f"final loss {total:.4f}: content {content_d:.4f}, style {style_d:.4f}")
    print(f"wrote {args.out} in {result.seconds:.1f} s")
    return 0

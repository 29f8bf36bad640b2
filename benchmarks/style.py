"""Seconds to style-transfer a 5 s clip on 2 CPU threads, per feature network and method.

    python benchmarks/style.py [--quick]

No peer library does audio style transfer with these methods, so the table reports absolute
seconds against the issue's target (under 60 s for the default: ``ae`` + ``spectrogram``).
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from earshot.style.transfer import TransferSettings, transfer

SR = 16000


def clip(seconds: float, f0: float, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * SR)) / SR
    voiced = sum(torch.sin(2 * math.pi * f0 * k * t) / k for k in range(1, 8))
    return (0.3 * voiced * (0.6 + 0.4 * torch.sin(2 * math.pi * 3 * t)) + 0.01 * torch.randn(t.shape, generator=g))[None]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer steps (timings scaled to the default)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    default_steps = 200
    steps = 20 if args.quick else default_steps
    content, style = clip(5.0, 130, 0), clip(5.0, 310, 1)
    print(f"5 s clip at {SR} Hz, {args.threads} threads, {default_steps} steps"
          + (f" (measured over {steps}, scaled)" if args.quick else ""))
    print(f"{'features':>9s} {'method':>12s} {'seconds':>9s} {'target':>8s}")
    for features, method in [("ae", "spectrogram"), ("ae", "waveform"), ("random", "spectrogram"), ("random", "waveform")]:
        start = time.perf_counter()
        transfer(content, style, SR, features=features, method=method, settings=TransferSettings(steps=steps), progress=False)
        seconds = (time.perf_counter() - start) * default_steps / steps
        target = "< 60 s" if (features, method) == ("ae", "spectrogram") else ""
        print(f"{features:>9s} {method:>12s} {seconds:9.1f} {target:>8s}")


if __name__ == "__main__":
    main()

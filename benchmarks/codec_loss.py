"""CodecLoss forward+backward (8 x 1 s at 16 kHz) against our and auraloss's multi-resolution STFT loss.

    OMP_NUM_THREADS=1 python benchmarks/codec_loss.py [--quick] [--repeats 5] [--threads 1] [--json out.json]

Gradients flow to the estimate only (the target needs none, as in training). Times are the
median over repeats of process CPU time with one thread (robust on a shared machine; ``--wall``
for wall-clock), reported with the ratio to our `MultiResolutionSTFTLoss` (target: <= 2x).
Configurations, for the shipped spectral and time emulators: the default (prediction term),
the paper's (prediction + features of all layers), and the two shallow encoder layers only (no
prediction: the decoder is skipped). Without shipped weights, fresh emulators of the shipped sizes are timed (same cost).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch


def _time(fn, repeats: int, clock) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def _emulator(kind: str):
    from earshot.models.emulator import SpectralEmulator, TimeEmulator
    from earshot.weights import load_pretrained

    try:
        return load_pretrained(f"emulator-{kind}"), f"shipped emulator-{kind}"
    except Exception as exc:  # noqa: BLE001 -- weights missing in this checkout: time the same architecture
        print(f"(no shipped emulator-{kind}: {exc}; timing a fresh one)", file=sys.stderr)
        net = SpectralEmulator(base_filters=8) if kind == "spectral" else TimeEmulator(filters=16)
        return net, f"fresh {type(net).__name__}"


def losses() -> dict:
    """Name -> (loss module, note)."""
    from earshot.losses import MultiResolutionSTFTLoss
    from earshot.losses.codec import CodecLoss

    out = {"earshot MultiResolutionSTFTLoss": (MultiResolutionSTFTLoss(), "")}
    try:
        import auraloss

        out["auraloss MultiResolutionSTFTLoss"] = (auraloss.freq.MultiResolutionSTFTLoss(), "")
    except ImportError:
        print("auraloss not installed: skipped", file=sys.stderr)
    for kind in ("spectral", "time"):
        net, note = _emulator(kind)
        out[f"CodecLoss {kind} (default: prediction term)"] = (CodecLoss(net), note)
        out[f"CodecLoss {kind} (paper: prediction + all layers)"] = (CodecLoss(net, feature_weight=1.0), note)
        out[f"CodecLoss {kind} (shallow features only)"] = (
            CodecLoss(net, layers="shallow", prediction_weight=0.0, feature_weight=1.0), note)
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--wall", action="store_true", help="wall-clock instead of process CPU time")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    repeats = 1 if args.quick else args.repeats
    clock = time.perf_counter if args.wall else time.process_time
    n = int(args.seconds * 16000)
    target = 0.1 * torch.randn(args.batch, 1, n)
    estimate = (target + 0.01 * torch.randn(args.batch, 1, n)).requires_grad_(True)

    def step(loss):
        def run():
            estimate.grad = None
            loss(estimate, target).backward()
        return run

    rows = {}
    for name, (loss, note) in losses().items():
        rows[name] = {"seconds": _time(step(loss), repeats, clock), "note": note}
    base = rows["earshot MultiResolutionSTFTLoss"]["seconds"]
    print(f"forward+backward, {args.batch} x {args.seconds:g} s at 16 kHz, {args.threads} thread(s), "
          f"{'wall' if args.wall else 'CPU'} time, median of {repeats}")
    print("| loss | ms | x our MR-STFT |\n|---|---:|---:|")
    for name, r in rows.items():
        r["ratio"] = r["seconds"] / base
        print(f"| {name}{' (' + r['note'] + ')' if r['note'] else ''} | {r['seconds'] * 1e3:.1f} | {r['ratio']:.2f} |")
    results = {"batch": args.batch, "seconds_audio": args.seconds, "threads": args.threads,
               "clock": "wall" if args.wall else "process", "rows": rows}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()

"""JNDLoss forward+backward on 2 s pairs against CDPAM (pip ``cdpam``) in the same run, on CPU.

    OMP_NUM_THREADS=1 python benchmarks/jnd.py [--quick] [--threads 1] [--repeats 3] [--json out.json]

Each model gets 2 s of audio at its own rate (JNDLoss: the shipped net's 16 kHz; CDPAM:
22.05 kHz), batch 1, gradients to the estimate. Reports the median CPU time of the process
(robust on a shared machine) and wall time, and their ratios.
Without the shipped weights JNDLoss runs a randomly initialised JNDNet of the same architecture
(same cost). Without cdpam installed, only JNDLoss is timed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch


def _time(fn, repeats: int) -> tuple[float, float]:
    """Median (CPU seconds of this process, wall seconds) of ``repeats`` calls after a warm-up.

    CPU time is the headline: on a shared machine it does not count time spent waiting for a core."""
    fn()  # warm-up
    cpu, wall = [], []
    for _ in range(repeats):
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return statistics.median(cpu), statistics.median(wall)


def _jnd_loss():
    from earshot.losses.jnd import JNDLoss
    from earshot.models.jndnet import JNDNet

    try:
        return JNDLoss(16000), "shipped jnd-sim-16k"
    except Exception as exc:  # weights not shipped in this checkout: same architecture, random init
        print(f"(no shipped weights: {exc}; timing a fresh JNDNet)", file=sys.stderr)
        return JNDLoss(16000, weights=JNDNet()), "fresh JNDNet"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--no-cdpam", action="store_true")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    repeats = 1 if args.quick else args.repeats
    torch.manual_seed(0)
    results = {"seconds_audio": args.seconds, "threads": args.threads}

    loss, which = _jnd_loss()
    n = int(args.seconds * 16000)
    ref = 0.1 * torch.randn(1, 1, n)
    est = (ref + 0.01 * torch.randn(1, 1, n)).requires_grad_(True)

    def run_jnd():
        est.grad = None
        loss(est, ref).backward()

    results["jndloss_cpu_s"], results["jndloss_wall_s"] = _time(run_jnd, repeats)
    results["jndloss_model"] = which
    print(f"JNDLoss ({which}) fwd+bwd, {args.seconds:g} s @ 16 kHz: {results['jndloss_cpu_s'] * 1e3:.1f} ms CPU "
          f"({results['jndloss_wall_s'] * 1e3:.1f} ms wall)")

    if not args.no_cdpam:
        from earshot.cli.evals._jnd_cdpam import SAMPLE_RATE, CDPAMPeer
        from earshot.errors import ToolMissingError

        try:
            peer = CDPAMPeer()
        except ToolMissingError as exc:
            print(f"CDPAM skipped: {exc}")
            peer = None
        if peer is not None:
            m = int(args.seconds * SAMPLE_RATE)
            cref = 0.1 * torch.randn(1, 1, m)
            cest = (cref + 0.01 * torch.randn(1, 1, m)).requires_grad_(True)

            def run_cdpam():
                cest.grad = None
                peer.distance(cest, cref, SAMPLE_RATE).sum().backward()

            results["cdpam_cpu_s"], results["cdpam_wall_s"] = _time(run_cdpam, max(1, min(repeats, 2)))
            results["speedup_cpu"] = results["cdpam_cpu_s"] / results["jndloss_cpu_s"]
            results["speedup_wall"] = results["cdpam_wall_s"] / results["jndloss_wall_s"]
            print(f"CDPAM fwd+bwd, {args.seconds:g} s @ 22.05 kHz: {results['cdpam_cpu_s'] * 1e3:.1f} ms CPU "
                  f"({results['cdpam_wall_s'] * 1e3:.1f} ms wall)")
            print(f"JNDLoss is {results['speedup_cpu']:.0f}x faster than CDPAM in CPU time "
                  f"({results['speedup_wall']:.0f}x in wall time; target >= 20x)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()

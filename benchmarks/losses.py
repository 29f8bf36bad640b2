"""Spectral losses, earshot vs auraloss at equal settings: forward+backward time, peak memory, values.

    python benchmarks/losses.py [--quick] [--rates 16000 44100] [--threads 1 2] [--repeats 7]

Batch 8 x 1 s of noise-like audio (stereo for the sum/difference case), input requiring grad.
Time: the fastest of ``--repeats`` runs of one forward + backward (the minimum is the least
disturbed by other processes; ``--stat median`` for the median), earshot and auraloss
interleaved so that machine load hits both alike. Memory: peak resident memory above the pre-call baseline during
one forward + backward, measured in a fresh subprocess per (case, rate, implementation) with
``MALLOC_MMAP_THRESHOLD_`` fixed so that freed buffers go back to the OS (so RSS follows live
tensors). Values: earshot's per-item values (reduction "none") against auraloss run item by
item (auraloss's spectral convergence is batch-global, ours is per item; per item they agree).
Ratios > 1 mean earshot is faster / smaller. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
STAT = min
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _cases(sr: int) -> dict:
    """name -> (make earshot loss, make auraloss loss, channels, part of the speed target)."""
    import auraloss

    from earshot.losses import MultiResolutionMelLoss, MultiResolutionSTFTLoss, STFTLoss

    ffts, hops, wins = (1024, 2048, 512), (120, 240, 50), (600, 1200, 240)
    return {
        "stft": (lambda: STFTLoss(), lambda: auraloss.freq.STFTLoss(), 1, False),
        "mrstft": (lambda: MultiResolutionSTFTLoss(), lambda: auraloss.freq.MultiResolutionSTFTLoss(), 1, True),
        "mrstft-mel64": (
            lambda: MultiResolutionMelLoss(sr, window_lengths=wins, n_ffts=ffts, hop_lengths=hops, n_mels=64,
                                           w_sc=1.0, log10=False, log_floor=0.0, power_eps=1e-8, combine="mean"),
            lambda: auraloss.freq.MultiResolutionSTFTLoss(sample_rate=sr, scale="mel", n_bins=64), 1, True),
        "sum-diff": (lambda: MultiResolutionSTFTLoss(sum_difference=True),
                     lambda: auraloss.freq.SumAndDifferenceSTFTLoss(list(ffts), list(hops), list(wins)), 2, False),
    }


def _own_only(sr: int) -> dict:
    from earshot.losses import MultiResolutionMelLoss, MultiScaleSpectralLoss

    return {"dac-mel (ours only)": lambda: MultiResolutionMelLoss(sr),
            "soundstream (ours only)": lambda: MultiScaleSpectralLoss(sr)}


def _inputs(sr: int, channels: int, batch: int, seconds: float, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    n = int(sr * seconds)
    y = 0.3 * torch.randn(batch, channels, n, generator=g)
    x = (y + 0.1 * torch.randn(batch, channels, n, generator=g)).requires_grad_()
    return x, y


def _step(loss, x, y) -> None:
    x.grad = None
    loss(x, y).backward()


def _time_pair(ours, theirs, x, y, repeats: int) -> tuple[float, float]:
    _step(ours, x, y)
    _step(theirs, x, y)
    a, b = [], []
    for _ in range(repeats):
        for fn, out in ((ours, a), (theirs, b)):
            start = time.perf_counter()
            _step(fn, x, y)
            out.append(time.perf_counter() - start)
    return STAT(a), STAT(b)


def _time_one(loss, x, y, repeats: int) -> float:
    _step(loss, x, y)
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        _step(loss, x, y)
        out.append(time.perf_counter() - start)
    return STAT(out)


def _value_gap(ours, theirs, x, y) -> float:
    ours.reduction = "none"
    with torch.no_grad():
        mine = ours(x, y)
        ref = torch.stack([theirs(x[i: i + 1], y[i: i + 1]) for i in range(x.shape[0])])
    ours.reduction = "mean"
    return float(((mine - ref).abs() / ref.abs().clamp_min(1.0)).max())


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _probe(case: str, sr: int, impl: str, batch: int, seconds: float) -> None:
    """Subprocess: print the peak RSS increase (MiB) of one forward+backward."""
    torch.set_num_threads(1)
    cases = _cases(sr)
    make_ours, make_theirs, channels, _ = cases[case]
    loss = make_ours() if impl == "earshot" else make_theirs()
    x, y = _inputs(sr, channels, batch, seconds)
    _step(loss, x, y)                       # warm-up: lazy buffers, FFT plans
    x.grad = None
    base = _rss_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")   # reset the high-water mark to the current RSS
    loss(x, y).backward()
    peak = _rss_kib("VmHWM")
    print(json.dumps({"peak_mib": (peak - base) / 1024.0}))


def _memory(case: str, sr: int, impl: str, batch: int, seconds: float) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="0")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--probe", case, str(sr), impl,
           "--batch", str(batch), "--seconds", str(seconds)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=str(ROOT))
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"]


def _table(rows: list[dict]) -> str:
    head = (f"{'case':<14}{'rate':>7}{'thr':>4}{'earshot ms':>12}{'auraloss ms':>13}{'speed x':>9}"
            f"{'earshot MiB':>13}{'auraloss MiB':>14}{'mem x':>7}{'max rel diff':>14}")
    lines = [head, "-" * len(head)]
    for r in rows:
        mem = (f"{r['ours_mib']:>13.1f}{r['theirs_mib']:>14.1f}{r['theirs_mib'] / r['ours_mib']:>7.2f}"
               if r.get("ours_mib") else f"{'-':>13}{'-':>14}{'-':>7}")
        theirs = f"{r['theirs_ms']:>13.1f}{r['theirs_ms'] / r['ours_ms']:>9.2f}" if r.get("theirs_ms") else \
            f"{'-':>13}{'-':>9}"
        gap = f"{r['gap']:>14.1e}" if r.get("gap") is not None else f"{'-':>14}"
        lines.append(f"{r['case']:<14}{r['rate']:>7}{r['threads']:>4}{r['ours_ms']:>12.1f}{theirs}{mem}{gap}")
    return "\n".join(lines)


def run(rates, threads, repeats, batch, seconds, memory=True, only=None) -> list[dict]:
    rows = []
    for sr in rates:
        cases = _cases(sr)
        for name, (make_ours, make_theirs, channels, _) in cases.items():
            if only and name not in only:
                continue
            ours, theirs = make_ours(), make_theirs()
            x, y = _inputs(sr, channels, batch, seconds)
            gap = _value_gap(ours, theirs, x, y)
            mem = {}
            if memory:
                mem = {"ours_mib": _memory(name, sr, "earshot", batch, seconds),
                       "theirs_mib": _memory(name, sr, "auraloss", batch, seconds)}
            for n in threads:
                torch.set_num_threads(n)
                t_ours, t_theirs = _time_pair(ours, theirs, x, y, repeats)
                rows.append(dict(case=name, rate=sr, threads=n, ours_ms=1e3 * t_ours, theirs_ms=1e3 * t_theirs,
                                 gap=gap, **mem))
                print(_table(rows[-1:]).splitlines()[-1], flush=True)
        for name, make in _own_only(sr).items():
            if only and name.split(" ")[0] not in only:
                continue
            x, y = _inputs(sr, 1, batch, seconds)
            for n in threads:
                torch.set_num_threads(n)
                rows.append(dict(case=name.split(" ")[0], rate=sr, threads=n,
                                 ours_ms=1e3 * _time_one(make(), x, y, repeats)))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="16 kHz only, 3 repeats")
    parser.add_argument("--rates", type=int, nargs="+", default=[16000, 44100])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--cases", nargs="+", help="only these cases (stft mrstft mrstft-mel64 sum-diff dac-mel "
                        "soundstream)")
    parser.add_argument("--stat", choices=["min", "median"], default="min", help="statistic over repeats")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--probe", nargs=3, metavar=("CASE", "RATE", "IMPL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        _probe(args.probe[0], int(args.probe[1]), args.probe[2], args.batch, args.seconds)
        return 0
    global STAT
    STAT = min if args.stat == "min" else statistics.median
    if args.quick:
        args.rates, args.repeats = [16000], 3
    print(f"batch {args.batch} x {args.seconds:g} s, {args.stat} of {args.repeats} repeats, torch {torch.__version__}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    rows = run(args.rates, args.threads, args.repeats, args.batch, args.seconds, memory=not args.no_memory,
               only=args.cases)
    print()
    print(_table(rows))
    targets = [r for r in rows if r["case"] in ("mrstft", "mrstft-mel64")]
    ok = bool(targets) and all(r["theirs_ms"] / r["ours_ms"] >= 1.5 and r["gap"] < 1e-5
             and (not r.get("ours_mib") or r["ours_mib"] <= r["theirs_mib"]) for r in targets)
    print(f"\ntarget (MR-STFT and MR-mel >= 1.5x faster, no more memory, equal values): {'met' if ok else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

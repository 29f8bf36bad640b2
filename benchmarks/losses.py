"""Loss speed, earshot vs auraloss's MR-STFT in the same run: forward + backward, CPU or CUDA.

    python benchmarks/losses.py --device cuda --json losses.json          # batch 32 x 2 s, 16 and 44.1 kHz
    python benchmarks/losses.py --device cuda --compile                    # also torch.compile'd losses
    python benchmarks/losses.py --device cpu --batch 8 --seconds 1         # CPU (2 cores: smaller batch)

Each case times one forward + backward of a loss on noise-like audio ``(batch, 1, samples)``
(the prediction requires grad, the target does not): warm-up steps, then the median of
``--repeats`` steps, every case interleaved with the peer so that machine load hits both alike.
On CUDA the time comes from CUDA events (GPU time of the whole step, launches included) and the
peak memory from ``torch.cuda.max_memory_allocated``. Ratios:

- ``vs aura``: auraloss's MR-STFT time / this case's time (> 1: faster than the peer);
  target >= 2 on CUDA for ``mrstft``, ``mrmel`` and ``msspec`` (issue 16), > 1 on CPU;
- ``vs mrstft``: this case's time / our MR-STFT's time; target <= 1.5 for ``jnd`` and ``codec``.

``gap`` is the largest relative difference between our MR-STFT and auraloss's, item by item
(auraloss's spectral convergence is batch-global, ours is per item; per item they agree).
Not a test: nothing here asserts a time. ``--json PATH`` writes the rows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PEER = "auraloss-mrstft"
SPECTRAL = ("mrstft", "mrmel", "msspec")
LEARNED = ("jnd", "codec")


def _makers(sr: int) -> dict:
    """case -> constructor of a loss at ``sr`` (the peer first)."""
    import auraloss

    from earshot.losses import build_loss

    makers = {PEER: lambda: auraloss.freq.MultiResolutionSTFTLoss()}
    for name in SPECTRAL + LEARNED:
        makers[name] = (lambda n: lambda: build_loss(n, sample_rate=sr))(name)
    return makers


def _inputs(sr: int, batch: int, seconds: float, device: torch.device, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    n = int(sr * seconds)
    y = 0.3 * torch.randn(batch, 1, n, generator=g)
    x = y + 0.1 * torch.randn(batch, 1, n, generator=g)
    return x.to(device).requires_grad_(), y.to(device)


def _step(loss, x, y) -> None:
    x.grad = None
    loss(x, y).backward()


def _timed(loss, x, y) -> float:
    """Milliseconds of one forward + backward (CUDA events on a GPU)."""
    if x.is_cuda:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        _step(loss, x, y)
        end.record()
        end.synchronize()
        return start.elapsed_time(end)
    begin = time.perf_counter()
    _step(loss, x, y)
    return 1e3 * (time.perf_counter() - begin)


def _peak_mib(loss, x, y) -> float | None:
    if not x.is_cuda:
        return None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    _step(loss, x, y)
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - base) / 2**20


def _value_gap(ours, theirs, x, y) -> float:
    ours.reduction = "none"
    with torch.no_grad():
        mine = ours(x, y)
        ref = torch.stack([theirs(x[i: i + 1], y[i: i + 1]) for i in range(x.shape[0])])
    ours.reduction = "mean"
    return float(((mine - ref).abs() / ref.abs().clamp_min(1.0)).max())


def _losses(sr: int, device: torch.device, cases: list[str], compile_: str | None) -> dict:
    makers = _makers(sr)
    out = {}
    for name in [PEER] + [c for c in cases if c != PEER]:
        loss = makers[name]().to(device)
        out[name] = loss
        if compile_ and name != PEER:
            out[name + "+compile"] = torch.compile(loss, mode=compile_)
    return out


def run_rate(sr: int, device: torch.device, cases: list[str], batch: int, seconds: float, repeats: int,
             warmup: int, compile_: str | None) -> list[dict]:
    """Time every case at one rate, interleaved repeat by repeat; one row per case."""
    losses = _losses(sr, device, cases, compile_)
    x, y = _inputs(sr, batch, seconds, device)
    for name, loss in list(losses.items()):          # warm-up: FFT plans, lazy buffers, compilation
        try:
            for _ in range(warmup):
                _step(loss, x, y)
        except Exception as exc:                      # a case that breaks (e.g. in the compiler) is reported, not fatal
            print(f"{name} at {sr} Hz failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}", flush=True)
            del losses[name]
    times = {name: [] for name in losses}
    for _ in range(repeats):
        for name, loss in losses.items():
            times[name].append(_timed(loss, x, y))
    gap = _value_gap(losses["mrstft"], losses[PEER], x.detach()[:4], y[:4]) if "mrstft" in losses else None
    rows = []
    for name, loss in losses.items():
        rows.append(dict(case=name, rate=sr, device=device.type, batch=batch, seconds=seconds,
                         ms=statistics.median(times[name]), peak_mib=_peak_mib(loss, x, y),
                         gap=gap if name == "mrstft" else None))
    _ratios(rows)
    return rows


def _ratios(rows: list[dict]) -> None:
    by = {r["case"]: r for r in rows}
    peer, mr = by[PEER]["ms"], by.get("mrstft", {}).get("ms")
    for r in rows:
        r["vs_auraloss"] = peer / r["ms"]
        r["vs_mrstft"] = r["ms"] / mr if mr else None
        base = r["case"].split("+")[0]
        if base in SPECTRAL:
            r["target"] = ">= 2x aura" if r["device"] == "cuda" else "> 1x aura"
            r["met"] = r["vs_auraloss"] >= (2.0 if r["device"] == "cuda" else 1.0)
        elif base in LEARNED and mr:
            r["target"], r["met"] = "<= 1.5x mrstft", r["vs_mrstft"] <= 1.5
        else:
            r["target"], r["met"] = "", None


def table(rows: list[dict]) -> str:
    head = f"{'case':<16}{'rate':>7}{'dev':>5}{'ms':>9}{'vs aura':>9}{'vs mrstft':>10}{'MiB':>8}  {'target':<15}{'met':<4}"
    lines = [head, "-" * len(head)]
    for r in rows:
        mib = f"{r['peak_mib']:>8.0f}" if r["peak_mib"] is not None else f"{'-':>8}"
        vs_mr = f"{r['vs_mrstft']:>10.2f}" if r["vs_mrstft"] is not None else f"{'-':>10}"
        met = {True: "yes", False: "NO", None: ""}[r["met"]]
        lines.append(f"{r['case']:<16}{r['rate']:>7}{r['device']:>5}{r['ms']:>9.2f}{r['vs_auraloss']:>9.2f}{vs_mr}{mib}"
                     f"  {r['target']:<15}{met:<4}")
    gaps = [r["gap"] for r in rows if r["gap"] is not None]
    if gaps:
        lines.append(f"largest relative difference, our MR-STFT vs auraloss (item by item): {max(gaps):.1e}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="cuda or cpu")
    parser.add_argument("--rates", type=int, nargs="+", default=[16000, 44100], help="sample rates (Hz)")
    parser.add_argument("--batch", type=int, default=32, help="batch size")
    parser.add_argument("--seconds", type=float, default=2.0, help="clip length (s)")
    parser.add_argument("--repeats", type=int, default=20, help="timed steps per case (the median is reported)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per case first")
    parser.add_argument("--cases", nargs="+", default=list(SPECTRAL + LEARNED),
                        help=f"our losses to time, from {' '.join(SPECTRAL + LEARNED)} (auraloss's MR-STFT always runs)")
    parser.add_argument("--compile", nargs="?", const="default", default=None,
                        choices=["default", "reduce-overhead", "max-autotune-no-cudagraphs"],
                        help="also time torch.compile'd versions of our losses (mode; reduce-overhead uses CUDA graphs)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (torch.set_num_threads)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 16 kHz, batch 2 x 0.5 s, 3 repeats")
    args = parser.parse_args(argv)
    if args.quick:
        args.rates, args.batch, args.seconds, args.repeats, args.warmup = [16000], 2, 0.5, 3, 1
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} CPU threads"
    print(f"batch {args.batch} x {args.seconds:g} s, median of {args.repeats} (after {args.warmup} warm-up), "
          f"{name}, torch {torch.__version__}", flush=True)
    rows = []
    for sr in args.rates:
        rows += run_rate(sr, device, args.cases, args.batch, args.seconds, args.repeats, args.warmup, args.compile)
        print(f"{sr} Hz done", flush=True)
    print(table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

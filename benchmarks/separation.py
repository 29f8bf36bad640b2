"""Separation speed and memory: earshot's U-Net separator vs Open-Unmix (random init), same run.

    python benchmarks/separation.py [--seconds 180] [--threads 2] [--quick] [--json OUT.json]

Rows, each in a fresh subprocess (so that its peak memory is its own) on ``--threads`` torch
threads, separating one ``--seconds`` long signal (3 minutes by default):

- earshot ``Separator`` around the shipped ``separator-speech-music`` weights (or the same
  architecture at random init when they are missing): mono 8192 Hz, chunks of 768 frames (the default);
- the same without chunking (whole file at once), to show what chunking does to memory;
- Open-Unmix's ``umxhq`` architecture at random init (44.1 kHz stereo, n_fft 4096, hop 1024,
  LSTM 512, 4 targets, one Wiener EM iteration): its own workload on a 44.1 kHz stereo file;
- Open-Unmix's architecture matched to our task: mono 8192 Hz, n_fft 512, hop 256, targets
  vocals and accompaniment, no EM (the same input as ours).

Speed is seconds of audio separated per wall-clock second (higher is faster), best of
``--repeats``; memory is the subprocess' peak resident set size and its growth during the
separation (peak RSS minus the RSS before the call). Open-Unmix is a benchmark-only peer:
``pip install --no-deps openunmix`` (no weights are downloaded); its module-level
``import torchaudio`` is satisfied by the stub in ``benchmarks/_separation_stubs``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

STUBS = Path(__file__).resolve().parent / "_separation_stubs"
ROWS = ("earshot-chunked", "earshot-whole", "openunmix-umxhq", "openunmix-matched")


def rss_mb() -> float:
    """Current resident set size of this process in MB (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def earshot_model(chunked: bool):
    from earshot.errors import WeightsError
    from earshot.models.separator import Separator, UNetSeparator

    try:
        sep = Separator.from_pretrained("separator-speech-music")
        label = "earshot U-Net (separator-speech-music weights)"
    except WeightsError:
        torch.manual_seed(0)
        sep = Separator(UNetSeparator().eval())
        label = "earshot U-Net (paper architecture, random init)"
    sep.chunk_frames = 768 if chunked else None
    label += ", 8192 Hz mono, " + ("chunks of 768 frames (24 s)" if chunked else "whole file at once")
    return sep.eval(), 8192, 1, label


def openunmix_model(matched: bool):
    sys.path.insert(0, str(STUBS))  # torchaudio stub: only inside this benchmark process
    from openunmix.model import OpenUnmix, Separator

    torch.manual_seed(0)
    if matched:
        targets = {t: OpenUnmix(nb_bins=257, nb_channels=1, hidden_size=512) for t in ("vocals", "accompaniment")}
        sep = Separator(targets, niter=0, sample_rate=8192, n_fft=512, n_hop=256, nb_channels=1)
        return sep.eval(), 8192, 1, "Open-Unmix architecture matched: 8192 Hz mono, n_fft 512, 2 targets, no EM"
    targets = {t: OpenUnmix(nb_bins=2049, nb_channels=2, hidden_size=512, max_bin=1487)
               for t in ("vocals", "drums", "bass", "other")}
    sep = Separator(targets, niter=1, sample_rate=44100, n_fft=4096, n_hop=1024, nb_channels=2)
    return sep.eval(), 44100, 2, "Open-Unmix umxhq architecture: 44.1 kHz stereo, 4 targets, 1 EM iteration"


def run_row(name: str, seconds: float, threads: int, repeats: int) -> dict:
    """Measure one row in this process; return its record."""
    torch.set_num_threads(threads)
    if name.startswith("earshot"):
        model, sr, channels, label = earshot_model(name == "earshot-chunked")
    else:
        model, sr, channels, label = openunmix_model(name == "openunmix-matched")
    model.requires_grad_(False)
    audio = 0.1 * torch.randn(1, channels, int(seconds * sr), generator=torch.Generator().manual_seed(0))
    before = rss_mb()
    times = []
    with torch.inference_mode():
        for _ in range(repeats):
            start = time.perf_counter()
            out = model(audio)
            times.append(time.perf_counter() - start)
    del out
    best = min(times)
    return {"row": name, "model": label, "seconds_audio": seconds, "sample_rate": sr, "channels": channels,
            "threads": threads, "wall_s": best, "audio_s_per_s": seconds / best,
            "peak_rss_mb": peak_rss_mb(), "rss_growth_mb": peak_rss_mb() - before,
            "parameters": sum(p.numel() for p in model.parameters())}


def markdown(rows: list[dict]) -> str:
    base = next((r for r in rows if r["row"] == "earshot-chunked"), rows[0])
    lines = ["| model | audio s / s | x ours (chunked) | peak RSS MB | RSS growth MB | parameters |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['audio_s_per_s']:.1f} | {r['audio_s_per_s'] / base['audio_s_per_s']:.2f} | "
                     f"{r['peak_rss_mb']:.0f} | {r['rss_growth_mb']:.0f} | {r['parameters'] / 1e6:.2f} M |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=180.0, help="length of the separated signal (default 3 min)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated subset of {', '.join(ROWS)}")
    p.add_argument("--quick", action="store_true", help="20 s of audio (a smoke test)")
    p.add_argument("--json", type=Path, default=None, help="write the rows as JSON here")
    p.add_argument("--row", default=None, help=argparse.SUPPRESS)   # internal: measure one row in this process
    args = p.parse_args(argv)
    seconds = 20.0 if args.quick else args.seconds
    if args.row:
        print(json.dumps(run_row(args.row, seconds, args.threads, args.repeats)))
        return 0
    rows = []
    for name in [r.strip() for r in args.rows.split(",") if r.strip()]:
        if name not in ROWS:
            p.error(f"unknown row {name!r}; choose from {', '.join(ROWS)}")
        cmd = [sys.executable, __file__, "--row", name, "--seconds", str(seconds), "--threads", str(args.threads),
               "--repeats", str(args.repeats)]
        print(f"measuring {name} ...", file=sys.stderr)
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{name} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    if not rows:
        return 1
    print(markdown(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

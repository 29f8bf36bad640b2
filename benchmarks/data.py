"""Data speeds: corpus minutes per second, codec round trips per second, perturbations per second.

    python benchmarks/data.py [--quick] [--json OUT]

Each figure is given twice: per wall-clock second and per second of CPU time of this process
and its children (on a shared machine the CPU figure is the one that says what the code costs).
"x real time" = seconds of audio processed per second.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time

import numpy as np
import torch


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn, repeats: int):
    fn()  # warm-up (caches, first-call costs such as codec delay calibration)
    wall, cpu = time.perf_counter(), _cpu()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - wall) / repeats, (_cpu() - cpu) / repeats


def bench_corpus(minutes: float, jobs: int) -> dict:
    from earshot.data.corpus import build_corpus, load_manifest

    with tempfile.TemporaryDirectory(prefix="earshot-bench-") as tmp:
        wall, cpu = time.perf_counter(), _cpu()
        build_corpus(tmp, minutes=minutes, seed=0, jobs=jobs, progress=False)
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        audio_min = sum(i.duration for i in load_manifest(tmp)) / 60
    return {"audio_minutes": round(audio_min, 2), "jobs": jobs,
            "minutes_per_wall_second": round(audio_min / wall, 3), "x_real_time_wall": round(audio_min * 60 / wall, 1),
            "x_real_time_per_cpu_second": round(audio_min * 60 / cpu, 1)}


def bench_codecs(seconds: float, repeats: int) -> list[dict]:
    from earshot.audio import codecs

    rows = []
    cases = [("mp3", 16000, 1, {"kbps": 16}), ("mp3", 16000, 1, {"kbps": 64}), ("mp3", 16000, 1, {"vbr_quality": 5}),
             ("mp3", 44100, 2, {"kbps": 128}), ("opus", 16000, 1, {"kbps": 12}), ("opus", 16000, 1, {"kbps": 32}),
             ("opus", 48000, 2, {"kbps": 64})]
    rng = np.random.default_rng(0)
    for name, rate, channels, kw in cases:
        t = np.arange(int(seconds * rate)) / rate
        x = torch.from_numpy((0.3 * np.sin(2 * np.pi * 220 * t * (1 + 0.1 * np.sin(3 * t)))[None].repeat(channels, 0)
                              + 0.02 * rng.standard_normal((channels, t.size))).astype(np.float32))
        fn = codecs.mp3_roundtrip if name == "mp3" else codecs.opus_roundtrip
        wall, cpu = _timed(lambda: fn(x, rate, **kw), repeats)
        rows.append({"codec": name, "sample_rate": rate, "channels": channels, **kw,
                     "round_trips_per_second": round(1 / wall, 2), "x_real_time_wall": round(seconds / wall, 1),
                     "x_real_time_per_cpu_second": round(seconds / cpu, 1)})
    return rows


def bench_perturbations(seconds: float, repeats: int) -> list[dict]:
    from earshot.data.perturb import PERTURBATIONS

    rate = 16000
    t = np.arange(int(seconds * rate)) / rate
    x = torch.from_numpy((0.3 * np.sin(2 * np.pi * 200 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)))[None].astype(np.float32))
    rows = []
    for name, cls in PERTURBATIONS.items():
        p = cls()
        rng = np.random.default_rng(0)
        wall, cpu = _timed(lambda: p.apply(x, rate, p.sample(0.5, rng)), repeats)
        rows.append({"type": name, "per_second": round(1 / wall, 1), "x_real_time_wall": round(seconds / wall, 1),
                     "x_real_time_per_cpu_second": round(seconds / cpu, 1)})
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller corpus and fewer repeats")
    parser.add_argument("--minutes", type=float, default=None, help="corpus minutes to build (default 3, quick 1)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    repeats = 2 if args.quick else 5
    results = {
        "corpus": bench_corpus(args.minutes or (1.0 if args.quick else 3.0), args.jobs),
        "codecs_10s_clips": bench_codecs(10.0, repeats),
        "perturbations_1s_clips_16k": bench_perturbations(1.0, repeats),
    }
    c = results["corpus"]
    print(f"corpus: {c['audio_minutes']} min with {c['jobs']} jobs: {c['minutes_per_wall_second']} min/s "
          f"({c['x_real_time_wall']}x real time wall, {c['x_real_time_per_cpu_second']}x per CPU second)")
    for r in results["codecs_10s_clips"]:
        setting = {k: v for k, v in r.items() if k in ("kbps", "vbr_quality")}
        print(f"{r['codec']:5s} {r['sample_rate']:6d} Hz x{r['channels']} {setting}: {r['round_trips_per_second']} "
              f"round trips/s of 10 s, {r['x_real_time_wall']}x real time wall, {r['x_real_time_per_cpu_second']}x per CPU s")
    for r in results["perturbations_1s_clips_16k"]:
        print(f"perturb {r['type']:12s} {r['per_second']:8.1f}/s of 1 s  ({r['x_real_time_per_cpu_second']}x per CPU s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)

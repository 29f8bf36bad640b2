"""Codec speed: encode+decode real-time factor on ONE CPU thread, ours vs EnCodec (random init).

    python benchmarks/codec.py [--quick] [--seconds 10] [--repeats 5] [--json OUT.json]

Rows: the shipped default model (``codec-16k``, or its architecture at random init if the
weights are missing) offline and frame by frame (20 ms chunks through the streaming coder),
SoundStream at the paper's width (C = 32) at 24 kHz, and EnCodec's 24 kHz model
(``encodec_model_24khz(pretrained=False)``: no weights are downloaded) at 6 kbps. The
real-time factor is audio seconds / seconds taken (higher is faster), best of ``--repeats``, by
wall clock and by this process's CPU time (the fairer one on a shared machine).
EnCodec is a benchmark-only peer: ``pip install --no-deps encodec einops``; its module-level
``import torchaudio`` is satisfied by the stub in ``benchmarks/_codec_stubs``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import sys
import time
from pathlib import Path

import torch

STUBS = Path(__file__).resolve().parent / "_codec_stubs"


def best_time(fn, repeats: int) -> tuple[float, float]:
    """Best wall time and best CPU time of this process over ``repeats`` calls (after a warm-up).

    On one thread CPU time is the compute the call needed; wall time also counts waiting for
    the CPU on a shared machine, so both are reported.
    """
    fn()  # warm-up
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def our_model():
    from earshot.errors import WeightsError
    from earshot.models.codec import SoundStream
    from earshot.weights import load_pretrained

    try:
        return load_pretrained("codec-16k"), "codec-16k (shipped weights)"
    except WeightsError:
        torch.manual_seed(0)
        return SoundStream(16000, channels=8, dim=32).eval(), "codec-16k architecture (random init)"


def soundstream_rows(seconds: float, repeats: int) -> list[dict]:
    from earshot.models.codec import SoundStream
    from earshot.models.codec.streaming import StreamingDecoder, StreamingEncoder

    model, label = our_model()
    torch.manual_seed(0)
    paper = SoundStream(24000, channels=32, dim=128).eval()
    rows = []
    for name, m, kbps in ((label, model, 6.0), ("SoundStream paper width C=32, 24 kHz (random init)", paper, 6.0)):
        x = 0.1 * torch.randn(1, 1, int(seconds * m.sample_rate))
        n_q = m.quantizers_for_kbps(kbps)

        def run(m=m, x=x, n_q=n_q):
            with torch.inference_mode():
                m.decode(m.encode(x, n_q))
        rows.append(_row(name, m.sample_rate, kbps, sum(p.numel() for p in m.parameters()),
                         seconds, best_time(run, repeats)))
    x = 0.1 * torch.randn(1, 1, int(seconds * model.sample_rate))
    n_q = model.quantizers_for_kbps(6.0)

    def stream(x=x):
        enc, dec = StreamingEncoder(model, n_q), StreamingDecoder(model)
        for i in range(0, x.shape[-1], model.hop):
            dec.push(enc.push(x[..., i:i + model.hop]))
    rows.append(_row(f"{label}, streaming 20 ms frames", model.sample_rate, 6.0,
                     sum(p.numel() for p in model.parameters()), seconds, best_time(stream, repeats)))
    return rows


@contextlib.contextmanager
def torchaudio_stub():
    """Put the stub on sys.path only if no torchaudio is installed; undo afterwards."""
    if importlib.util.find_spec("torchaudio") is not None:
        yield
        return
    sys.path.insert(0, str(STUBS))
    try:
        yield
    finally:
        sys.path.remove(str(STUBS))
        sys.modules.pop("torchaudio", None)


def encodec_row(seconds: float, repeats: int) -> dict | None:
    try:
        with torchaudio_stub():
            from encodec import EncodecModel
    except ImportError as exc:
        print(f"EnCodec not installed ({exc}); pip install --no-deps encodec einops", file=sys.stderr)
        return None
    torch.manual_seed(0)
    model = EncodecModel.encodec_model_24khz(pretrained=False).eval()
    model.set_target_bandwidth(6.0)
    x = 0.1 * torch.randn(1, 1, int(seconds * 24000))

    def run():
        with torch.inference_mode():
            model.decode(model.encode(x))
    return _row("EnCodec 24 kHz (random init)", 24000, 6.0, sum(p.numel() for p in model.parameters()),
                seconds, best_time(run, repeats))


def _row(name, rate, kbps, params, seconds, elapsed) -> dict:
    wall, cpu = elapsed
    return {"model": name, "sample_rate": rate, "kbps": kbps, "parameters": params, "audio_seconds": seconds,
            "wall_seconds": wall, "cpu_seconds": cpu, "rtf": seconds / wall, "rtf_cpu": seconds / cpu}


def table(rows: list[dict]) -> str:
    lines = ["| model | rate | kbps | params | x real time, wall (1 thread) | x real time, CPU time |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['sample_rate']} | {r['kbps']:g} | {r['parameters'] / 1e6:.2f} M "
                     f"| {r['rtf']:.1f} | {r['rtf_cpu']:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s of audio, 2 repeats")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    seconds, repeats = (3.0, 2) if args.quick else (args.seconds, args.repeats)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rows = soundstream_rows(seconds, repeats)
        enc = encodec_row(seconds, repeats)
    finally:
        torch.set_num_threads(threads)
    if enc is not None:
        rows.append(enc)
        for r in rows:
            r["vs_encodec"] = r["rtf"] / enc["rtf"]
            r["vs_encodec_cpu"] = r["rtf_cpu"] / enc["rtf_cpu"]
    print(table(rows))
    if enc is not None:
        print(f"\nshipped model vs EnCodec: {rows[0]['vs_encodec']:.1f}x faster (wall), "
              f"{rows[0]['vs_encodec_cpu']:.1f}x (CPU time)")
    result = {"benchmark": "codec", "threads": 1, "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()

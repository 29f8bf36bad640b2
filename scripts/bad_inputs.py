"""The bad-input table of docs/reliability.md: hostile inputs x earshot commands.

    python scripts/bad_inputs.py                 # markdown table on stdout, details in bad_inputs.json
    python scripts/bad_inputs.py --commands score "codec decode"

Every input is made here, in a temporary folder: broken, empty, truncated, non-finite, silent,
very short, many-channel and mislabelled audio files, and crafted ``.esc`` bitstreams whose
header lies under a valid checksum. Each command runs in this process through
``earshot.cli.main.main`` (the console script's code path), so an exception that is not an
``EarshotError`` escapes it: that is a raw traceback. For each run the script records the
exit status and the first error line, and checks that no input file changed (sha256).

An outcome is ``ok`` (exit 0: the command accepted the input and wrote its result, or for
``score`` a NaN with a warning where a metric is undefined), ``error`` (exit 1 or 2 with an
``earshot: error:`` or ``skipped`` line naming what is wrong) or ``RAW`` (an exception escaped).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import struct
import sys
import tempfile
import traceback
import warnings
import zlib
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000
COMMANDS = ("score", "codec encode", "codec decode", "separate", "explain", "style")


def _tone(n: int, channels: int = 1) -> np.ndarray:
    t = np.arange(n) / SR
    x = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return np.repeat(x[:, None], channels, axis=1)


def make_audio_inputs(root: Path) -> dict[str, Path]:
    """Name -> file of every hostile audio input (and one good reference)."""
    root.mkdir(parents=True, exist_ok=True)
    files = {}

    def wav(name, data, rate=SR, subtype="PCM_16", ext="wav"):
        path = root / f"{name}.{ext}"
        sf.write(str(path), data, rate, subtype=subtype)
        files[name] = path

    wav("good", _tone(SR))
    files["missing"] = root / "missing.wav"
    (root / "empty.wav").write_bytes(b"")
    files["empty"] = root / "empty.wav"
    (root / "random.wav").write_bytes(np.random.default_rng(0).bytes(3000))
    files["random"] = root / "random.wav"
    (root / "text.wav").write_text("this is not audio\n")
    files["text"] = root / "text.wav"
    wav("truncated", _tone(SR))
    data = files["truncated"].read_bytes()
    files["truncated"].write_bytes(data[: len(data) // 2])
    wav("header_only", np.zeros((0, 1)))
    wav("one_sample", _tone(1))
    wav("short_200", _tone(200))
    wav("silent", np.zeros((SR, 1)))
    nan = _tone(SR)
    nan[100] = np.nan
    wav("nan_float", nan, subtype="FLOAT")
    inf = _tone(SR)
    inf[100] = np.inf
    wav("inf_float", inf, subtype="FLOAT")
    wav("clipping_float", 40 * _tone(SR), subtype="FLOAT")
    wav("eight_channels", _tone(SR, 8))
    wav("rate_8k", _tone(SR // 2), rate=8000)
    wav("rate_1hz", _tone(4), rate=1)
    wav("flac_as_wav", _tone(SR), ext="flac")
    files["flac_as_wav"] = files["flac_as_wav"].rename(root / "flac_as_wav.wav")
    (root / "folder.wav").mkdir()
    files["folder"] = root / "folder.wav"
    return files


def make_esc_inputs(root: Path) -> dict[str, Path]:
    """Name -> ``.esc`` file: garbage, truncated, and headers that lie under a valid CRC."""
    from earshot.cli.codec import load_codec
    from earshot.models.codec import bitstream as bs

    model = load_codec("codec-16k")
    files = {}

    def crafted(name, *, frames=50, n_q=4, n_samples=16000, bits=None, rate=None, flags=0):
        bits = model.bits_per_code if bits is None else bits
        head = bs._FIXED.pack(bs.MAGIC, bs.VERSION, bs.model_fingerprint(model), 9) + b"codec-16k"
        head += bs._INFO.pack(rate or model.sample_rate, n_q, bits, flags, frames, n_samples)
        body = head + bytes(-(-frames * n_q * bits // 8))
        path = root / f"{name}.esc"
        path.write_bytes(body + struct.pack(">I", zlib.crc32(body)))
        files[name] = path

    root.mkdir(parents=True, exist_ok=True)
    crafted("esc_valid")
    crafted("esc_zero_frames", frames=0)
    crafted("esc_zero_samples", n_samples=0)
    crafted("esc_max_samples", n_samples=2**32 - 1)
    crafted("esc_too_many_quantizers", n_q=200)
    crafted("esc_wrong_bits", bits=7)
    crafted("esc_wrong_rate", rate=44100)
    crafted("esc_unknown_flags", flags=0x40)
    (root / "esc_random.esc").write_bytes(np.random.default_rng(1).bytes(500))
    files["esc_random"] = root / "esc_random.esc"
    (root / "esc_truncated.esc").write_bytes(files["esc_valid"].read_bytes()[:-10])
    files["esc_truncated"] = root / "esc_truncated.esc"
    return files


def argv_for(command: str, path: Path, good: Path, out: Path) -> list[str]:
    """The command line that feeds ``path`` to ``command`` (estimate first where there is a pair)."""
    if command == "score":
        return ["score", str(path), str(good), "--metrics", "snr,si_sdr,pesq,stoi,mel_distance", "--no-progress"]
    if command == "codec encode":
        return ["codec", "encode", str(path), "-o", str(out), "--no-progress"]
    if command == "codec decode":
        return ["codec", "decode", str(path), "-o", str(out), "--no-progress"]
    if command == "separate":
        return ["separate", str(path), "-o", str(out), "--no-progress"]
    if command == "explain":
        return ["explain", str(path), str(good), "-o", str(out / "explain.png"), "--no-progress"]
    if command == "style":
        return ["style", str(path), str(good), str(out / "styled.wav"), "--steps", "2", "--seconds", "0.5",
                "--no-progress"]
    raise ValueError(command)


def run_one(command: str, name: str, path: Path, good: Path, out: Path) -> dict:
    from earshot.cli.main import main

    inputs = [p for p in (path, good) if p.is_file()]
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in inputs}
    err = io.StringIO()
    outcome, detail, code = "ok", "", 0
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            code = main(argv_for(command, path, good, out))
        except SystemExit as exc:  # argparse usage errors exit 2 with a message
            code = int(exc.code or 0)
        except BaseException as exc:  # noqa: BLE001 - the point is to catch what escapes
            outcome, code = "RAW", None
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]
    if outcome != "RAW":
        lines = [line for line in err.getvalue().splitlines() if "error" in line or "skipped" in line]
        if code:
            outcome = "error"
            detail = lines[0] if lines else err.getvalue().strip().splitlines()[-1:] and err.getvalue().strip()[-200:]
    modified = [str(p) for p, digest in before.items() if hashlib.sha256(p.read_bytes()).hexdigest() != digest]
    return {"command": command, "input": name, "outcome": outcome, "exit": code, "detail": detail[:300],
            "inputs_modified": modified}


def table(rows: list[dict], commands: list[str], names: list[str]) -> str:
    cell = {(r["input"], r["command"]): r for r in rows}
    lines = ["| input | " + " | ".join(commands) + " |", "|---|" + "---|" * len(commands)]
    for name in names:
        marks = []
        for c in commands:
            r = cell.get((name, c))
            marks.append("" if r is None else {"ok": "ok", "error": f"error ({r['exit']})", "RAW": "**RAW**"}[r["outcome"]])
        lines.append(f"| {name} | " + " | ".join(marks) + " |")
    n = len(rows)
    raw = sum(r["outcome"] == "RAW" for r in rows)
    errors = sum(r["outcome"] == "error" for r in rows)
    modified = sum(bool(r["inputs_modified"]) for r in rows)
    lines.append("")
    lines.append(f"{n} runs: {n - errors - raw} ok, {errors} clear errors, {raw} raw tracebacks, "
                 f"{modified} with an input modified")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--commands", nargs="+", default=list(COMMANDS), choices=COMMANDS)
    p.add_argument("--json", default="bad_inputs.json", help="where to write every run's details")
    args = p.parse_args()
    import torch

    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        audio = make_audio_inputs(Path(tmp) / "in")
        esc = make_esc_inputs(Path(tmp) / "esc") if "codec decode" in args.commands else {}
        good = audio["good"]
        for command in args.commands:
            pool = esc if command == "codec decode" else {k: v for k, v in audio.items() if k != "good"}
            for i, (name, path) in enumerate(pool.items()):
                out = Path(tmp) / "out" / f"{command.replace(' ', '_')}_{i}"
                out.mkdir(parents=True, exist_ok=True)
                row = run_one(command, name, path, good, out)
                rows.append(row)
                print(f"{command:13s} {name:24s} {row['outcome']:5s} {row['detail'][:90]}", file=sys.stderr)
        names = list(dict.fromkeys(r["input"] for r in rows))
    Path(args.json).write_text(json.dumps(rows, indent=1))
    print(table(rows, args.commands, names))
    return 1 if any(r["outcome"] == "RAW" or r["inputs_modified"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

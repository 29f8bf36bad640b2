"""``earshot score``: objective metrics of estimated (degraded) files against their references.

    earshot score EST.wav REF.wav [--metrics si_sdr pesq] [--sample-rate SR] [--json|--csv] [--out FILE]
    earshot score EST_DIR REF_DIR ...     # files matched by relative path (or by name sans extension)
    earshot score --list                  # the metrics, their direction, and what is missing

The estimate comes first and the reference second, as in every metric and loss. A pair that
is missing, unreadable, unmatched or of mismatched channels is reported once, naming the file
at fault, and skipped; the others are scored and the exit status is then 1. A metric that is
undefined on a pair (too short, silent) scores NaN with a warning. Nothing is written over an
input.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from earshot.audio.io import AUDIO_EXTENSIONS, load
from earshot.cli.common import (
    add_device_option,
    add_progress_options,
    refuse_overwrite_input,
    resolve_device,
    run_batch,
    show_progress,
    split_list,
)
from earshot.errors import AudioFileError, ConfigError, ShapeError
from earshot.metrics.registry import METRICS, missing_metrics, resolve_names, score

log = logging.getLogger("earshot.score")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "score", help="score estimated (degraded) audio against references with objective metrics",
        description="Score EST against REF (two files, or two folders matched by relative name). "
                    "The estimate comes first, the reference second.",
    )
    p.add_argument("estimate", nargs="?", help="estimated/degraded file or folder")
    p.add_argument("reference", nargs="?", help="reference (clean) file or folder")
    p.add_argument("--metrics", "-m", nargs="+", default=None, metavar="METRIC",
                   help="metric names, space-separated (default: every built-in metric; jnd only when named; "
                        "see --list)")
    p.add_argument("--sample-rate", "-r", type=int, default=None,
                   help="resample both signals to this rate (default: the reference's rate)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON (non-finite values are null)")
    fmt.add_argument("--csv", action="store_true", help="print CSV, one row per file")
    p.add_argument("--out", "-o", default=None, help="write the output to this file instead of stdout")
    p.add_argument("--list", action="store_true", help="list the metrics and exit")
    add_device_option(p)
    add_progress_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    if args.list:
        _emit(list_table(), args.out, [])
        return 0
    if not args.reference or not args.estimate:
        raise ConfigError("give EST and REF (two files or two folders), or --list")
    names = resolve_names(None if args.metrics is None else split_list(args.metrics))
    missing = missing_metrics() if args.metrics is None else {}
    if missing:
        log.info("not computed (package missing): %s", "; ".join(missing.values()))
    device = resolve_device(args.device)
    ref, deg = Path(args.reference), Path(args.estimate)
    items = pair_items(ref, deg)
    result = run_batch(items, lambda item: score_pair(item, names, args.sample_rate, device),
                       desc="scoring", progress=show_progress(args))
    if args.json:
        text = format_json(result.done, names, result.failed)
    elif args.csv:
        text = format_csv(result.done, names)
    else:
        text = format_table(result.done, names)
    inputs = [p for item in items for p in (item.reference, item.degraded) if p is not None]
    _emit(text, args.out, inputs)
    if result.failed or len(items) > 1:
        result.report()  # the count; run_batch said each skip once, when it happened
    return result.exit_code



# --------------------------------------------------------------------------- pairing


@dataclass(frozen=True)
class Pair:
    """A reference and its degraded file; one side is None when its partner is missing."""

    reference: Path | None
    degraded: Path | None
    name: str

    def __str__(self) -> str:
        return self.name


def pair_items(ref: Path, deg: Path) -> list[Pair]:
    """The pairs to score.

    Two files give one pair (checked when scored). Two folders are matched by relative path,
    then by relative path without extension (``a/x.wav`` with ``a/x.mp3``) when unambiguous.
    """
    if ref.is_dir() != deg.is_dir() and ref.exists() and deg.exists():
        raise ConfigError(f"{ref} and {deg} must both be files or both be folders")
    for folder, other in ((ref, deg), (deg, ref)):
        if folder.is_dir() and not other.exists():
            raise ConfigError(f"{other}: no such folder (to pair with the folder {folder})")
    if not ref.is_dir():
        return [Pair(ref, deg, deg.name)]  # named after the file scored: the estimate
    refs, degs = _audio_files(ref), _audio_files(deg)
    if not refs:
        raise ConfigError(f"no audio files ({', '.join(AUDIO_EXTENSIONS)}) under {ref}")
    deg_by_stem: dict[str, list[str]] = {}
    for rel in degs:
        deg_by_stem.setdefault(_stem(rel), []).append(rel)
    items, used = [], set()
    for rel, path in refs.items():
        match = rel if rel in degs else None
        if match is None and len(deg_by_stem.get(_stem(rel), [])) == 1:
            match = deg_by_stem[_stem(rel)][0]
        if match is not None and match not in used:
            used.add(match)
            items.append(Pair(path, degs[match], rel))
        else:
            items.append(Pair(path, None, rel))
    items += [Pair(None, path, rel) for rel, path in degs.items() if rel not in used]
    return items


def _audio_files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*"))
            if p.suffix.lower() in AUDIO_EXTENSIONS and not p.is_dir()}


def _stem(rel: str) -> str:
    return rel.rsplit(".", 1)[0]


# --------------------------------------------------------------------------- scoring


def score_pair(item: Pair, names: list[str], sample_rate: int | None,
               device: torch.device = torch.device("cpu")) -> dict:
    """Load one pair and score it; EarshotError (reported and skipped by run_batch) on failure."""
    ref_path, deg_path, name = item.reference, item.degraded, item.name
    if deg_path is None:
        raise AudioFileError(ref_path, "no degraded file matches this reference")
    if ref_path is None:
        raise AudioFileError(deg_path, "no reference file matches this degraded file")
    ref, rate = load(ref_path, sample_rate=sample_rate)
    deg, _ = load(deg_path, sample_rate=rate)
    if ref.shape[0] != deg.shape[0]:
        raise ShapeError(f"{deg_path}: {deg.shape[0]} channel(s), but reference {ref_path} has {ref.shape[0]}")
    ref, deg = ref.to(device), deg.to(device)
    n = min(ref.shape[-1], deg.shape[-1])
    if ref.shape[-1] != deg.shape[-1]:
        log.info("%s: lengths differ (%d vs %d samples); scoring the first %d",
                 name, ref.shape[-1], deg.shape[-1], n)
    with torch.no_grad(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = score(estimate=deg[None, :, :n], reference=ref[None, :, :n], sample_rate=rate, metrics=names)
    for w in caught:
        log.warning("%s: %s", name, w.message)
    return {"name": name, "reference": str(ref_path), "degraded": str(deg_path), "sample_rate": rate,
            "seconds": round(n / rate, 4), "metrics": {k: float(v[0]) for k, v in values.items()}}


def means(rows: list[dict], names: list[str]) -> dict[str, float]:
    """Per-metric mean over rows, ignoring NaN (NaN when no row has a value)."""
    out = {}
    for n in names:
        vals = [r["metrics"][n] for r in rows if not math.isnan(r["metrics"][n])]
        out[n] = sum(vals) / len(vals) if vals else math.nan
    return out


# --------------------------------------------------------------------------- output


def format_table(rows: list[dict], names: list[str]) -> str:
    header = ["file", *names]
    body = [[r["name"], *(_fmt(r["metrics"][n]) for n in names)] for r in rows]
    if len(rows) > 1:
        m = means(rows, names)
        body.append([f"mean ({len(rows)} files)", *(_fmt(m[n]) for n in names)])
    return _table(header, body)


def format_json(rows: list[dict], names: list[str], failed: list[tuple[str, str]]) -> str:
    clean = [{**r, "metrics": {k: _finite(v) for k, v in r["metrics"].items()}} for r in rows]
    doc = {"metrics": names, "items": clean, "mean": {k: _finite(v) for k, v in means(rows, names).items()},
           "failed": [{"item": item, "reason": reason} for item, reason in failed]}
    return json.dumps(doc, indent=2) + "\n"


def format_csv(rows: list[dict], names: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["name", "reference", "degraded", "sample_rate", "seconds", *names])
    for r in rows:
        writer.writerow([r["name"], r["reference"], r["degraded"], r["sample_rate"], r["seconds"],
                         *(repr(r["metrics"][n]) for n in names)])
    return buf.getvalue()


def list_table() -> str:
    body = []
    for spec in METRICS.values():
        reason = spec.unavailable_reason
        body.append([spec.name, "higher" if spec.higher_is_better else "lower",
                     "yes" if spec.differentiable else "no", "yes" if spec.needs_sample_rate else "no",
                     "yes" if reason is None else f"no: {_install_hint(reason)}", spec.description])
    return _table(["metric", "better", "differentiable", "sample rate", "available", "description"], body)


def _install_hint(reason: str) -> str:
    """The ``pip install ...`` part of a missing-package reason, or the reason itself."""
    return reason[reason.index("pip install"):] if "pip install" in reason else reason


def _table(header: list[str], body: list[list[str]]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def _fmt(v: float) -> str:
    return "nan" if math.isnan(v) else ("inf" if math.isinf(v) and v > 0 else f"{v:.3f}")


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def _emit(text: str, out: str | None, inputs: list[Path]) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    out_path = Path(out)
    refuse_overwrite_input(inputs, out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, out_path)

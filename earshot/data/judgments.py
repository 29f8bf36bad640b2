"""Listener judgment lists: DPAM's tab-separated lists and earshot's own JSONL format.

DPAM (Manocha et al. 2020) lists: one pair per line, tab-separated
``reference<TAB>test<TAB>label[<TAB>type]``; label 1 = listeners heard a difference.

earshot's format (``.jsonl``), one JSON object per line::

    {"reference": "ref/0001.wav", "test": "test/0001.wav", "label": 0.75,
     "n_listeners": 8, "params": {"type": "mp3", "kbps": 32, ...}}

``label`` is the fraction of listeners who heard a difference (0..1), ``n_listeners`` how many
listened, ``params`` how the test was made (any JSON; may be empty). Relative paths are relative
to the list file's folder. ``write_judgments`` writes it; ``read_judgments`` reads both formats.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import Dataset

from earshot.audio.io import load
from earshot.errors import ConfigError, DataError
from earshot.validate import check_sample_rate


@dataclass
class Judgment:
    """One judged pair: reference and test paths, label in [0, 1], optional details."""

    reference: Path
    test: Path
    label: float
    n_listeners: int | None = None
    type: str | None = None
    params: dict = field(default_factory=dict)


def read_judgments(path, *, root=None, format: str = "auto") -> list[Judgment]:
    """Read a judgment list. ``format``: "auto" (.jsonl/.json -> earshot, else DPAM), "dpam", "earshot".

    Raises:
        DataError: unreadable file or a malformed line (names the file and line number).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such judgment list")
    base = Path(root) if root is not None else path.parent
    if format == "auto":
        format = "earshot" if path.suffix.lower() in (".jsonl", ".json") else "dpam"
    if format not in ("dpam", "earshot"):
        raise ConfigError(f"format must be 'auto', 'dpam' or 'earshot', got {format!r}")
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            out.append(_parse(line, base, format))
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path}:{number}: malformed {format} judgment ({exc})") from None
    if not out:
        raise DataError(f"{path}: no judgments in the list")
    return out


def _parse(line: str, base: Path, format: str) -> Judgment:
    if format == "dpam":
        fields = line.rstrip("\n").split("\t")
        if len(fields) not in (3, 4):
            raise ValueError(f"expected 3 or 4 tab-separated fields, got {len(fields)}")
        label = float(fields[2])
        kind = fields[3].strip() if len(fields) == 4 else None
        return Judgment(base / fields[0].strip(), base / fields[1].strip(), _check_label(label), None, kind)
    record = json.loads(line)
    n = record.get("n_listeners")
    params = record.get("params") or {}
    return Judgment(base / record["reference"], base / record["test"], _check_label(float(record["label"])),
                    None if n is None else int(n), params.get("type") if isinstance(params, dict) else None,
                    params if isinstance(params, dict) else {"value": params})


def _check_label(label: float) -> float:
    if not 0.0 <= label <= 1.0:
        raise ValueError(f"label {label} is outside [0, 1]")
    return label


def write_judgments(path, records) -> Path:
    """Write ``records`` (Judgment objects or dicts with the same keys) as earshot JSONL.

    Paths under the list's folder are written relative to it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for r in records:
        r = r if isinstance(r, dict) else {"reference": r.reference, "test": r.test, "label": r.label,
                                           "n_listeners": r.n_listeners, "params": r.params}
        entry = {"reference": _relative(r["reference"], path.parent), "test": _relative(r["test"], path.parent),
                 "label": float(_check_label(float(r["label"]))), "n_listeners": r.get("n_listeners"),
                 "params": r.get("params") or {}}
        lines.append(json.dumps(entry, sort_keys=True))
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def _relative(p, base: Path) -> str:
    p = Path(p)
    try:
        return str(p.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(p)


class JudgmentListDataset(Dataset):
    """Judged pairs as ``(reference (C, T), test (C, T), label ())`` float32 tensors.

    Args:
        path: a DPAM list (tab-separated) or an earshot ``.jsonl`` list.
        sample_rate: rate to load at (resampled). ``mono``: average channels.
        segment_seconds: ``None`` keeps whole clips (the shorter of a pair is zero-padded to the
            longer); a number crops or pads both to that length from the start, for batching.
    The judgments themselves are in ``.judgments`` (paths, label, listeners, type, params).
    """

    def __init__(self, path, *, root=None, format: str = "auto", sample_rate: int = 16000, mono: bool = True,
                 segment_seconds: float | None = None):
        self.judgments = read_judgments(path, root=root, format=format)
        self.sample_rate, self.mono = check_sample_rate(sample_rate), mono
        self.segment = None if segment_seconds is None else int(round(segment_seconds * self.sample_rate))

    def __len__(self) -> int:
        return len(self.judgments)

    def __getitem__(self, index: int):
        j = self.judgments[index]
        ref, _ = load(j.reference, sample_rate=self.sample_rate, mono=self.mono)
        test, _ = load(j.test, sample_rate=self.sample_rate, mono=self.mono)
        n = self.segment or max(ref.shape[-1], test.shape[-1])
        ref, test = (torch.nn.functional.pad(x, (0, max(0, n - x.shape[-1])))[..., :n] for x in (ref, test))
        return ref.contiguous(), test.contiguous(), torch.tensor(j.label, dtype=torch.float32)

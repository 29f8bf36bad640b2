"""Judgment lists: DPAM's tab-separated lists and earshot's JSON Lines format, read and written here.

DPAM (Manocha et al. 2020) lists: one pair per line, tab-separated
``reference<TAB>test<TAB>label[<TAB>type]``; label 1 = listeners heard a difference.

earshot's format (``.jsonl``), one JSON object per line::

    {"reference": "ref/0001.wav", "test": "test/0001.wav", "label": 0.75,
     "n_listeners": 8, "params": {"type": "mp3", "kbps": 32, ...}}

``label`` is the fraction of listeners who heard a difference (0..1), ``n_listeners`` how many
listened, ``params`` how the test was made (any JSON; may be empty). Paths are written relative
to the list file's folder (``../stimuli/a.wav`` where needed) and read relative to it.
`write_judgments` writes a list, `judgments_text` gives the same lines for a download (with
paths relative to ``base``, or absolute without one); `read_judgments` reads both formats.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from earshot.errors import ConfigError, DataError

FORMATS = ("dpam", "earshot")


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

    Relative paths are taken relative to ``root`` (default: the list's folder).

    Raises:
        DataError: unreadable file or a malformed line (names the file and line number).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such judgment list")
    base = Path(root) if root is not None else path.parent
    if format == "auto":
        format = "earshot" if path.suffix.lower() in (".jsonl", ".json") else "dpam"
    if format not in FORMATS:
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


def judgments_text(records, *, base=None) -> str:
    """earshot JSON Lines for ``records`` (`Judgment` objects or dicts with the same keys).

    Paths are written relative to the folder ``base`` (where the list will live), or absolute
    when ``base`` is ``None``. Raises ConfigError for a label outside [0, 1].
    """
    lines = []
    for r in records:
        r = r if isinstance(r, dict) else {"reference": r.reference, "test": r.test, "label": r.label,
                                           "n_listeners": r.n_listeners, "params": r.params}
        try:
            label = _check_label(float(r["label"]))
        except ValueError as exc:
            raise ConfigError(f"judgment {r['reference']} / {r['test']}: {exc}") from None
        entry = {"reference": _path_text(r["reference"], base), "test": _path_text(r["test"], base),
                 "label": label, "n_listeners": r.get("n_listeners"), "params": r.get("params") or {}}
        lines.append(json.dumps(entry, sort_keys=True) + "\n")
    return "".join(lines)


def write_judgments(path, records) -> Path:
    """Write ``records`` as an earshot JSON Lines list at ``path`` (atomically); returns the path.

    Paths are written relative to the list's folder, so the list moves with its audio.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(judgments_text(records, base=path.parent), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _path_text(p, base) -> str:
    p = Path(p).resolve()
    if base is None:
        return str(p)
    try:
        return Path(os.path.relpath(p, Path(base).resolve())).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return str(p)

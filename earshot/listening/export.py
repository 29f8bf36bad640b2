"""Export stored answers: JND judgments for training, CSV tables with summaries for A/B and MUSHRA.

``--format jnd`` writes earshot's judgment list (JSON Lines, written and read by
`earshot.psycho.judgments`, so ``earshot train jnd recipe.lists=FILE`` trains on it), one line
per (reference, test) pair:

    {"reference": "stim/ref.wav", "test": "stim/level_12.wav", "label": 0.666667, "n_listeners": 3,
     "params": {"sequence": "s0", "level": 12, "n_levels": 16, "n_judgments": 3,
                "n_different": 2, "experiment": "x", "type": "mp3", ...level params}}

``label`` is the share of answers "different" (0..1) over the pair's ``n_judgments`` answers
from ``n_listeners`` people (the adaptive procedure may show one person a level twice). With
``per_judgment=True`` every answer is its own line, label 0 or 1. Paths are relative to the list.
Judgments from participants flagged by catch trials, and from sequences whose catch trials
failed, are left out unless ``include_flagged``.

``--format csv`` writes one row per answer (per rating for MUSHRA) to ``OUT`` and the summary
(`earshot.listening.stats`) to ``OUT`` with ``_summary.csv``. A text cell that a spreadsheet
would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return,
e.g. a stimulus named ``=HYPERLINK(...)``) is written with a leading ``'`` (OWASP's CSV
injection advice); numbers are written as they are.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import select

from earshot.errors import ConfigError
from earshot.listening import stats
from earshot.listening.store import Answer, Participant, SequenceRow, Store, Trial


def load_records(store: Store, name: str) -> tuple[str, list[dict]]:
    """``(experiment type, records)``: one dict per answered main trial, in participant order."""
    with store.transaction() as s:
        exp = store.experiment(s, name)
        if exp is None:
            known = ", ".join(e.name for e in store.experiments()) or "none"
            raise ConfigError(f"no experiment {name!r} in {store.safe_url} (known: {known})")
        rows = s.execute(
            select(Answer, Trial, Participant, SequenceRow)
            .join(Trial, Answer.trial_id == Trial.id).join(Participant, Answer.participant_id == Participant.id)
            .outerjoin(SequenceRow, Trial.sequence_id == SequenceRow.id)
            .where(Participant.experiment_id == exp.id, Trial.phase == "main")
            .order_by(Participant.id, Trial.index)).all()
        root = Path(exp.root)
        return exp.type, [_record(exp.type, root, *row) for row in rows]


def _record(kind: str, root: Path, a: Answer, t: Trial, p: Participant, seq: SequenceRow | None) -> dict:
    rec = {"participant": p.id, "status": p.status, "flagged": p.flagged, "index": t.index,
           "replays": a.replays, "elapsed_ms": a.elapsed_ms, "answered_at": a.created_at.isoformat()}
    pay = t.payload
    if kind == "mushra":
        rec.update(item=pay["item"], ratings=a.result["ratings"])
    elif kind == "ab":
        rec.update(item=pay["item"], conditions=a.result["conditions"], choice=a.response["choice"],
                   preferred=a.result["preferred"])
    else:
        rec.update(sequence=pay["sequence"], level=pay["level"], n_levels=pay["n_levels"],
                   different=a.response["different"], params=pay.get("params") or {},
                   reference=str(root / pay["stimuli"][pay["reference_id"]]),
                   test=str(root / pay["stimuli"][pay["test_id"]]),
                   checks_failed=bool(seq and seq.checks_failed))
    return rec


def jnd_lines(records: list[dict], *, experiment: str, per_judgment: bool = False,
              include_flagged: bool = False) -> list[dict]:
    """Judgment-list lines (see the module docstring) from JND records."""
    kept = [r for r in records if include_flagged or not (r["flagged"] or r["checks_failed"])]
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for i, r in enumerate(kept):
        groups[(i,) if per_judgment else (r["reference"], r["test"])].append(r)
    lines = []
    for rows in groups.values():
        first = rows[0]
        n_diff = sum(r["different"] for r in rows)
        params = {**first["params"], "sequence": first["sequence"], "level": first["level"],
                  "n_levels": first["n_levels"], "n_judgments": len(rows), "n_different": n_diff,
                  "experiment": experiment}
        lines.append({"reference": first["reference"], "test": first["test"],
                      "label": round(n_diff / len(rows), 6),
                      "n_listeners": len({r["participant"] for r in rows}), "params": params})
    return lines


def summary(kind: str, records: list[dict]) -> tuple[list[stats.ConditionSummary], dict]:
    """The summary rows of an experiment and notes (participants screened out of it)."""
    if kind == "mushra":
        excluded = stats.mushra_screen(records)
        return stats.mushra_summary(records, exclude=excluded), {"excluded_participants": sorted(excluded)}
    if kind == "ab":
        return stats.ab_summary(records), {}
    kept = [r for r in records if not (r["flagged"] or r["checks_failed"])]
    return [], {"fits": [asdict(f) for f in stats.jnd_fits(kept)]}


RAW_COLUMNS = {
    "mushra": ["participant", "item", "condition", "rating", "replays", "elapsed_ms", "answered_at"],
    "ab": ["participant", "item", "condition_a", "condition_b", "choice", "preferred", "replays",
           "elapsed_ms", "answered_at"],
    "jnd": ["participant", "flagged", "sequence", "level", "n_levels", "different", "checks_failed",
            "reference", "test", "replays", "elapsed_ms", "answered_at"],
}


def raw_table(kind: str, records: list[dict]) -> tuple[list[str], list[dict]]:
    """Columns and rows of the raw CSV: one row per answer (per rating for MUSHRA)."""
    rows = []
    for r in records:
        if kind == "mushra":
            rows += [{**r, "condition": c, "rating": v} for c, v in sorted(r["ratings"].items())]
        elif kind == "ab":
            rows.append({**r, "condition_a": r["conditions"][0], "condition_b": r["conditions"][1],
                         "preferred": r["preferred"] or ""})
        else:
            rows.append({**r, "different": int(r["different"]), "flagged": int(r["flagged"]),
                         "checks_failed": int(r["checks_failed"])})
    return RAW_COLUMNS[kind], rows


def summary_table(kind: str, records: list[dict]) -> tuple[list[str], list[dict]]:
    """Columns and rows of the summary CSV (per-condition means and CIs, or JND fits)."""
    rows, notes = summary(kind, records)
    if kind == "jnd":
        return ["sequence", "n_levels", "n_listeners", "n_answers", "mu", "sigma"], notes["fits"]
    cols = ["condition", "versus", "n", "mean", "ci_low", "ci_high"]
    return cols, [{k: round(v, 6) if isinstance(v, float) else v for k, v in asdict(r).items()} for r in rows]


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """``value``, or for text a spreadsheet would run as a formula, the text after a ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_text(columns: list[str], rows: list[dict]) -> str:
    """A CSV document (header + rows; extra keys in rows are ignored); formula text neutralised."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    w.writerow({c: safe_cell(c) for c in columns})
    w.writerows({k: safe_cell(v) for k, v in row.items()} for row in rows)
    return buf.getvalue()


def write_csv(kind: str, records: list[dict], out: Path) -> Path:
    """Write the raw table to ``out`` and the summary beside it; returns the summary's path."""
    out = Path(out)
    out.write_text(csv_text(*raw_table(kind, records)))
    summary_path = out.with_name(out.stem + "_summary.csv")
    summary_path.write_text(csv_text(*summary_table(kind, records)))
    return summary_path


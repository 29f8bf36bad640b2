"""Summarise a device check folder (scripts/device_check.sh): one table of stages plus the
benchmarks' own tables, written to OUT/summary.md and OUT/results.json and printed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

TAIL_LINES = 40  # the benchmarks print their tables last


def read_stages(out: Path) -> list[dict]:
    rows = []
    for line in (out / "stages.tsv").read_text().splitlines():
        name, rc, seconds, command = line.split("\t", 3)
        rows.append({"stage": name, "exit": int(rc), "seconds": int(seconds), "command": command})
    return rows


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else ""


def main(out: Path) -> int:
    stages = read_stages(out)
    logs = out / "logs"
    md = ["| stage | exit | seconds | command |", "|---|---|---|---|"]
    md += [f"| {s['stage']} | {s['exit']} | {s['seconds']} | `{s['command']}` |" for s in stages]
    for s in stages:
        md += ["", f"## {s['stage']} (last lines of its log)", "", "```", tail(logs / f"{s['stage']}.log"), "```"]
    results = {"stages": stages}
    for name in ("bench_losses", "bench_training"):
        path = logs / f"{name}.json"
        if path.is_file():
            results[name] = json.loads(path.read_text())
    (out / "summary.md").write_text("\n".join(md) + "\n")
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print("\n".join(md))
    return 0 if all(s["exit"] == 0 for s in stages) else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))

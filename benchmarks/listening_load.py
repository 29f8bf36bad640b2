"""Load test of the web listening app on SQLite and on PostgreSQL.

50 simulated participants (asyncio + httpx over loopback) answer 2,000 trials of a synthetic
A/B test as fast as ``earshot listen serve`` (one uvicorn process) replies; every tenth answer
is POSTed twice with the same idempotency key, as a client retry would. Afterwards the
database is counted: answers sent (acknowledged), stored, lost, duplicated; and the request
rate, and the CPU time the server process and the simulated clients spent per request (on a
busy machine the wall-clock rate mostly measures the other load; ``1000 / server CPU ms``
bounds what the single server process can do alone). PostgreSQL is a throwaway server
initdb'ed into a temporary folder.

    python benchmarks/listening_load.py [--quick] [--participants 50] [--answers 2000]
                                        [--databases sqlite,postgresql] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path


def _run(kind: str, experiment: Path, tmp: str, participants: int, answers: int):
    from earshot.listening.testing import TemporaryPostgres, run_load_test

    if kind == "sqlite":
        return run_load_test(experiment, str(Path(tmp) / "bench.db"), participants=participants, answers=answers)
    with TemporaryPostgres() as pg:
        return run_load_test(experiment, pg.url, participants=participants, answers=answers)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20 participants, 400 answers")
    parser.add_argument("--participants", type=int, default=None)
    parser.add_argument("--answers", type=int, default=None)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    participants = args.participants or (20 if args.quick else 50)
    answers = args.answers or (400 if args.quick else 2000)

    from earshot.listening.testing import make_load_experiment

    rows, ok = [], True
    with tempfile.TemporaryDirectory() as tmp:
        experiment = make_load_experiment(tmp, answers_per_participant=-(-answers // participants))
        for kind in [d.strip() for d in args.databases.split(",") if d.strip()]:
            result = _run(kind, experiment, tmp, participants, answers)
            ok &= result.ok
            rows.append({"database": kind, "participants": participants, "sent": result.sent,
                         "stored": result.stored, "lost": result.lost, "duplicated": result.duplicated,
                         "retried_posts": result.retries, "retries_recognised": result.duplicate_replies,
                         "requests": result.requests, "seconds": round(result.seconds, 3),
                         "requests_per_second": round(result.requests_per_second, 1),
                         "answers_per_second": round(result.answers_per_second, 1),
                         "server_cpu_ms_per_request": None if result.server_cpu_seconds is None else
                         round(1000 * result.server_cpu_seconds / result.requests, 3),
                         "client_cpu_ms_per_request": round(1000 * result.client_cpu_seconds / result.requests, 3),
                         "errors": result.errors[:3]})
            print(result.describe(), flush=True)
    header = ["database", "participants", "sent", "stored", "lost", "duplicated", "requests", "seconds",
              "requests_per_second", "server_cpu_ms_per_request", "client_cpu_ms_per_request"]
    print("\n" + " | ".join(header))
    for r in rows:
        print(" | ".join(str(r[h]) for h in header))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

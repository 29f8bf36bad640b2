"""The large listening load test: simulated participants on PostgreSQL, kill -9 of the server midway.

    python scripts/listening_crash_test.py                       # 500 participants, 20,000 answers
    python scripts/listening_crash_test.py --participants 50 --answers 2000 --db sqlite

Starts a PostgreSQL server of its own (initdb into a temporary folder, loopback port) unless
``--db sqlite``, serves a synthetic A/B experiment, and when half of the answers are
acknowledged kills the server with SIGKILL and starts a new one on the same port. Every answer
the server acknowledged must be stored exactly once (exit status 0), see docs/listening.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from earshot.listening.testing import TemporaryPostgres, make_load_experiment, run_crash_load_test


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--participants", type=int, default=500)
    p.add_argument("--answers", type=int, default=20000)
    p.add_argument("--kill-at", type=float, default=0.5, help="share of answers acknowledged before kill -9")
    p.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        experiment = make_load_experiment(tmp, answers_per_participant=-(-args.answers // args.participants))
        start = time.monotonic()
        if args.db == "sqlite":
            out = run_crash_load_test(experiment, str(Path(tmp) / "load.db"), participants=args.participants,
                                      answers=args.answers, kill_at=args.kill_at)
        else:
            with TemporaryPostgres() as pg:
                out = run_crash_load_test(experiment, pg.url, participants=args.participants,
                                          answers=args.answers, kill_at=args.kill_at)
    result = out["result"]
    print(result.describe())
    print(f"kill -9 after {out['acknowledged_at_kill']} acknowledged answers; new server up in "
          f"{out['restart_seconds']:.1f} s; wall {time.monotonic() - start:.0f} s; "
          f"{'OK: nothing lost or duplicated' if result.ok else 'FAILED'}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Load: 50 concurrent simulated participants post 2,000 answers over loopback, on SQLite and on
PostgreSQL; the database must hold every acknowledged answer exactly once.

Every tenth answer is POSTed twice with the same idempotency key (a client retry); the server
must recognise each and store nothing more. The numbers are printed (pytest shows them).
"""

from __future__ import annotations

import asyncio

from earshot.listening.loadtest import count_in_db, simulate
from earshot.listening.store import Store
from earshot.listening.testing import AppServer

PARTICIPANTS, ANSWERS = 50, 2000


def check(result, capsys, label: str) -> None:
    with capsys.disabled():
        print(f"\n[load test, {label}] {result.describe()}")
    assert not result.errors, result.errors[:3]
    assert result.sent == ANSWERS and result.participants == PARTICIPANTS
    assert result.stored == ANSWERS and result.lost == 0 and result.duplicated == 0
    assert result.unacknowledged == 0
    assert result.retries == ANSWERS // 10 and result.duplicate_replies == result.retries


def run(server, db: str):
    before = server.cpu_seconds()
    result = asyncio.run(simulate(server.url, "load", participants=PARTICIPANTS, answers=ANSWERS))
    result.server_cpu_seconds = server.cpu_seconds() - before
    store = Store(db, create=False)
    try:
        count_in_db(result, store)
        counts = store.counts("load")
    finally:
        store.dispose()
    return result, counts


def test_load_sqlite(live, capsys):
    result, counts = run(live, live.db)
    check(result, capsys, "SQLite")
    assert counts["answers"] == counts["distinct_trials"] >= ANSWERS


def test_load_postgresql(postgres, experiments, capsys):
    with AppServer([experiments["load"]], postgres.url) as server:
        result, counts = run(server, postgres.url)
    check(result, capsys, "PostgreSQL")
    assert counts["answers"] == counts["distinct_trials"] == ANSWERS


def test_kill_9_in_the_middle_loses_and_duplicates_nothing_on_postgresql(postgres, tmp_path):
    # the large run (500 participants, 20,000 answers) is scripts/listening_crash_test.py;
    # its figures are in docs/listening.md
    from earshot.listening.testing import make_load_experiment, run_crash_load_test

    experiment = make_load_experiment(tmp_path, answers_per_participant=20, name="crash")
    out = run_crash_load_test(experiment, postgres.url, participants=50, answers=1000, kill_at=0.5)
    result = out["result"]
    assert 500 <= out["acknowledged_at_kill"] < 1000  # killed in the middle, not after the end
    assert not result.errors, result.errors[:3]
    assert result.sent == 1000 and result.stored == 1000
    assert result.lost == 0 and result.duplicated == 0 and result.unacknowledged == 0


def test_loadtest_logs_requests_at_debug_not_info(live, caplog):
    import logging

    caplog.set_level(logging.INFO)
    asyncio.run(simulate(live.url, "load", participants=2, answers=4, duplicate_every=0))
    assert not [r for r in caplog.records if r.name.startswith("httpx")]  # was one INFO line per request
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    asyncio.run(simulate(live.url, "load", participants=2, answers=4, duplicate_every=0))
    shown = [r for r in caplog.records if r.name.startswith("httpx") and "HTTP Request" in r.getMessage()]
    assert shown and all(r.levelno == logging.DEBUG for r in shown)

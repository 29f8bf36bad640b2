"""Fixtures for the web listening test: tiny stimuli made here, a real server, a real PostgreSQL.

Every stimulus is 0.2 s at 16 kHz, written by `make_stimuli`; the experiments are YAML files
beside them. ``live`` is ``earshot listen serve`` on a SQLite file in a child process (one for
the whole session); ``postgres`` is a PostgreSQL server initdb'ed into a temporary folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from listening_helpers import ADMIN, make_stimuli


@pytest.fixture(scope="session")
def experiments(tmp_path_factory) -> dict[str, Path]:
    return make_stimuli(tmp_path_factory.mktemp("listening"))


@pytest.fixture(scope="session")
def live(experiments, tmp_path_factory):
    """A real server (child process, loopback) on a SQLite file, serving every test experiment."""
    from earshot.listening.testing import AppServer

    db = tmp_path_factory.mktemp("db") / "live.db"
    with AppServer(list(experiments.values()), str(db), admin_token=ADMIN) as server:
        server.db = str(db)
        yield server


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of the suite's own (initdb in a temporary folder, loopback port)."""
    from earshot.listening.testing import TemporaryPostgres

    with TemporaryPostgres() as pg:
        yield pg

"""The fuzz tests' session hook: write the tallies when ``EARSHOT_FUZZ_REPORT`` names a file."""

from __future__ import annotations

import json
import os

from fuzz_helpers import TALLY


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("EARSHOT_FUZZ_REPORT")
    if path and TALLY:
        with open(path, "w") as f:
            json.dump({"exit_status": int(exitstatus), "targets": dict(TALLY)}, f, indent=1, sort_keys=True)

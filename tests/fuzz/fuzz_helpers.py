"""Shared settings and tallies of the fuzz tests (imported by conftest and the tests).

Every target runs a seeded, bounded number of cases (``derandomize=True``: the same cases on
every run). ``EARSHOT_FUZZ_EXAMPLES=N`` runs N cases per target instead (the long campaign in
docs/reliability.md); ``EARSHOT_FUZZ_REPORT=FILE`` writes each target's tally (cases, clear
earshot errors, values returned) there as JSON when the session ends.
"""

from __future__ import annotations

import os
from collections import defaultdict

from hypothesis import HealthCheck, settings

from earshot.errors import EarshotError

EXAMPLES = int(os.environ.get("EARSHOT_FUZZ_EXAMPLES", "0"))
TALLY: dict[str, dict[str, int]] = defaultdict(lambda: {"cases": 0, "earshot_errors": 0, "values": 0})


def fuzz_settings(default: int) -> settings:
    """``default`` cases in CI (a few seconds), or ``$EARSHOT_FUZZ_EXAMPLES``; always derandomized."""
    return settings(max_examples=EXAMPLES or default, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=True)


def attempt(target: str, fn, *args, **kwargs):
    """Run ``fn``; an EarshotError is a clear answer (returns None). Any other exception
    propagates and fails the test: a raw traceback is what the campaign hunts."""
    TALLY[target]["cases"] += 1
    try:
        out = fn(*args, **kwargs)
    except EarshotError:
        TALLY[target]["earshot_errors"] += 1
        return None
    TALLY[target]["values"] += 1
    return out

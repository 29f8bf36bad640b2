"""Summaries of listening-test results: per-condition means with 95% confidence intervals.

- MUSHRA: the mean rating of each condition (hidden reference and anchors included), with a
  Student-t interval over ratings. Assessors are screened as ITU-R BS.1534-3 recommends: one
  who rates the hidden reference below 90 in more than 15% of their items is left out.
- A/B: each condition's preference score (1 when chosen, 0 when the other was, 0.5 for "no
  preference") over every comparison it was in, with a Student-t interval; and per pair the
  share of decided trials won by each side, with a Wilson score interval.
- JND: per sequence, a psychometric fit (the adaptive procedure's MAP fit, every answer weighed
  equally) pooled over listeners: threshold ``mu`` and width ``sigma`` in levels.

Intervals treat answers as independent (repeated answers of one person are not modelled).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps


@dataclass
class ConditionSummary:
    """One row of a summary: ``condition`` (against ``versus`` for A/B pairs), n answers, mean, CI."""

    condition: str
    n: int
    mean: float
    ci_low: float
    ci_high: float
    versus: str = ""


@dataclass
class SequenceFit:
    """A JND sequence's pooled psychometric fit (levels) and how many listeners and answers made it."""

    sequence: str
    n_levels: int
    n_listeners: int
    n_answers: int
    mu: float
    sigma: float


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)`` of a Student-t interval; the interval is NaN for fewer than 2 values."""
    x = np.asarray(list(values), dtype=np.float64)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan
    half = float(sps.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """``(proportion, low, high)``: the Wilson score interval of a binomial proportion
    (scipy's ``binomtest(...).proportion_ci("wilson")``); NaN for ``n == 0``."""
    if n == 0:
        return math.nan, math.nan, math.nan
    ci = sps.binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return successes / n, float(ci.low), float(ci.high)


def mushra_screen(records, *, threshold: float = 90.0, max_share: float = 0.15) -> set:
    """Participants who rated the hidden reference below ``threshold`` in over ``max_share`` of items."""
    low, total = defaultdict(int), defaultdict(int)
    for r in records:
        rating = r["ratings"].get("reference")
        if rating is None:
            continue
        total[r["participant"]] += 1
        low[r["participant"]] += rating < threshold
    return {p for p in total if low[p] > max_share * total[p]}


def mushra_summary(records, *, exclude=frozenset()) -> list[ConditionSummary]:
    """Per-condition mean rating and 95% CI. ``records``: dicts with participant, ratings."""
    by_cond = defaultdict(list)
    for r in records:
        if r["participant"] in exclude:
            continue
        for cond, value in r["ratings"].items():
            by_cond[cond].append(value)
    return [ConditionSummary(c, len(v), *mean_ci(v)) for c, v in sorted(by_cond.items())]


def ab_summary(records) -> list[ConditionSummary]:
    """Per-condition preference scores (``versus == "*"``) and per-pair win shares.

    ``records``: dicts with conditions ``[a, b]`` and preferred (a condition or None).
    """
    scores = defaultdict(list)
    pairs = defaultdict(lambda: [0, 0])  # (x, y) sorted -> [x wins, decided]
    for r in records:
        a, b = r["conditions"]
        pref = r["preferred"]
        for c in (a, b):
            scores[c].append(0.5 if pref is None else float(pref == c))
        if pref is not None:
            x, y = sorted((a, b))
            pairs[(x, y)][0] += pref == x
            pairs[(x, y)][1] += 1
    out = [ConditionSummary(c, len(v), *mean_ci(v), versus="*") for c, v in sorted(scores.items())]
    for (x, y), (wins, decided) in sorted(pairs.items()):
        out.append(ConditionSummary(x, decided, *wilson(wins, decided), versus=y))
        out.append(ConditionSummary(y, decided, *wilson(decided - wins, decided), versus=x))
    return out


def jnd_fits(records) -> list[SequenceFit]:
    """Pooled per-sequence fits. ``records``: dicts with participant, sequence, level, n_levels, different."""
    from earshot.psycho.staircase import AdaptiveStaircase

    groups = defaultdict(list)
    for r in records:
        groups[(r["sequence"], r["n_levels"])].append(r)
    out = []
    for (name, n_levels), rows in sorted(groups.items()):
        stair = AdaptiveStaircase(n_levels=n_levels, recency=1.0)
        for r in rows:
            stair.update(r["level"], r["different"])
        mu, sigma = stair.fit()
        out.append(SequenceFit(name, n_levels, len({r["participant"] for r in rows}), len(rows), mu, sigma))
    return out

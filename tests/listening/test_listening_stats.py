"""Summary statistics against values worked out by hand (and scipy's t and normal quantiles)."""

from __future__ import annotations

import math

import pytest

from earshot.listening import stats


def test_mean_ci_student_t():
    mean, low, high = stats.mean_ci([1, 2, 3, 4, 5])
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)  # t(0.975, 4) * s / sqrt(n)
    assert (mean, low, high) == pytest.approx((3.0, 3 - half, 3 + half))
    assert stats.mean_ci([7.0])[0] == 7.0 and math.isnan(stats.mean_ci([7.0])[1])
    assert all(math.isnan(v) for v in stats.mean_ci([]))
    assert stats.mean_ci([4, 4, 4]) == (4.0, 4.0, 4.0)


def test_wilson_interval():
    p, low, high = stats.wilson(8, 10)
    assert p == 0.8 and low == pytest.approx(0.4901625, abs=1e-6) and high == pytest.approx(0.9433178, abs=1e-6)
    assert stats.wilson(0, 5)[1] == pytest.approx(0.0, abs=1e-12) and stats.wilson(5, 5)[2] == pytest.approx(1.0)
    assert math.isnan(stats.wilson(0, 0)[0])


def test_ab_summary():
    recs = [{"conditions": ["x", "y"], "preferred": p} for p in ("x", "x", "y", None, "x")]
    rows = {(r.condition, r.versus): r for r in stats.ab_summary(recs)}
    assert rows[("x", "*")].mean == pytest.approx(0.7) and rows[("y", "*")].mean == pytest.approx(0.3)
    assert rows[("x", "*")].n == rows[("y", "*")].n == 5
    pair = rows[("x", "y")]
    assert (pair.n, pair.mean) == (4, 0.75)
    assert (pair.ci_low, pair.ci_high) == pytest.approx(stats.wilson(3, 4)[1:])
    assert rows[("y", "x")].mean == 0.25


def test_mushra_screening_and_summary():
    recs = [{"participant": 1, "ratings": {"reference": 100, "codec": 40}},
            {"participant": 1, "ratings": {"reference": 80, "codec": 50}},
            {"participant": 2, "ratings": {"reference": 95, "codec": 60}},
            {"participant": 2, "ratings": {"reference": 100, "codec": 70}}]
    assert stats.mushra_screen(recs) == {1}  # hidden reference below 90 in 1 of 2 items (> 15%)
    rows = {r.condition: r for r in stats.mushra_summary(recs, exclude={1})}
    assert rows["codec"].mean == 65 and rows["reference"].mean == 97.5 and rows["codec"].n == 2


def test_jnd_fits_find_the_threshold():
    recs = [{"participant": p, "sequence": "s", "n_levels": 16, "level": lv, "different": lv >= 9}
            for p in range(3) for lv in range(16)]
    (fit,) = stats.jnd_fits(recs)
    assert (fit.n_listeners, fit.n_answers) == (3, 48)
    assert 8.0 <= fit.mu <= 9.0 and fit.sigma < 2.0

"""AdaptiveStaircase: the checks come first, the fit converges to a simulated threshold, state round-trips."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import ndtr

from earshot.errors import ConfigError, DataError
from earshot.psycho.staircase import AdaptiveStaircase


def _simulate(stair, mu, sigma, trials, seed):
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        level = stair.next_level()
        stair.update(level, bool(rng.random() < ndtr((level - mu) / sigma)))
    return stair


def test_sequence_starts_with_identical_then_maximal_pair():
    s = AdaptiveStaircase(n_levels=64, seed=0)
    assert s.next_level() == 0
    s.update(0, False)
    assert s.next_level() == 63
    s.update(63, True)
    assert not s.checks_failed
    assert 1 <= s.next_level() <= 63


@pytest.mark.parametrize("true_mu,true_sigma", [(12.0, 2.0), (40.0, 4.0)])
def test_fit_converges_to_simulated_threshold(true_mu, true_sigma):
    errors = []
    for seed in range(4):
        s = _simulate(AdaptiveStaircase(seed=seed, recency=0.97), true_mu, true_sigma, 40, seed + 100)
        mu, sigma = s.fit()
        errors.append(abs(mu - true_mu))
        assert 0.25 <= sigma <= 64
    assert np.median(errors) < 3.0, errors
    # levels concentrate near the threshold once the checks are done
    assert abs(np.median(s.levels[10:]) - true_mu) < 6


def test_fit_without_answers_is_the_prior_and_prior_shrinks():
    s = AdaptiveStaircase(prior_mu=20.0, prior_sigma=4.0)
    mu, sigma = s.fit()
    assert abs(mu - 20.0) <= 0.5 and abs(sigma - 4.0) / 4.0 < 0.15
    # one "different" at level 5 alone: a strong prior keeps the threshold nearer 20
    weak = AdaptiveStaircase(prior_mu=20.0, prior_strength=0.05)
    strong = AdaptiveStaircase(prior_mu=20.0, prior_strength=20.0)
    for st in (weak, strong):
        st.update(5, True)
        st.update(3, False)
    assert abs(strong.fit()[0] - 20) < abs(weak.fit()[0] - 20)


def test_recency_weights_follow_a_changing_listener():
    # early answers say threshold ~ 50, later ones ~ 10: recency weighting follows the late ones
    levels = np.random.default_rng(0).permutation(np.arange(5, 64, 4))
    fits = {}
    for rec in (1.0, 0.9):
        s = AdaptiveStaircase(recency=rec, prior_strength=0.1)
        for lvl in levels:
            s.update(int(lvl), bool(lvl > 50))
        for lvl in np.concatenate([levels, levels]):
            s.update(int(lvl), bool(lvl > 10))
        fits[rec] = s.fit()[0]
    assert abs(fits[0.9] - 10) < abs(fits[1.0] - 10)
    assert abs(fits[0.9] - 10) < 4


def test_checks_failed_detects_catch_trials():
    s = AdaptiveStaircase(n_levels=16)
    s.update(0, True)
    assert s.checks_failed
    t = AdaptiveStaircase(n_levels=16)
    t.update(0, False)
    t.update(15, False)
    assert t.checks_failed


def test_state_round_trips_through_json_and_continues_identically():
    a = _simulate(AdaptiveStaircase(seed=3), 20, 3, 8, 0)
    state = json.loads(json.dumps(a.state_dict()))
    b = AdaptiveStaircase.from_state(state)
    assert b.levels == a.levels and b.answers == a.answers and b.fit() == a.fit()
    assert [a.next_level() for _ in range(5)] == [b.next_level() for _ in range(5)]


def test_bad_arguments_raise():
    with pytest.raises(ConfigError):
        AdaptiveStaircase(n_levels=2)
    with pytest.raises(ConfigError):
        AdaptiveStaircase(recency=0)
    s = AdaptiveStaircase(n_levels=8)
    with pytest.raises(DataError):
        s.update(8, True)
    with pytest.raises(DataError):
        AdaptiveStaircase.from_state({"version": 99})

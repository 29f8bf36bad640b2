"""Statistics of the evaluations and experiments: AUC, fitted threshold, 2-fold accuracy, Spearman,
the t-interval over seeds and the paired Wilcoxon test."""

from __future__ import annotations

import numpy as np
import pytest

from earshot.metrics.stats import auc, best_threshold, cv_accuracy, paired_wilcoxon, spearman, t_interval


def test_auc_matches_the_pairwise_definition():
    score = np.array([0.1, 0.4, 0.35, 0.8])
    label = np.array([0, 0, 1, 1])
    assert auc(score, label) == pytest.approx(0.75)  # 3 of 4 positive-negative pairs ordered right
    assert auc(np.array([1.0, 1.0]), np.array([0, 1])) == pytest.approx(0.5)
    assert np.isnan(auc(score, np.ones(4)))


def test_threshold_and_cross_validated_accuracy():
    score = np.array([0.0, 0.1, 0.2, 0.9, 1.0, 1.1])
    label = np.array([0, 0, 0, 1, 1, 1])
    t = best_threshold(score, label)
    assert 0.2 < t < 0.9
    fold = np.array([0, 1, 0, 1, 0, 1])
    assert cv_accuracy(score, label, fold) == pytest.approx(1.0)
    # a reversed metric cannot score above chance with a threshold fitted on the other fold
    assert cv_accuracy(-score, label, fold) <= 0.5


def test_spearman_ignores_nan_and_constant_input():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3, np.nan, 5], [1, 2, 3, 4, 5]) == pytest.approx(1.0)
    assert np.isnan(spearman([1, 2, 3], [1, 1, 1]))


def test_t_interval_matches_the_textbook_formula():
    # mean 2, sample sd 1, n 3: half width t_{0.975, 2} / sqrt(3) = 4.302653 / 1.732051
    mean, low, high = t_interval([1.0, 2.0, 3.0, float("nan")])
    assert mean == pytest.approx(2.0) and high - mean == pytest.approx(4.302653 / 3**0.5, rel=1e-6)
    assert mean - low == pytest.approx(high - mean)
    one = t_interval([5.0])
    assert one[0] == 5.0 and np.isnan(one[1]) and np.isnan(one[2])


def test_paired_wilcoxon_against_scipy_and_edge_cases():
    from scipy.stats import wilcoxon

    a = np.array([2.1, 3.4, 1.9, 5.0, 4.4, 3.3, 2.8])
    b = np.array([1.0, 3.0, 2.0, 4.1, 3.0, 3.0, 1.5])
    diff, p = paired_wilcoxon(a, b)
    assert diff == pytest.approx(np.median(a - b)) and p == pytest.approx(wilcoxon(a, b).pvalue)
    # all 6 differences positive: the exact two-sided p is 2 / 2**6
    assert paired_wilcoxon(np.arange(6) + 1.0, np.zeros(6))[1] == pytest.approx(2 / 64)
    assert paired_wilcoxon([1.0, 2.0], [1.0, 2.0]) == (0.0, 1.0)
    assert np.isnan(paired_wilcoxon([1.0, np.nan], [0.0, 0.0])[1])

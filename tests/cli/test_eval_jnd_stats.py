"""Statistics of `earshot eval jnd`: AUC, fitted threshold, 2-fold accuracy, Spearman."""

from __future__ import annotations

import numpy as np
import pytest

from earshot.cli.evals.jnd import auc, best_threshold, cv_accuracy, spearman


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

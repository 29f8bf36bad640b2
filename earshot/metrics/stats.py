"""Statistics of results, shared by the evaluations and the experiments (below both of them).

Ranking: ROC AUC, a fitted decision threshold and its cross-validated accuracy, Spearman's rho.
Comparing losses over seeds: a Student-t interval of a mean over seeds, and a paired Wilcoxon
signed-rank test over the same test items.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps


def auc(score: np.ndarray, label: np.ndarray) -> float:
    """ROC AUC of ``score`` for binary ``label`` (ties count half)."""
    pos, neg = score[label > 0.5], score[label <= 0.5]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    return float(greater + 0.5 * ties)


def best_threshold(score: np.ndarray, label: np.ndarray) -> float:
    """The threshold on ``score`` (predict "different" above it) with the best accuracy."""
    cands = np.unique(score)
    cands = np.concatenate([[cands[0] - 1.0], (cands[1:] + cands[:-1]) / 2, [cands[-1] + 1.0]])
    acc = [((score > c) == (label > 0.5)).mean() for c in cands]
    return float(cands[int(np.argmax(acc))])


def cv_accuracy(score: np.ndarray, label: np.ndarray, fold: np.ndarray) -> float:
    """2-fold accuracy: the threshold fitted on one fold (by walk), applied to the other."""
    correct = 0
    for k in (0, 1):
        fit, test = fold == k, fold != k
        if fit.sum() == 0 or test.sum() == 0:
            return float("nan")
        t = best_threshold(score[fit], label[fit])
        correct += ((score[test] > t) == (label[test] > 0.5)).sum()
    return float(correct / len(score))


def spearman(x, y) -> float:
    """Spearman's rho over the pairs where both are finite; NaN for fewer than 3 or a constant side."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan")
    return float(sps.spearmanr(x[ok], y[ok]).statistic)


def t_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: Student-t interval of the mean of the finite ``values`` (e.g. one per
    seed); the interval is NaN with fewer than two finite values (`earshot.listening.stats.mean_ci`)."""
    from earshot.listening.stats import mean_ci

    x = np.asarray(values, dtype=np.float64)
    return mean_ci(x[np.isfinite(x)], confidence)


def paired_wilcoxon(a, b) -> tuple[float, float]:
    """Wilcoxon signed-rank test of paired samples ``a`` and ``b`` (e.g. per-item scores of two
    models on the same items); returns ``(median of a - b, two-sided p)``.

    Pairs with a non-finite side are dropped. p is NaN with fewer than 2 pairs, and 1 when every
    difference is zero.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    d = a[ok] - b[ok]
    if d.size < 2:
        return (float(np.median(d)) if d.size else math.nan), math.nan
    if np.all(d == 0):
        return 0.0, 1.0
    return float(np.median(d)), float(sps.wilcoxon(a[ok], b[ok]).pvalue)


__all__ = ["auc", "best_threshold", "cv_accuracy", "paired_wilcoxon", "spearman", "t_interval"]

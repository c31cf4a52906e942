"""Paired verdicts: two models scored on the same test rows, compared row by row.

Two models' accuracies on the same rows are not independent, so two error bars say little; what
carries the evidence are the rows where they disagree. Each comparison gives:

- the exact McNemar test on the discordant rows (scipy's binomial test: under "no difference"
  the rows only a got right and the rows only b got right are equally likely), and
- a paired bootstrap 95% interval of the difference b − a: the test rows are resampled (the same
  resamples for both models, seeded), the metric recomputed for each, and the 2.5/97.5
  percentiles of the difference taken. The verdict follows the interval: it excludes 0 (and,
  for counted metrics, McNemar's p < 0.05 agrees) → the difference is detected (b_worse /
  b_better), otherwise no_difference, and half its width is the smallest difference this split
  could have detected.

Bootstrap resamples are drawn once as integer weights (how often each row is drawn), so every
metric is a weighted sum over rows in the original order: accuracy and recall as weighted
means, PR-AUC (average precision) by sorting the scores once. scikit-learn has no paired
bootstrap; this is the hand-written part, checked against sklearn's metrics in the tests.
Standard library, numpy and scipy (no torch).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binomtest

from kdedge.contract import PairedComparison

BOOTSTRAP = 2000  # resamples: the 2.5% tail then rests on 50 of them
LEVEL = 0.95
MAX_WEIGHT_CELLS = 20_000_000  # resamples × rows held at once (80 MB of int32)
# resamples × rows a metric computes on at once: its float64 temporaries stay ~16 MB each (the
# PR-AUC of 20M cells in one piece held 6 of 160 MB: a 1 GB peak)
BLOCK_CELLS = 2_000_000


def bootstrap_weights(n_rows: int, *, seed: int, resamples: int = BOOTSTRAP) -> np.ndarray:
    """[resamples, n_rows] int32 counts: how often each row is drawn in each resample (each row
    of the result sums to n_rows). Above MAX_WEIGHT_CELLS the number of resamples is lowered
    (at least 200) so a large test split cannot exhaust memory; resamples are drawn one at a
    time, so the result is the only large array (the same draws as one (resamples, n) block)."""
    resamples = max(200, min(resamples, MAX_WEIGHT_CELLS // max(n_rows, 1)))
    rng = np.random.default_rng(seed)
    counts = np.empty((resamples, n_rows), dtype=np.int32)
    for row in counts:
        row[:] = np.bincount(rng.integers(0, n_rows, size=n_rows), minlength=n_rows)
    return counts


def per_resample(weights: np.ndarray, metric) -> np.ndarray:
    """`metric(block)` of each block of resamples (rows of `weights`), concatenated: the same
    values as on all of them at once, with temporaries bounded by BLOCK_CELLS."""
    step = max(1, BLOCK_CELLS // max(weights.shape[1], 1))
    return np.concatenate([metric(weights[start:start + step])
                           for start in range(0, len(weights), step)])


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: binomial test of only_a successes in only_a + only_b."""
    discordant = only_a + only_b
    if discordant == 0:
        return 1.0
    return float(binomtest(only_a, discordant, 0.5).pvalue)


# An exact McNemar test needs this many discordant rows, all one way, to reach p < 1 − LEVEL
# (2·½⁶ = 0.031): on n rows no paired test detects a difference below MIN_DISCORDANT / n, even
# where the bootstrap interval collapses to [0, 0] because the two models never disagree.
MIN_DISCORDANT = next(k for k in range(1, 64) if mcnemar_exact(k, 0) < 1 - LEVEL)


def _interval(differences: np.ndarray) -> tuple[float, float]:
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.nanpercentile(differences, [tail, 100 - tail])
    return float(low), float(high)


def _comparison(*, a: str, b: str, metric: str, n: int, value_a: float, value_b: float,
                differences: np.ndarray, only: tuple[int, int] | None) -> PairedComparison:
    low, high = _interval(differences)
    # The interval decides; where an exact test exists it must agree (p < 0.05), so a handful of
    # discordant rows whose percentile interval happens to clear 0 is not called a difference.
    p_value = None if only is None else mcnemar_exact(*only)
    detected = p_value is None or p_value < 1 - LEVEL
    verdict = ("b_worse" if high < 0 and detected else
               "b_better" if low > 0 and detected else "no_difference")
    floor = 0.0 if only is None else MIN_DISCORDANT / n  # counted metrics: see MIN_DISCORDANT
    return PairedComparison(
        a=a, b=b, metric=metric, n=int(n), value_a=float(value_a), value_b=float(value_b),
        difference=float(value_b - value_a), ci_low=low, ci_high=high,
        only_a=None if only is None else int(only[0]), only_b=None if only is None else int(only[1]),
        p_value=p_value, verdict=verdict,
        min_detectable=max((high - low) / 2, floor), bootstrap=int(len(differences)))


def paired_accuracy(y: np.ndarray, labels_a: np.ndarray, labels_b: np.ndarray, *, a: str, b: str,
                    weights: np.ndarray) -> PairedComparison:
    """Accuracy of b against a on the same rows (`weights` from `bootstrap_weights(len(y))`)."""
    right_a, right_b = labels_a == y, labels_b == y
    per_row = right_b.astype(np.float64) - right_a
    differences = per_resample(weights, lambda w: w @ per_row / w.sum(axis=1))
    return _comparison(a=a, b=b, metric="accuracy", n=len(y), value_a=right_a.mean(),
                       value_b=right_b.mean(), differences=differences,
                       only=(int(np.sum(right_a & ~right_b)), int(np.sum(right_b & ~right_a))))


def paired_recall(y: np.ndarray, labels_a: np.ndarray, labels_b: np.ndarray, positive: int, *,
                  a: str, b: str, weights: np.ndarray) -> PairedComparison | None:
    """Recall of class `positive` (rows of that class only); None when the split has none."""
    rows = y == positive
    if not rows.any():
        return None
    right_a, right_b = labels_a[rows] == positive, labels_b[rows] == positive
    per_row = right_b.astype(np.float64) - right_a
    with np.errstate(invalid="ignore", divide="ignore"):  # a resample may draw no positive row
        differences = per_resample(weights, lambda w: w[:, rows] @ per_row
                                   / w[:, rows].sum(axis=1))
    return _comparison(a=a, b=b, metric="positive_recall", n=int(rows.sum()),
                       value_a=right_a.mean(), value_b=right_b.mean(), differences=differences,
                       only=(int(np.sum(right_a & ~right_b)), int(np.sum(right_b & ~right_a))))


def weighted_average_precision(is_positive: np.ndarray, scores: np.ndarray,
                               weights: np.ndarray) -> np.ndarray:
    """Average precision (sklearn's definition: Σ (R_k − R_{k−1}) · P_k over score thresholds,
    tied scores forming one threshold) for each row of `weights` [resamples, n]."""
    order = np.argsort(-scores, kind="stable")
    hits, w = is_positive[order].astype(np.float64), weights[:, order].astype(np.float64)
    true_pos, predicted = np.cumsum(w * hits, axis=1), np.cumsum(w, axis=1)
    ends = np.r_[np.diff(scores[order]) != 0, True]  # the last row of each tie group
    true_pos, predicted = true_pos[:, ends], predicted[:, ends]
    total = true_pos[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, true_pos / predicted, 0.0)
        recall_gain = np.diff(np.c_[np.zeros(len(w)), true_pos], axis=1) / total
    return np.sum(recall_gain * precision, axis=1)  # nan where a resample has no positive row


def paired_pr_auc(y: np.ndarray, scores_a: np.ndarray, scores_b: np.ndarray, positive: int, *,
                  a: str, b: str, weights: np.ndarray) -> PairedComparison | None:
    """Average precision of class `positive` (scores: its probability); None without positives."""
    is_positive = y == positive
    if not is_positive.any() or is_positive.all():
        return None
    once = np.ones((1, len(y)))
    value_a = weighted_average_precision(is_positive, scores_a, once)[0]
    value_b = weighted_average_precision(is_positive, scores_b, once)[0]
    differences = per_resample(weights, lambda w: (
        weighted_average_precision(is_positive, scores_b, w)
        - weighted_average_precision(is_positive, scores_a, w)))
    return _comparison(a=a, b=b, metric="pr_auc", n=len(y), value_a=value_a, value_b=value_b,
                       differences=differences, only=None)

import math

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.metrics import average_precision_score

from kdedge.verdicts import (BOOTSTRAP, MAX_WEIGHT_CELLS, MIN_DISCORDANT, bootstrap_weights,
                             mcnemar_exact, paired_accuracy, paired_pr_auc, paired_recall,
                             weighted_average_precision)


def _pair(both_right: int, only_a: int, only_b: int, both_wrong: int):
    """Labels of two models on y = 0 with the given counts of each agreement pattern."""
    n = both_right + only_a + only_b + both_wrong
    y = np.zeros(n, dtype=int)
    a = np.r_[np.zeros(both_right + only_a), np.ones(only_b + both_wrong)].astype(int)
    b = np.r_[np.zeros(both_right), np.ones(only_a), np.zeros(only_b),
              np.ones(both_wrong)].astype(int)
    return y, a, b


@pytest.mark.parametrize("only_a, only_b", [(59, 32), (7, 1), (10, 10), (0, 5)])
def test_mcnemar_exact_is_scipys_two_sided_binomial_test(only_a, only_b):
    assert mcnemar_exact(only_a, only_b) == binomtest(only_a, only_a + only_b, 0.5).pvalue


def test_mcnemar_exact_known_answers():
    assert mcnemar_exact(1, 7) == pytest.approx(2 * (1 + 8) / 2**8)  # 2·P(X ≤ 1), X ~ B(8, ½)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(3, 3) == 1.0


def test_paired_accuracy_detects_the_loss_an_unpaired_band_calls_noise():
    """The issue's case: 59 rows only the teacher got right, 32 only the student, of 1,200."""
    y, teacher, student = _pair(1000, 59, 32, 109)
    c = paired_accuracy(y, teacher, student, a="teacher", b="student",
                        weights=bootstrap_weights(1200, seed=0))
    assert (c.n, c.only_a, c.only_b) == (1200, 59, 32)
    assert c.value_a == 1059 / 1200 and c.value_b == 1032 / 1200
    assert c.difference == pytest.approx(-27 / 1200)  # −2.25 pt
    assert c.p_value == pytest.approx(0.0061, abs=5e-5)
    assert c.verdict == "b_worse" and c.ci_high < 0
    assert -0.0395 < c.ci_low < -0.0355 and -0.0105 < c.ci_high < -0.0065  # ≈ [−3.75, −0.83]
    assert c.min_detectable == pytest.approx((c.ci_high - c.ci_low) / 2)
    assert c.bootstrap == BOOTSTRAP
    p = c.value_a
    unpaired_band = 2 * math.sqrt(2 * p * (1 - p) / 1200)  # what the old report used
    assert abs(c.difference) < unpaired_band  # it called this loss noise


def test_paired_accuracy_identical_models_is_no_difference():
    y, a, _ = _pair(900, 0, 0, 100)
    c = paired_accuracy(y, a, a.copy(), a="x", b="y", weights=bootstrap_weights(1000, seed=1))
    assert (c.ci_low, c.ci_high, c.difference) == (0.0, 0.0, 0.0)
    assert c.verdict == "no_difference" and c.p_value == 1.0 and (c.only_a, c.only_b) == (0, 0)
    # the interval collapses, but 1,000 rows cannot show a difference below 6 rows
    assert c.min_detectable == 6 / 1000


def test_min_discordant_is_the_fewest_one_sided_rows_mcnemar_calls_significant():
    assert MIN_DISCORDANT == 6
    assert mcnemar_exact(6, 0) == pytest.approx(2 / 2**6) and mcnemar_exact(5, 0) > 0.05


def test_paired_accuracy_interval_is_the_percentiles_of_the_resampled_differences():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    a, b = np.where(rng.random(300) < 0.8, y, 1 - y), np.where(rng.random(300) < 0.85, y, 1 - y)
    weights = bootstrap_weights(300, seed=2, resamples=400)
    by_hand = [np.mean(np.repeat(b == y, w)) - np.mean(np.repeat(a == y, w)) for w in weights]
    c = paired_accuracy(y, a, b, a="a", b="b", weights=weights)
    assert (c.ci_low, c.ci_high) == pytest.approx(tuple(np.percentile(by_hand, [2.5, 97.5])))
    swapped = paired_accuracy(y, b, a, a="b", b="a", weights=weights)
    assert swapped.difference == -c.difference and swapped.ci_low == pytest.approx(-c.ci_high)
    assert (swapped.only_a, swapped.only_b) == (c.only_b, c.only_a)


def test_paired_recall_counts_positive_rows_only():
    y = np.r_[np.zeros(970, dtype=int), np.ones(30, dtype=int)]
    finder = y.copy()
    finder[995:] = 0  # finds 25 of 30
    lazy = np.zeros(1000, dtype=int)
    c = paired_recall(y, finder, lazy, 1, a="finder", b="lazy",
                      weights=bootstrap_weights(1000, seed=0))
    assert (c.n, c.value_a, c.value_b, c.only_a, c.only_b) == (30, 25 / 30, 0.0, 25, 0)
    assert c.metric == "positive_recall" and c.verdict == "b_worse"
    assert c.p_value == pytest.approx(2 * 0.5**25)
    same = paired_recall(y, lazy, lazy, 1, a="a", b="b", weights=bootstrap_weights(1000, seed=0))
    assert same.min_detectable == 6 / 30  # of the 30 positive rows, not of all 1,000


def test_paired_recall_and_pr_auc_none_without_positives():
    y, a, b = _pair(50, 5, 5, 40)  # every row is class 0
    weights = bootstrap_weights(100, seed=0)
    assert paired_recall(y, a, b, 1, a="a", b="b", weights=weights) is None
    scores = np.linspace(0, 1, 100)
    assert paired_pr_auc(y, scores, scores, 1, a="a", b="b", weights=weights) is None
    assert paired_pr_auc(1 - y, scores, scores, 1, a="a", b="b", weights=weights) is None


def test_weighted_average_precision_is_sklearns_on_resampled_rows_with_ties():
    rng = np.random.default_rng(0)
    is_positive = rng.random(200) < 0.3
    scores = np.round(np.clip(is_positive * 0.3 + rng.random(200) * 0.7, 0, 1), 1)  # ties
    weights = bootstrap_weights(200, seed=4, resamples=50)
    found = weighted_average_precision(is_positive, scores, weights)
    for w, value in zip(weights, found):
        expected = average_precision_score(np.repeat(is_positive, w), np.repeat(scores, w))
        assert value == pytest.approx(expected, abs=1e-12)
    once = weighted_average_precision(is_positive, scores, np.ones((1, 200)))[0]
    assert once == pytest.approx(average_precision_score(is_positive, scores), abs=1e-12)


def test_paired_pr_auc_values_are_sklearns():
    rng = np.random.default_rng(1)
    y = (rng.random(400) < 0.1).astype(int)
    good, noisy = y * 0.6 + rng.random(400) * 0.4, rng.random(400)
    c = paired_pr_auc(y, good, noisy, 1, a="good", b="noisy",
                      weights=bootstrap_weights(400, seed=0))
    assert c.value_a == pytest.approx(average_precision_score(y, good))
    assert c.value_b == pytest.approx(average_precision_score(y, noisy))
    assert c.verdict == "b_worse" and c.p_value is None and c.only_a is None


def test_bootstrap_weights_are_seeded_counts():
    weights = bootstrap_weights(50, seed=7, resamples=300)
    assert weights.shape == (300, 50) and weights.dtype == np.int32
    assert (weights.sum(axis=1) == 50).all()
    assert np.array_equal(weights, bootstrap_weights(50, seed=7, resamples=300))
    assert not np.array_equal(weights, bootstrap_weights(50, seed=8, resamples=300))
    # each row of a resample is drawn 50·(1/50) = 1 time on average
    assert weights.mean() == 1.0


def test_bootstrap_weights_cap_resamples_for_a_large_split(monkeypatch):
    assert MAX_WEIGHT_CELLS == 20_000_000  # 2,000 resamples up to 10,000 test rows (80 MB)
    monkeypatch.setattr("kdedge.verdicts.MAX_WEIGHT_CELLS", 10_000)
    assert bootstrap_weights(20, seed=0).shape == (500, 20)  # 10,000 cells
    assert bootstrap_weights(100, seed=0).shape == (200, 100)  # never fewer than 200


def test_paired_verdicts_deterministic_for_a_seed():
    y, a, b = _pair(800, 30, 20, 150)
    first = paired_accuracy(y, a, b, a="a", b="b", weights=bootstrap_weights(1000, seed=3))
    again = paired_accuracy(y, a, b, a="a", b="b", weights=bootstrap_weights(1000, seed=3))
    other = paired_accuracy(y, a, b, a="a", b="b", weights=bootstrap_weights(1000, seed=4))
    assert first == again and (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)

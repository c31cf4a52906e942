"""Tests of kdedge/report/paired.py: a recorded comparison found either way round and worded."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from kdedge.report.paired import (comparison_row, flipped, metric_name, model_name, oriented,
                                  verdict_sentence)
from kdedge.verdicts import bootstrap_weights, paired_accuracy, paired_pr_auc

WEIGHTS = bootstrap_weights(200, seed=0)


def _comparison(only_a: int, only_b: int):
    """200 rows of class 0: 150 right in both, `only_a` right in a only, `only_b` in b only."""
    y = np.zeros(200, dtype=np.int64)
    labels_a, labels_b = y.copy(), y.copy()
    labels_b[150:150 + only_a] = 1
    labels_a[150 + only_a:150 + only_a + only_b] = 1
    labels_a[150 + only_a + only_b:] = labels_b[150 + only_a + only_b:] = 1
    return paired_accuracy(y, labels_a, labels_b, a="teacher", b="student", weights=WEIGHTS)


def test_flipped_swaps_sides_and_negates():
    c = _comparison(20, 4)
    back = flipped(c)
    assert (back.a, back.b, back.only_a, back.only_b) == ("student", "teacher", 4, 20)
    assert (back.difference, back.ci_low, back.ci_high) == (-c.difference, -c.ci_high, -c.ci_low)
    assert c.verdict == "b_worse" and back.verdict == "b_better"
    assert flipped(back) == c and back.p_value == c.p_value


def test_oriented_finds_either_way_round(facts):
    c = _comparison(20, 4)
    facts.run.metrics = dataclasses.replace(facts.metrics, comparisons=[flipped(c)])
    assert oriented(facts.metrics, "teacher", "student") == c
    assert oriented(facts.metrics, "teacher", "student", "pr_auc") is None
    assert oriented(facts.metrics, "teacher", "logreg_k") is None


@pytest.mark.parametrize("only_a, only_b, words", [
    (20, 4, "Student lost accuracy against Teacher: 0.7700 vs 0.8500, -8.00 pt ("),
    (4, 20, "Student gained accuracy over Teacher: 0.8500 vs 0.7700, +8.00 pt ("),
    (5, 4, "Student vs Teacher, accuracy: 0.7700 vs 0.7750, -0.50 pt ("),
    (0, 0, "Student and Teacher are right on exactly the same of the 200 rows compared"),
])
def test_verdict_sentence_by_verdict(only_a, only_b, words):
    c = _comparison(only_a, only_b)
    text = verdict_sentence("en", c, "Teacher", "Student", "accuracy")
    assert text.startswith(words)
    if c.verdict == "no_difference" and only_a + only_b:
        assert text.endswith("could only have detected a difference of about "
                             f"{c.min_detectable * 100:.2f} pt or more.")


def test_verdict_sentence_pr_auc_quotes_resamples_not_rows():
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.2).astype(np.int64)
    scores_a, scores_b = y + rng.normal(0, 0.5, 200), y + rng.normal(0, 2.0, 200)
    c = paired_pr_auc(y, scores_a, scores_b, 1, a="teacher", b="student", weights=WEIGHTS)
    text = verdict_sentence("en", c, "Teacher", "Student", "PR-AUC")
    assert f"{c.bootstrap:,} resamples" in text and "McNemar" not in text
    assert comparison_row("en", c, "Teacher", "Student", "PR-AUC")[8:10] == ["—", "—"]


def test_comparison_row_cells():
    c = _comparison(20, 4)
    row = comparison_row("zh", c, "教师模型", "学生模型", "准确率")
    assert row[:9] == ["教师模型", "学生模型", "准确率", "200", "0.8500", "0.7700", "-8.00 pt",
                       f"[{c.ci_low * 100:+.2f}, {c.ci_high * 100:+.2f}] pt", "20 / 4"]
    assert row[9] == f"{c.p_value:.4f}" and row[10] == "B 更差"


def test_model_and_metric_names_from_the_run(facts):
    m = facts.metrics
    assert model_name("en", m, "logreg_k") == f"LogisticRegression on the {facts.k} selected features"
    majority = m.data.class_names[int(np.argmax(m.baselines["majority"].confusion_matrix[0]))]
    assert model_name("en", m, "majority") == f"Majority class (always {majority})"
    assert metric_name("en", m, "positive_recall") == \
        f"recall of the positive class {m.data.positive_class}"
    assert metric_name("zh", m, "pr_auc") == f"正类 {m.data.positive_class} 的 PR-AUC"

"""Tests of kdedge/report/plots_models.py: predictions, decision boundaries, factors."""

from __future__ import annotations

import numpy as np
import pytest

from kdedge.metrics import agreement
from kdedge.report.collect import collect
from kdedge.report.figure import PlotSkipped
from kdedge.report.plots_models import (decision_boundary, factor_feature_heatmap, predictions,
                                        precision_recall)


def test_predictions_reproduce_metrics(facts):
    preds = predictions(facts)
    y = facts.run.split["y_test"]
    assert np.mean(preds.student.argmax(1) == y) == pytest.approx(facts.metrics["student"]["accuracy"])
    assert np.mean(preds.student_no_kd.argmax(1) == y) == pytest.approx(facts.metrics["student_no_kd"]["accuracy"])
    assert agreement(preds.teacher.argmax(1), preds.student.argmax(1)) == pytest.approx(facts.metrics["agreement"])


def test_factor_feature_heatmap_is_rank_by_k(facts):
    fig = factor_feature_heatmap(facts)
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (facts.run.models["student"]["rank"], facts.k)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == facts.run.selected_features


@pytest.mark.parametrize("name", ["teacher", "student"])
def test_decision_boundary_multiclass_regions(wine_run, name):
    facts = collect(wine_run)
    fig = decision_boundary(facts, name)
    ax = fig.axes[0]
    top2 = facts.run.selected_features[:2]
    assert ax.get_xlabel() == f"{top2[0]} (raw)" and ax.get_ylabel() == f"{top2[1]} (raw)"
    # Filled regions: one level per class (C + 1 boundaries), not a binary probability surface.
    filled = next(c for c in ax.get_children() if hasattr(c, "levels") and c.filled)
    assert len(filled.levels) == facts.n_classes + 1


def test_precision_recall_one_vs_rest_per_class(wine_run):
    facts = collect(wine_run)
    fig = precision_recall(facts, predictions(facts))
    assert len(fig.axes[0].get_lines()) == 2 * facts.n_classes


def test_precision_recall_class_absent_skipped(facts):
    y = facts.run.split["y_test"]
    facts.run.split = dict(facts.run.split, y_test=np.zeros_like(y))  # class 1 gone from the test split
    with pytest.raises(PlotSkipped) as skipped:
        precision_recall(facts, predictions(facts))
    assert skipped.value.reason == "class_absent"
    assert skipped.value.values["classes"] == facts.run.class_names[1]


def test_precision_recall_both_classes_drawn(facts):
    assert precision_recall(facts, predictions(facts)).axes[0].get_lines()

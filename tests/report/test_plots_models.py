"""Tests of kdedge/report/plots_models.py: stored predictions, ONNX decision boundaries, factors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.metrics import precision_recall_curve

from kdedge.metrics import agreement
from kdedge.report.collect import collect
from kdedge.report.figure import PlotSkipped
from kdedge.report.plots_models import (decision_boundary, factor_feature_heatmap, factor_gates,
                                        onnx_probabilities, precision_recall, prediction_comparison,
                                        predictions)


def test_predictions_reproduce_metrics(facts):
    preds = predictions(facts)
    y = facts.run.split["y_test"]
    m = facts.metrics
    assert np.mean(preds.student.argmax(1) == y) == pytest.approx(m.student.accuracy, abs=1e-12)
    assert np.mean(preds.student_no_kd.argmax(1) == y) == pytest.approx(m.student_no_kd.accuracy, abs=1e-12)
    assert agreement(preds.teacher.argmax(1), preds.student.argmax(1)) == pytest.approx(m.agreement, abs=1e-12)


@pytest.mark.parametrize("name", ["teacher", "student"])
def test_onnx_probabilities_match_stored_predictions(full_facts, name):
    """Raw rows over all features in, each graph reads its own columns: the exported graph gives
    what distill scored (the parity gate's tolerance)."""
    stored = getattr(predictions(full_facts), name)
    graph = onnx_probabilities(full_facts, name, full_facts.run.split["X_test"])
    np.testing.assert_allclose(graph, stored, atol=1e-5)


def test_factor_feature_heatmap_is_rank_by_k(facts):
    fig = factor_feature_heatmap(facts)
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (facts.run.models.student.rank, facts.k)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == facts.run.selected_features


def test_factor_feature_heatmap_text_white_on_dark_cells(facts):
    """RdBu_r is dark at both ends: a cell beyond DARK_CELL of the range is labelled in white,
    one near 0 in black."""
    from matplotlib.colors import to_rgba

    from kdedge.report.plots_models import DARK_CELL

    ax = factor_feature_heatmap(facts).axes[0]
    effective = np.asarray(ax.images[0].get_array())
    limit = np.abs(effective).max()
    colors = {(round(t.get_position()[1]), round(t.get_position()[0])): to_rgba(t.get_color())
              for t in ax.texts}
    assert len(colors) == effective.size
    for (i, j), color in colors.items():
        dark = abs(effective[i, j]) > DARK_CELL * limit
        assert color == to_rgba("white" if dark else "black"), (i, j, effective[i, j])
    assert to_rgba("white") in colors.values()  # the largest |weight| is always a dark cell


def test_factor_gates_are_the_student_modules_gates(facts):
    """Read from student.safetensors without torch, the gates equal the torch module's."""
    heights = [bar.get_height() for bar in factor_gates(facts).axes[0].patches]
    expected = facts.run.load_model("student").gates().detach().numpy()
    np.testing.assert_allclose(heights, expected, rtol=1e-6)


@pytest.mark.parametrize("name", ["teacher", "student"])
def test_decision_boundary_multiclass_regions(wine_report, name):
    facts = collect(wine_report)
    ax = decision_boundary(facts, name).axes[0]
    top2 = facts.run.selected_features[:2]
    assert ax.get_xlabel() == f"{top2[0]} (raw)" and ax.get_ylabel() == f"{top2[1]} (raw)"
    # Filled regions: one level per class (C + 1 boundaries), not a binary probability surface.
    filled = next(c for c in ax.get_children() if hasattr(c, "levels") and c.filled)
    assert len(filled.levels) == facts.n_classes + 1


@pytest.mark.parametrize("name", ["teacher", "student"])
def test_decision_boundary_before_export_skipped_naming_command(facts, name):
    with pytest.raises(PlotSkipped) as skipped:
        decision_boundary(facts, name)
    assert skipped.value.reason == "needs_export"
    assert skipped.value.values["cmd"] == f"kdedge export {facts.run.path} --quantize all"


def test_precision_recall_one_vs_rest_per_class(wine_report):
    facts = collect(wine_report)
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
    assert len(precision_recall(facts, predictions(facts)).axes[0].get_lines()) == 2


def _positive_is(facts, index: int) -> str:
    """Make class `index` the run's positive class (as `--positive` would); returns its name."""
    name = facts.run.class_names[index]
    facts.run.metrics.data = dataclasses.replace(facts.metrics.data, positive_class=name)
    return name


@pytest.mark.parametrize("index", [0, 1])
def test_precision_recall_curve_of_the_positive_class(facts, index):
    """The curve is the positive class's (metrics.json), not whichever label sorts second."""
    name = _positive_is(facts, index)
    preds = predictions(facts)
    ax = precision_recall(facts, preds).axes[0]
    assert ax.get_title() == f"Precision-recall curve (positive class {name})"
    y = facts.run.split["y_test"]
    precision, recall, _ = precision_recall_curve(y == index, preds.teacher[:, index])
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), recall)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), precision)


@pytest.mark.parametrize("index", [0, 1])
def test_prediction_comparison_probability_of_the_positive_class(facts, index):
    name = _positive_is(facts, index)
    preds = predictions(facts)
    left = prediction_comparison(facts, preds).axes[0]
    assert left.get_xlabel() == f"Teacher P(class {name})"
    same = preds.teacher.argmax(1) == preds.student.argmax(1)
    np.testing.assert_allclose(left.collections[0].get_offsets()[:, 0], preds.teacher[same, index])


@pytest.mark.parametrize("index", [0, 1])
def test_decision_boundary_colorbar_names_the_positive_class(full_facts, index):
    name = _positive_is(full_facts, index)
    fig = decision_boundary(full_facts, "student")
    assert fig.axes[1].get_ylabel() == f"P(class {name})"

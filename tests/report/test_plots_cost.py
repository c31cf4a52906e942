"""Tests of kdedge/report/plots_cost.py: cost points and the two bench plots, on the real run."""

from __future__ import annotations

import pytest

from kdedge.contract import EXPORTED_BASELINES
from kdedge.report.collect import read_bench
from kdedge.report import labels
from kdedge.report.paired import plot_label
from kdedge.report.plots_cost import accuracy_vs_cost, cost_points, latency_distribution


def test_cost_points_every_model_and_variant(full_facts):
    points = {p.name: p for p in cost_points(full_facts)}
    assert set(points) == {"teacher", "student", "student_no_kd", "student.int8", "student.int8-static",
                           "student.fp16"}
    x86 = full_facts.benches[0]  # the reference bench: the first that is not emulated
    for name in ("student", "student.int8", "teacher"):
        assert points[name].latency == x86.models[name].latency["1"].p50_us
    assert points["student_no_kd"].latency is None  # not exported, not benched
    exported = full_facts.export.models
    assert points["student.int8"].accuracy == exported["student.int8"].metrics.accuracy
    assert points["student.int8"].rejected == (exported["student.int8"].verdict == "rejected")
    assert points["teacher"].macs == full_facts.metrics.teacher.macs


def test_cost_points_rejected_variant_marked(full_facts):
    full_facts.export.models["student.int8-static"].verdict = "rejected"
    points = {p.name: p for p in cost_points(full_facts)}
    assert points["student.int8-static"].rejected and not points["student.fp16"].rejected


def test_latency_distribution_one_panel_per_target_emulated_marked(full_facts):
    for bench in full_facts.benches:  # the session bench reads the load of a shared machine
        bench.record.overloaded = False
    fig = latency_distribution(full_facts)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["x86-test", "arm64-emulated — EMULATED: not a performance figure"]
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]  # by stem, display names
    assert labels == ["HistGradientBoosting on all 13 features", "LogisticRegression on all 13 "
                      "features", "LogisticRegression on the 6 selected features", "Student (KD)",
                      "Student (KD) [fp16]", "Student (KD) [int8]", "Student (KD) [int8-static]",
                      "Teacher"]
    assert len(labels) == len(EXPORTED_BASELINES) + 5


def test_latency_distribution_stale_row_labelled(full_facts):
    full_facts.benches[0].stale = ["student"]
    labels = [t.get_text() for t in latency_distribution(full_facts).axes[0].get_yticklabels()]
    assert "Student (KD) † (stale file)" in labels and "Teacher" in labels


@pytest.mark.parametrize("overloaded, target", [(False, "(x86-test)"), (True, "(x86-test, overloaded)")])
def test_accuracy_vs_cost_three_panels(full_facts, overloaded, target):
    full_facts.benches[0].record.overloaded = overloaded
    fig = accuracy_vs_cost(full_facts)
    assert [ax.get_xlabel().split(",")[0] for ax in fig.axes] == ["Parameters", "MACs per sample",
                                                                 "Batch-1 p50 latency"]
    assert fig.axes[2].get_xlabel().endswith(target)


def test_latency_distribution_overloaded_bench_marked(full_facts, edited_bench, tmp_path):
    full_facts.benches = [read_bench(edited_bench(tmp_path / "busy.json", overloaded=True))]
    (title,) = [ax.get_title() for ax in latency_distribution(full_facts).axes]
    assert title == "busy — OVERLOADED (1-min load 6.20 → 5.10 on 2 cores)"


def _label_boxes(ax) -> list[tuple[float, float]]:
    """(x, height) of each point label of a panel, as shares of the panel."""
    return [tuple(text.xyann) for text in ax.texts]


def test_accuracy_vs_cost_one_label_per_spot_none_overprinted(full_facts):
    """The student and the no-KD student share a parameter count (and here an accuracy): one
    label names both; in every panel no two labels stand within a line of each other where
    their points are near enough horizontally to collide."""
    full_facts.metrics.student_no_kd.accuracy = full_facts.metrics.student.accuracy
    fig = accuracy_vs_cost(full_facts)
    for ax in fig.axes:
        boxes = _label_boxes(ax)
        for i, (x, y) in enumerate(boxes):
            for x2, y2 in boxes[i + 1:]:
                assert abs(x - x2) >= labels.WIDTH - 2 * labels.OFFSET or abs(y - y2) >= labels.LINE - 1e-9
    params = [text.get_text() for text in fig.axes[0].texts]
    assert any(label.startswith("Student (KD), No-KD student") for label in params), params
    names = [n.strip() for label in params for n in label.split(", ")]
    assert sorted(names) == sorted(plot_label(full_facts.metrics, p.name)
                                   for p in cost_points(full_facts))


def test_accuracy_vs_cost_tree_teacher_left_off_the_macs_axis(full_facts):
    """A GBDT teacher has 0 MACs (it compares, it does not multiply): no point at 0 on a log
    axis; the MACs panel leaves it off and says so, the other panels keep it."""
    full_facts.metrics.teacher.macs = 0
    fig = accuracy_vs_cost(full_facts)
    params, macs, _ = fig.axes
    assert "not shown, no MACs: Teacher" in macs.get_xlabel()
    assert not any("Teacher" in text.get_text() for text in macs.texts)
    assert any("Teacher" in text.get_text() for text in params.texts)

"""Tests of kdedge/report/plots_cost.py: cost points and the two bench plots, on the real run."""

from __future__ import annotations

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
    fig = latency_distribution(full_facts)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["x86-test", "arm64-emulated — EMULATED: not a performance figure"]
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["student", "student (fp16)", "student (int8)", "student (int8-static)", "teacher"]


def test_latency_distribution_stale_row_labelled(full_facts):
    full_facts.benches[0].stale = ["student"]
    labels = [t.get_text() for t in latency_distribution(full_facts).axes[0].get_yticklabels()]
    assert "student † (stale file)" in labels and "teacher" in labels


def test_accuracy_vs_cost_three_panels(full_facts):
    fig = accuracy_vs_cost(full_facts)
    assert [ax.get_xlabel().split(",")[0] for ax in fig.axes] == ["Parameters", "MACs per sample",
                                                                 "Batch-1 p50 latency"]
    assert "(x86-test)" in fig.axes[2].get_xlabel()

"""Tests of kdedge/report/plots_cost.py: cost points and the two bench plots."""

from __future__ import annotations

from report_fakes import fake_bench, fake_export

from kdedge.report.collect import _read_bench
from kdedge.report.plots_cost import accuracy_vs_cost, cost_points, latency_distribution
from kdedge.rundir import write_json_atomic


def _with_bench(facts, tmp_path):
    facts.export = fake_export(facts.metrics)
    facts.benches = [_read_bench(write_json_atomic(tmp_path / "x.json", fake_bench(facts.metrics, target="x86"))),
                     _read_bench(write_json_atomic(tmp_path / "a.json",
                                                   fake_bench(facts.metrics, target="arm", emulated=True)))]
    return facts


def test_cost_points_every_model_and_variant(facts, tmp_path):
    points = {p["name"]: p for p in cost_points(_with_bench(facts, tmp_path))}
    assert set(points) == {"teacher", "student", "student_no_kd", "student.int8", "student.int8-static",
                           "student.fp16"}
    assert points["student"]["latency"] == 45.0 and points["student.int8"]["latency"] == 60.0
    assert points["student_no_kd"]["latency"] is None  # not exported, not benched
    assert points["student.int8-static"]["rejected"] is True
    assert points["teacher"]["macs"] == facts.metrics["teacher"]["macs"]


def test_latency_distribution_one_panel_per_target_emulated_marked(facts, tmp_path):
    fig = latency_distribution(_with_bench(facts, tmp_path))
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["x86", "arm — EMULATED: not a performance figure"]


def test_accuracy_vs_cost_three_panels(facts, tmp_path):
    fig = accuracy_vs_cost(_with_bench(facts, tmp_path))
    assert [ax.get_xlabel().split(",")[0] for ax in fig.axes] == ["Parameters", "MACs per sample",
                                                                 "Batch-1 p50 latency"]

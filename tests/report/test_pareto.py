"""Tests of kdedge/report/pareto.py: the front against closed-form answers, and the plot and the
sentences on the real exported and benched runs (`full_run`: an MLP teacher, every quantized
variant and the baselines; `gbdt_run`: a GBDT teacher and the size search)."""

from __future__ import annotations

import pytest

from kdedge.contract import EXPORTED_BASELINES
from kdedge.report.figure import PlotSkipped, render_png
from kdedge.report.pareto import file_points, front_of, front_sentences, pareto, pareto_front
from kdedge.report.paired import graph_label, plot_label
from kdedge.rundir import read_json

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("accuracy, cost, expected", [
    # 0 and 1 and 4 on the front; 2 as accurate as 1 but dearer; 3 less accurate and dearer than 0
    ([0.90, 0.95, 0.95, 0.80, 0.99], [10, 20, 25, 15, 100], [None, None, 1, 0, None]),
    # the same spot twice: neither dominates the other
    ([0.9, 0.9], [5, 5], [None, None]),
    # 2 is dominated by 0 and 1 (both cheaper and more accurate): the cheaper one names it
    ([0.97, 0.98, 0.96], [10, 12, 20], [None, None, 0]),
    # equal cost, more accurate dominates; the dominator of 2 is the more accurate of 0 and 1
    ([0.95, 0.97, 0.90], [10, 10, 10], [1, None, 1]),
    ([0.5], [1.0], [None]),
])
def test_pareto_front_closed_form(accuracy, cost, expected):
    assert pareto_front(accuracy, cost) == expected


def test_pareto_front_dominator_is_on_the_front():
    accuracy = [0.80, 0.85, 0.85, 0.90, 0.70, 0.88]
    cost = [1, 2, 3, 4, 5, 4]
    front = pareto_front(accuracy, cost)
    assert front == [None, None, 1, None, 0, 3]
    assert all(front[by] is None for by in front if by is not None)


def test_file_points_numbers_equal_export_and_bench_json(full_facts, full_run, x86_bench):
    export, bench = read_json(full_run / "export.json"), read_json(x86_bench)
    points = {p.name: p for p in file_points(full_facts)}
    assert set(points) == set(export["models"]) and set(EXPORTED_BASELINES) <= set(points)
    for name, entry in export["models"].items():
        assert points[name].accuracy == entry["metrics"]["accuracy"]
        assert points[name].file_bytes == entry["file_bytes"]
        assert points[name].latency == bench["models"][f"{name}.onnx"]["latency"]["1"]["p50_us"]
        assert points[name].rejected == (entry["verdict"] == "rejected")


def test_front_of_leaves_off_rejected_stale_and_unmeasured(full_facts):
    full_facts.export.models["student.fp16"].verdict = "rejected"
    full_facts.benches[0].stale = ["student.int8"]
    points = file_points(full_facts)
    front, dominated = front_of(points, "latency")
    named = {p.name for p in front} | set(dominated)
    assert "student.fp16" not in named and "student.int8" not in named
    assert named == {p.name for p in points} - {"student.fp16", "student.int8"}
    bytes_front, bytes_dominated = front_of(points, "file_bytes")
    assert {p.name for p in bytes_front} | set(bytes_dominated) == \
        {p.name for p in points} - {"student.fp16"}  # a stale bench does not change file sizes
    costs = [p.latency for p in front]
    assert costs == sorted(costs) and [p.accuracy for p in front] == sorted(p.accuracy for p in front)


def test_front_sentences_name_the_front_and_the_dominated(full_facts, numbers):
    points = file_points(full_facts)
    front, dominated = front_of(points, "latency")
    latency, size = front_sentences(full_facts, "en")
    assert latency.startswith("On x86-test, the accuracy–latency front (batch-1 p50) is: ")
    listed = " → ".join(f"{graph_label('en', full_facts.metrics, p.name)} ({p.accuracy:.4f}, "
                        f"{p.latency:,.1f} µs)" for p in front)
    assert listed in latency
    for name, by in dominated.items():
        assert (f"{graph_label('en', full_facts.metrics, name)} (by "
                f"{graph_label('en', full_facts.metrics, by.name)})") in latency
    assert size.startswith("By file size, the accuracy–bytes front is: ")
    zh = front_sentences(full_facts, "zh")
    assert zh[0].startswith("在 x86-test 上，准确率–延迟前沿（批大小 1 的 p50）为：")
    assert sorted(numbers(zh[0])) == sorted(numbers(latency))  # the same numbers in both


def test_front_sentences_need_export_and_bench(facts):
    assert front_sentences(facts, "en") == []


def test_pareto_three_panels_on_the_real_run(full_facts):
    fig = pareto(full_facts)
    timed, sized, candidates = fig.axes[:3]
    assert timed.get_title() == "Accuracy against measured latency"
    assert sized.get_title() == "Accuracy against file size"
    assert timed.get_xscale() == sized.get_xscale() == candidates.get_xscale() == "log"
    assert "x86-test" in timed.get_xlabel()
    named = ", ".join(text.get_text() for text in sized.texts)
    for name in full_facts.export.models:  # every exported graph labelled, by display name
        assert plot_label(full_facts.metrics, name) in named
    assert "hgb_all" not in named
    fidelity = [line for line in candidates.get_lines() if line.get_linestyle() == ":"]
    assert len(fidelity) == 1 and fidelity[0].get_ydata()[0] == full_facts.search.fidelity
    assert candidates.get_title() == "Fixed-size student: no size search"
    assert "not exported, not benched" in candidates.get_xlabel()


def test_pareto_gbdt_run_with_search_candidates(gbdt_facts):
    fig = pareto(gbdt_facts)
    candidates = fig.axes[2]
    fits = [c for c in gbdt_facts.search.candidates if c.phase != "refit"]
    assert candidates.get_title() == f"Size search: {len(fits)} candidate(s)"
    legend = [t.get_text() for t in candidates.get_legend().get_texts()]
    winner = gbdt_facts.search.candidates[gbdt_facts.search.chosen]
    assert any(t.startswith(f"chosen (k={winner.k}, rank {winner.rank}") for t in legend)
    assert render_png(lambda: pareto(gbdt_facts)).startswith(PNG_MAGIC)


def test_pareto_skipped_before_export(facts):
    with pytest.raises(PlotSkipped) as skipped:
        pareto(facts)
    assert skipped.value.reason == "needs_export"


def test_pareto_png_in_the_full_report(full_report):
    assert (full_report / "plots" / "pareto.png").read_bytes().startswith(PNG_MAGIC)
    text = (full_report / "report.md").read_text(encoding="utf-8")
    assert "![帕累托前沿" in text and "准确率–延迟前沿" in text

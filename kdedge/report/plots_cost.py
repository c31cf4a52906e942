"""Plots of what export and bench measured: batch-1 latency per model and target, and accuracy
against cost (parameters, MACs, batch-1 latency) for every model and quantized variant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kdedge.contract import MODEL_NAMES, Metrics
from kdedge.report.collect import Bench, Facts, latency, reference_bench, usable
from kdedge.report.deploy import load_values
from kdedge.report.figure import new_figure, plain_log_axis
from kdedge.report.labels import label_points
from kdedge.report.paired import plot_label

MARKERS = {"teacher": "s", "student": "o", "student_no_kd": "^"}


def _latency_panel(ax, bench: Bench, metrics: Metrics) -> None:
    """One target: per model min–max whiskers, a p50–p99 bar and the p50 mark; the floor's p50.
    Models by their display names (`paired.plot_label`)."""
    names = [n for n in sorted(bench.models) if latency(usable(bench, n), 1) is not None]
    for row, name in enumerate(names):
        stats = latency(bench.models[name], 1)
        ax.hlines(row, stats.min_us, stats.max_us, color="gray", linewidth=1)
        ax.barh(row, stats.p99_us - stats.p50_us, left=stats.p50_us, height=0.5,
                color="tab:blue", alpha=0.5, label="p50–p99" if row == 0 else None)
        ax.plot([stats.p50_us], [row], "k|", markersize=14, label="p50" if row == 0 else None)
    floor = bench.floor_p50_us(1)
    if floor:
        ax.axvline(floor, color="tab:red", linestyle="--", label=f"floor p50 {floor:.1f} µs")
    ax.set_yticks(range(len(names)), [plot_label(metrics, n)
                                      + (" † (stale file)" if n in bench.stale else "")
                                      for n in names], fontsize=8)
    ax.set_xscale("log")
    plain_log_axis(ax.xaxis)
    ax.set_xlabel("Latency at batch 1, µs (log scale; whiskers: min–max)")
    mark = " — EMULATED: not a performance figure" if bench.emulated else ""
    if bench.overloaded:
        load = load_values(bench, "en")  # plots are in English; the numbers only
        mark += f" — OVERLOADED (1-min load {load['start']} → {load['end']} on {load['cores']} cores)"
    ax.set_title(f"{bench.target}{mark}", fontsize=10,
                 color="tab:red" if bench.emulated or bench.overloaded else "black")
    ax.grid(axis="x", alpha=0.3, which="both")
    if names:
        ax.legend(fontsize=7, loc="lower right")


def latency_distribution(facts: Facts):
    """Per target: each model's batch-1 latency spread from the bench's percentiles."""
    benches = facts.benches
    fig = new_figure(10, 1.2 + 0.45 * max(len(b.models) for b in benches) * len(benches) + 1.0)
    axes = np.atleast_1d(fig.subplots(len(benches), 1, squeeze=False)).ravel()
    for ax, bench in zip(axes, benches):
        _latency_panel(ax, bench, facts.metrics)
    return fig


@dataclass
class CostPoint:
    """One model on the accuracy-against-cost plot."""

    name: str  # stem: teacher, student, student.int8, ...
    accuracy: float
    params: int
    macs: int
    latency: float | None = None  # batch-1 p50 µs on the reference bench
    rejected: bool = False


def cost_points(facts: Facts) -> list[CostPoint]:
    """The three trained models (metrics.json) and every quantized variant (export.json), with
    their batch-1 p50 on the reference bench where it measured them."""
    points = []
    for name in MODEL_NAMES:
        m = facts.metrics.model(name)
        points.append(CostPoint(name, m.accuracy, m.params, m.macs))
    for name, entry in sorted((facts.export.models if facts.export else {}).items()):
        if entry.variant != "fp32":
            points.append(CostPoint(name, entry.metrics.accuracy, entry.params, entry.macs,
                                    rejected=entry.verdict == "rejected"))
    bench = reference_bench(facts)
    for point in points:
        stats = latency(usable(bench, point.name), 1)
        point.latency = None if stats is None else stats.p50_us
    return points


def _cost_panel(ax, points: list[CostPoint], key: str, label: str, metrics: Metrics) -> None:
    """One panel: accuracy against one cost (log x), each spot labelled once (`labels.py`). A
    cost of 0 (a tree teacher's MACs: it compares, it does not multiply) has no place on a log
    axis: the point is left off and the axis label says so."""
    shown = [(i, p) for i, p in enumerate(points) if getattr(p, key) is not None]
    zero = [p for _, p in shown if getattr(p, key) <= 0]
    shown = [(i, p) for i, p in shown if getattr(p, key) > 0]
    if zero:
        label += "\n(not shown, no MACs: " + ", ".join(
            plot_label(metrics, p.name) for p in zero) + " — trees compare, they do not multiply)"
    for i, point in shown:
        style = (dict(facecolors="none", edgecolors="tab:red") if point.rejected
                 else dict(color=f"C{i % 10}"))
        ax.scatter(getattr(point, key), point.accuracy, s=60, marker=MARKERS.get(point.name, "D"),
                   **style)
    ax.set_xscale("log")
    plain_log_axis(ax.xaxis)
    label_points(ax, [getattr(p, key) for _, p in shown], [p.accuracy for _, p in shown],
                 [plot_label(metrics, p.name) + (" (rejected)" if p.rejected else "")
                  for _, p in shown])
    ax.set_xlabel(label, fontsize=9)
    ax.set_ylabel("Test accuracy")
    ax.grid(alpha=0.3, which="both")


def accuracy_vs_cost(facts: Facts):
    points = cost_points(facts)
    bench = reference_bench(facts)
    fig = new_figure(15, 5)
    marks = (", emulated" if bench.emulated else "") + (", overloaded" if bench.overloaded else "")
    latency_label = f"Batch-1 p50 latency, µs ({bench.target}{marks})"
    for ax, key, label in zip(fig.subplots(1, 3), ("params", "macs", "latency"),
                              ("Parameters", "MACs per sample", latency_label)):
        _cost_panel(ax, points, key, label, facts.metrics)
    fig.suptitle("Accuracy against cost (teacher, students and quantized variants)")
    return fig

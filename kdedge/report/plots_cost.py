"""Plots of what export and bench measured: batch-1 latency per model and target, and accuracy
against cost (parameters, MACs, batch-1 latency) for every model and quantized variant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.ticker import LogFormatter

from kdedge.contract import MODEL_NAMES
from kdedge.report.collect import Bench, Facts, latency, model_label, reference_bench, usable
from kdedge.report.deploy import load_values
from kdedge.report.figure import new_figure
from kdedge.report.labels import label_points

MARKERS = {"teacher": "s", "student": "o", "student_no_kd": "^"}


def _plain_log_axis(axis) -> None:
    """Log axis labelled 50, 60, 100 rather than 5×10¹ (minor ticks labelled on short ranges)."""
    axis.set_major_formatter(LogFormatter())
    axis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)))


def _latency_panel(ax, bench: Bench) -> None:
    """One target: per model min–max whiskers, a p50–p99 bar and the p50 mark; the floor's p50."""
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
    ax.set_yticks(range(len(names)), [model_label(n) + (" † (stale file)" if n in bench.stale else "")
                                      for n in names], fontsize=8)
    ax.set_xscale("log")
    _plain_log_axis(ax.xaxis)
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
        _latency_panel(ax, bench)
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


def _cost_panel(ax, points: list[CostPoint], key: str, label: str) -> None:
    """One panel: accuracy against one cost (log x), each spot labelled once (`labels.py`)."""
    shown = [(i, p) for i, p in enumerate(points) if getattr(p, key) is not None]
    for i, point in shown:
        style = (dict(facecolors="none", edgecolors="tab:red") if point.rejected
                 else dict(color=f"C{i % 10}"))
        ax.scatter(getattr(point, key), point.accuracy, s=60, marker=MARKERS.get(point.name, "D"),
                   **style)
    ax.set_xscale("log")
    _plain_log_axis(ax.xaxis)
    label_points(ax, [getattr(p, key) for _, p in shown], [p.accuracy for _, p in shown],
                 [model_label(p.name) + (" (rejected)" if p.rejected else "") for _, p in shown])
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
        _cost_panel(ax, points, key, label)
    fig.suptitle("Accuracy against cost (teacher, students and quantized variants)")
    return fig

"""Plots of what export and bench measured: batch-1 latency per model and target, and accuracy
against cost (parameters, MACs, batch-1 latency) for every model and quantized variant.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import LogFormatter

from kdedge.report.collect import Facts, model_label, reference_bench
from kdedge.report.figure import new_figure

MARKERS = {"teacher": "s", "student": "o", "student_no_kd": "^"}


def _plain_log_axis(axis) -> None:
    """Log axis labelled 50, 60, 100 rather than 5×10¹ (minor ticks labelled on short ranges)."""
    axis.set_major_formatter(LogFormatter())
    axis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)))


def latency_distribution(facts: Facts):
    """Per target: each model's batch-1 latency spread. Box plots from raw samples when the bench
    kept them; otherwise min–max whiskers, a p50–p99 bar and the p50 mark from its percentiles."""
    benches = facts.benches
    fig = new_figure(10, 1.2 + 0.45 * max(len(b.models) for b in benches) * len(benches) + 1.0)
    axes = np.atleast_1d(fig.subplots(len(benches), 1, squeeze=False)).ravel()
    for ax, bench in zip(axes, benches):
        names = [n for n in sorted(bench.models) if 1 in bench.models[n].latency]
        for row, name in enumerate(names):
            model = bench.models[name]
            stats = model.latency[1]
            if model.samples_batch1_us:
                ax.boxplot([model.samples_batch1_us], positions=[row], vert=False, widths=0.5,
                           showfliers=False)
                continue
            low, high = stats.get("min") or stats["p50"], stats.get("max") or stats["p99"]
            ax.hlines(row, low, high, color="gray", linewidth=1)
            ax.barh(row, stats["p99"] - stats["p50"], left=stats["p50"], height=0.5,
                    color="tab:blue", alpha=0.5, label="p50–p99" if row == 0 else None)
            ax.plot([stats["p50"]], [row], "k|", markersize=14, label="p50" if row == 0 else None)
        floor = bench.floor_p50_us.get(1)
        if floor:
            ax.axvline(floor, color="tab:red", linestyle="--", label=f"floor p50 {floor:.1f} µs")
        ax.set_yticks(range(len(names)), [model_label(n) + (" † (stale file)" if n in bench.stale else "")
                                          for n in names], fontsize=8)
        ax.set_xscale("log")
        _plain_log_axis(ax.xaxis)
        ax.set_xlabel("Latency at batch 1, µs (log scale; whiskers: min–max)")
        mark = " — EMULATED: not a performance figure" if bench.emulated else ""
        ax.set_title(f"{bench.target}{mark}", fontsize=10, color="tab:red" if bench.emulated else "black")
        ax.grid(axis="x", alpha=0.3, which="both")
        if names:
            ax.legend(fontsize=7, loc="lower right")
    return fig


def cost_points(facts: Facts) -> list[dict]:
    """One point per model: name, accuracy, params, macs, batch-1 p50 (µs) on the reference bench."""
    bench = reference_bench(facts)
    points = []
    for name in ("teacher", "student", "student_no_kd"):
        m = facts.metrics[name]
        points.append({"name": name, "accuracy": m["accuracy"], "params": m["params"], "macs": m["macs"]})
    for name, entry in sorted((facts.export or {}).get("models", {}).items()):
        if entry.get("variant", "fp32") == "fp32":
            continue
        accuracy = (entry.get("metrics") or {}).get("accuracy")
        if accuracy is not None:
            points.append({"name": name, "accuracy": accuracy, "params": entry.get("params"),
                           "macs": entry.get("macs"), "rejected": entry.get("verdict") == "rejected"})
    for point in points:
        model = bench.models.get(point["name"]) if bench else None
        point["latency"] = (model.latency[1]["p50"] if model and not model.error and 1 in model.latency
                            else None)
    return points


def accuracy_vs_cost(facts: Facts):
    points = cost_points(facts)
    bench = reference_bench(facts)
    fig = new_figure(15, 5)
    axes = fig.subplots(1, 3)
    latency_label = f"Batch-1 p50 latency, µs ({bench.target}{', emulated' if bench.emulated else ''})"
    for ax, key, label in zip(axes, ("params", "macs", "latency"),
                              ("Parameters", "MACs per sample", latency_label)):
        placed: dict[tuple, list[str]] = {}  # models at the same spot share one label
        for i, point in enumerate(points):
            if point.get(key) is None:
                continue
            style = (dict(facecolors="none", edgecolors="tab:red") if point.get("rejected")
                     else dict(color=f"C{i % 10}"))
            ax.scatter(point[key], point["accuracy"], s=60, marker=MARKERS.get(point["name"], "D"),
                       **style)
            suffix = " (rejected)" if point.get("rejected") else ""
            placed.setdefault((point[key], point["accuracy"]), []).append(model_label(point["name"]) + suffix)
        for (x, y), labels in placed.items():
            ax.annotate(", ".join(labels), (x, y), textcoords="offset points", xytext=(6, 4), fontsize=7)
        ax.set_xscale("log")
        _plain_log_axis(ax.xaxis)
        ax.set_xlabel(label, fontsize=9)
        ax.set_ylabel("Test accuracy")
        ax.grid(alpha=0.3, which="both")
    fig.suptitle("Accuracy against cost (teacher, students and quantized variants)")
    return fig

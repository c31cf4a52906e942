"""The Pareto front: which exported model files no other file beats on both accuracy and cost.

Every graph export wrote (teacher, student, its quantized variants, the baselines) is a point:
its test accuracy from export.json (the graph's own onnxruntime outputs) against its measured
batch-1 p50 latency on the reference bench and against its file bytes. A point is dominated when
another is at least as accurate and at least as cheap, and strictly better on one of the two;
the front is the points nothing dominates. A rejected quantized variant is drawn hollow and left
off the front (export judged it unfit to deploy). The plot's third panel shows the size search's
candidates (search.json), which were never exported or benched: validation agreement against
MACs, with the fidelity line and the chosen one starred. matplotlib has no Pareto helper and the
front of a dozen points needs none: `pareto_front` is written out below.
"""

from __future__ import annotations

from dataclasses import dataclass

from kdedge.contract import Search
from kdedge.report.collect import EXPORT_COMMAND, Bench, Facts, p50_us, reference_bench
from kdedge.report.deploy import target_header
from kdedge.report.figure import PlotSkipped, new_figure, plain_log_axis
from kdedge.report.labels import label_points
from kdedge.report.paired import graph_label, plot_label
from kdedge.report.text import fmt_float, fmt_int, fmt_metric, tr


@dataclass
class FilePoint:
    """One exported graph on the Pareto plot."""

    name: str  # stem: teacher, student.int8, hgb_all, ...
    accuracy: float  # test accuracy of the graph's own onnxruntime outputs (export.json)
    file_bytes: int
    latency: float | None  # batch-1 p50 µs on the reference bench; None: not usable there
    rejected: bool = False


def pareto_front(accuracy, cost) -> list[int | None]:
    """For each point (accuracy: higher is better, cost: lower is better), None when it is on
    the front, else the index of the point that dominates it at the lowest cost (ties: the more
    accurate, then the first). That dominator is itself on the front: anything dominating it
    would dominate the point at no higher cost and be more accurate."""
    points = list(zip(accuracy, cost))
    front: list[int | None] = []
    for a, c in points:
        beaten_by = [j for j, (aj, cj) in enumerate(points)
                     if aj >= a and cj <= c and (aj > a or cj < c)]
        front.append(min(beaten_by, key=lambda j: (points[j][1], -points[j][0], j))
                     if beaten_by else None)
    return front


def file_points(facts: Facts) -> list[FilePoint]:
    """Every graph of export.json, with its batch-1 p50 on the reference bench where that bench
    measured the file export recorded (not stale) without error."""
    if facts.export is None:
        raise PlotSkipped("needs_export", cmd=EXPORT_COMMAND.format(run=facts.run.path))
    bench = reference_bench(facts)
    return [FilePoint(name, entry.metrics.accuracy, entry.file_bytes, p50_us(bench, name),
                      rejected=entry.verdict == "rejected")
            for name, entry in sorted(facts.export.models.items())]


def front_of(points: list[FilePoint], key: str) -> tuple[list[FilePoint], dict[str, FilePoint]]:
    """The points on the accuracy–`key` front (latency or file_bytes) sorted by that cost, and
    each dominated point's name → the front point that dominates it; rejected variants and points
    without the cost are left out."""
    shown = [p for p in points if not p.rejected and getattr(p, key) is not None]
    beaten = pareto_front([p.accuracy for p in shown], [getattr(p, key) for p in shown])
    front = sorted((p for p, by in zip(shown, beaten) if by is None), key=lambda p: getattr(p, key))
    return front, {p.name: shown[by] for p, by in zip(shown, beaten) if by is not None}


def _sentence(facts: Facts, lang: str, points: list[FilePoint], key: str, **values) -> str:
    """One front sentence in `lang`: the front's points by cost, then who dominates the rest."""
    front, dominated = front_of(points, key)
    names = {p.name: graph_label(lang, facts.metrics, p.name) for p in points}
    cost = fmt_float if key == "latency" else fmt_int
    items = [tr(lang, f"front_item_{'latency' if key == 'latency' else 'bytes'}", m=names[p.name],
                a=fmt_metric(p.accuracy), v=cost(getattr(p, key))) for p in front]
    beaten = [tr(lang, "front_dominated_item", x=names[p.name], y=names[by.name])
              for p in points if (by := dominated.get(p.name)) is not None]
    tail = tr(lang, "front_dominated", items=tr(lang, "list_sep").join(beaten)) if beaten else ""
    sentence = "front_sentence" if key == "latency" else "front_bytes_sentence"
    return tr(lang, sentence, front=" → ".join(items), dominated=tail, **values)


def front_sentences(facts: Facts, lang: str) -> list[str]:
    """The accuracy–latency front on the reference bench and the accuracy–bytes front, named:
    "On x86, the accuracy–latency front (batch-1 p50) is: A (0.8960, 7.3 µs) → B (0.9800,
    9.7 µs). Dominated: X (by B)." (nothing before export or without a bench)."""
    bench = reference_bench(facts)
    if facts.export is None or bench is None:
        return []
    points = file_points(facts)
    target = target_header(bench, lang)
    if all(p.latency is None for p in points):
        latency_part = [tr(lang, "front_none", target=target)]
    else:
        latency_part = [_sentence(facts, lang, points, "latency", target=target)]
    return latency_part + [_sentence(facts, lang, points, "file_bytes")]


def _files_panel(ax, facts: Facts, points: list[FilePoint], key: str, label: str) -> None:
    """Accuracy against one measured cost (log x): the front joined by a staircase and ringed,
    dominated points paler, rejected variants hollow; each spot labelled once."""
    shown = [p for p in points if getattr(p, key) is not None]
    front, _ = front_of(shown, key)
    on_front = {p.name for p in front}
    for i, point in enumerate(shown):
        x = getattr(point, key)
        if point.rejected:
            ax.scatter(x, point.accuracy, s=60, facecolors="none", edgecolors="tab:red")
        else:
            ax.scatter(x, point.accuracy, s=70 if point.name in on_front else 45,
                       color=f"C{i % 10}", alpha=1.0 if point.name in on_front else 0.45,
                       edgecolors="black" if point.name in on_front else "none", linewidths=1.2)
    if front:
        ax.step([getattr(p, key) for p in front], [p.accuracy for p in front], where="post",
                color="black", linewidth=1, linestyle="--", label="front")
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xscale("log")
    plain_log_axis(ax.xaxis)
    label_points(ax, [getattr(p, key) for p in shown], [p.accuracy for p in shown],
                 [plot_label(facts.metrics, p.name) + (" (rejected)" if p.rejected else "")
                  for p in shown])
    ax.set_xlabel(label, fontsize=9)
    ax.set_ylabel("Test accuracy (each graph's own outputs)")
    ax.grid(alpha=0.3, which="both")


def _bench_mark(bench: Bench) -> str:
    marks = [m for m, on in (("emulated", bench.emulated), ("overloaded", bench.overloaded),
                             ("--quick", bench.quick)) if on]
    return bench.target + (f", {', '.join(marks)}" if marks else "")


def _candidates_panel(ax, search: Search | None) -> None:
    """The size search's candidates: validation agreement against MACs (log x), the fidelity
    line, met / missed the target, the chosen one starred, the refit (every row) a diamond."""
    if search is None:
        ax.text(0.5, 0.5, "no search.json in this run", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_axis_off()
        return
    fits = [c for c in search.candidates if c.phase != "refit"]
    for met, style in ((True, dict(color="tab:green", label="keeps the teacher")),
                       (False, dict(facecolors="none", edgecolors="tab:gray", label="misses"))):
        chosen = [c for c in fits if c.meets_target == met]
        if chosen:
            ax.scatter([c.macs for c in chosen], [c.agreement for c in chosen], s=40, **style)
    if search.chosen is not None and search.chosen < len(search.candidates):
        winner = search.candidates[search.chosen]
        role = "fixed size" if search.mode == "fixed" else "chosen"
        ax.scatter(winner.macs, winner.agreement, s=260, marker="*", color="gold",
                   edgecolors="black", zorder=3, label=f"{role} (k={winner.k}, rank {winner.rank}, "
                   f"head {'-'.join(map(str, winner.hidden))})")
    for refit in (c for c in search.candidates if c.phase == "refit"):
        ax.scatter(refit.macs, refit.agreement, s=70, marker="D", color="tab:purple",
                   label="refit on every row")
    ax.axhline(search.fidelity, color="tab:red", linestyle=":", label=f"fidelity {search.fidelity}")
    ax.margins(0.08)  # the star of a winner at the edge stays inside the panel
    ax.set_ylim(top=min(ax.get_ylim()[1], 1.005))  # agreement is at most 1
    ax.set_xscale("log")
    plain_log_axis(ax.xaxis)
    ax.set_xlabel("MACs per sample (candidates: not exported, not benched)", fontsize=9)
    ax.set_ylabel(f"Agreement with the teacher ({search.val_rows} validation rows)")
    ax.set_title("Fixed-size student: no size search" if search.mode == "fixed" else
                 f"Size search: {len(fits)} candidate(s)", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="best")


def pareto(facts: Facts):
    """Three panels: accuracy against batch-1 p50 latency and against file bytes for every
    exported graph (the front marked), and the size search's candidates."""
    points = file_points(facts)
    bench = reference_bench(facts)
    fig = new_figure(17, 5.5)
    timed, sized, candidates = fig.subplots(1, 3)
    _files_panel(timed, facts, points, "latency",
                 f"Batch-1 p50 latency, µs ({_bench_mark(bench)}; log scale)")
    timed.set_title("Accuracy against measured latency", fontsize=10)
    _files_panel(sized, facts, points, "file_bytes", "ONNX file bytes (log scale)")
    sized.set_title("Accuracy against file size", fontsize=10)
    _candidates_panel(candidates, facts.search)
    fig.suptitle("Pareto front of the exported models (no other model at least as accurate and "
                 "cheaper), and the size search")
    return fig

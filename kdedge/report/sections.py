"""The report as a list of blocks: header, feature selection, performance, student structure,
data views, compression, then export and bench (`deploy.py`) and the conclusions.

Numbers come from metrics.json (distill) and, when present, export.json and the bench JSONs; no
number is typed into a sentence here, every one goes through the formatters in `text.py`.
"""

from __future__ import annotations

from kdedge.report import deploy
from kdedge.report.collect import Facts, reference_bench
from kdedge.report.conclusions import conclusions
from kdedge.report.render import Bullets, Heading, Image, Note, Para, Table
from kdedge.report.text import (caption, fmt_change, fmt_float, fmt_int, fmt_metric, fmt_pct,
                                fmt_ratio, fmt_signed, skip_reason, tr)

METRICS = (("accuracy", "accuracy"), ("precision", "precision"), ("recall", "recall"),
           ("f1", "f1"), ("auc_roc", "roc_auc"), ("auc_pr", "pr_auc"), ("log_loss", "log_loss"))
# The plots each section shows, in order (the bench plots are placed by deploy.bench_section).
SECTION_PLOTS = {
    "s_features": ("feature_importance", "importance_distribution", "correlation_matrix",
                   "feature_distributions"),
    "s_performance": ("precision_recall", "prediction_comparison", "decision_boundary_teacher",
                      "decision_boundary_student"),
    "s_structure": ("factor_feature_heatmap", "factor_gates"),
    "s_dataviews": ("pca_scatter", "pca_variance", "tsne"),
    "s_bench": ("latency_distribution", "accuracy_vs_cost"),
}


def build_document(facts: Facts, *, lang: str, plots: set[str], skipped: dict | None = None) -> list:
    """Every block of the report in `lang`; `plots` names the plot files that were drawn, `skipped`
    maps a plot that was not drawn to its `PlotSkipped` (its section then says why)."""
    blocks = [Heading(tr(lang, "title"), 1)]
    blocks += _header(facts, lang)
    numbered = [("s_features", _features), ("s_performance", _performance),
                ("s_structure", _structure), ("s_dataviews", _dataviews),
                ("s_compression", _compression), ("s_export", deploy.export_section),
                ("s_bench", deploy.bench_section)]
    for number, (key, build) in enumerate(numbered, start=1):
        blocks.append(Heading(f"{number}. {tr(lang, key)}"))
        blocks += build(facts, lang, plots)
        blocks += skipped_notes(lang, skipped or {}, SECTION_PLOTS.get(key, ()))
    blocks.append(Heading(f"{len(numbered) + 1}. {tr(lang, 's_conclusions')}"))
    blocks.append(Bullets(conclusions(facts, lang)))
    return blocks


def images(lang: str, plots: set[str], names) -> list:
    return [Image(name, caption(lang, name)) for name in names if name in plots]


def skipped_notes(lang: str, skipped: dict, names) -> list:
    """One note per plot of `names` that was skipped, saying why it is not shown."""
    return [Note(tr(lang, "plot_skipped", plot=caption(lang, name),
                    reason=skip_reason(lang, skipped[name])))
            for name in names if name in skipped]


def architecture(config: dict) -> str:
    widths = [config["n_features"]] + ([config["rank"]] if "rank" in config else [])
    return "→".join(str(w) for w in widths + list(config["hidden"]) + [config["n_classes"]])


def _header(facts: Facts, lang: str) -> list:
    models, data = facts.run.models, facts.metrics.get("data", {})
    split = data.get("split", {})
    kd = models.get("kd", {})
    teacher = models["teacher"]
    items = [
        f"{tr(lang, 'generated')}: {facts.generated}",
        f"{tr(lang, 'run_id')}: {facts.run.manifest.get('run_id', facts.run.path.name)}",
        f"{tr(lang, 'data')}: " + tr(lang, "data_value", name=data.get("name", "?"),
                                     rows=fmt_int(data.get("rows")), features=facts.n,
                                     classes=facts.n_classes,
                                     split="/".join(fmt_int(split.get(p)) for p in ("train", "val", "test"))),
        f"{tr(lang, 'teacher_model')}: " + tr(lang, "teacher_name", arch=architecture(teacher),
                                              bn="BatchNorm, " if teacher.get("batchnorm") else ""),
        f"{tr(lang, 'student_model')}: " + tr(lang, "student_name", arch=architecture(models["student"]),
                                              rank=models["student"]["rank"]),
        f"{tr(lang, 'baseline_model')} (student_no_kd): " + tr(lang, "baseline_name"),
    ]
    if kd:
        items.append(f"{tr(lang, 'kd_settings')}: " + tr(lang, "kd_value", t=kd.get("temperature"),
                                                         a=kd.get("alpha")))
    return [Bullets(items)]


def _features(facts: Facts, lang: str, plots: set[str]) -> list:
    imp = facts.metrics["feature_importance"]
    std = facts.metrics.get("feature_importance_std") or {}
    top = max(imp.values()) or 1.0
    selected = set(facts.run.selected_features)
    order = sorted(imp, key=lambda f: (-imp[f], f))
    rows = [[str(rank), name, f"{imp[name] / top:.4f}",
             "—" if std.get(name) is None else f"{std[name] / top:.4f}",
             tr(lang, "yes") if name in selected else tr(lang, "no")]
            for rank, name in enumerate(order, start=1)]
    blocks = [Para(tr(lang, "selected", k=facts.k, n=facts.n, pct=fmt_pct(facts.k / facts.n))),
              Para(", ".join(f"`{name}`" for name in facts.run.selected_features)),
              Table([tr(lang, h) for h in ("h_rank", "h_feature", "h_importance", "h_std", "h_selected")],
                    rows)]
    if facts.metrics.get("importance_method"):
        blocks.append(Para(tr(lang, "importance_method", method=facts.metrics["importance_method"])))
    return blocks + images(lang, plots, SECTION_PLOTS["s_features"])


def _performance(facts: Facts, lang: str, plots: set[str]) -> list:
    m = facts.metrics
    t, s, b = m["teacher"], m["student"], m["student_no_kd"]
    rows = [[label, fmt_metric(t.get(key)), fmt_metric(s.get(key)), fmt_metric(b.get(key)),
             fmt_signed(None if t.get(key) is None or s.get(key) is None else s[key] - t[key])]
            for label, key in METRICS]
    headers = [tr(lang, h) for h in ("h_metric", "h_teacher", "h_student", "h_no_kd", "h_diff")]
    consistency = Table([tr(lang, "h_metric"), ""], [
        [tr(lang, "agreement"), fmt_metric(m["agreement"])],
        [tr(lang, "disagreement"), f"{fmt_metric(m['disagreement'])} ({fmt_pct(m['disagreement'])})"],
        [tr(lang, "agreement_no_kd"), fmt_metric(m.get("agreement_no_kd"))],
    ], title=tr(lang, "consistency"))
    return ([Table(headers, rows), Para(tr(lang, "kd_gain", gain=fmt_signed(m["kd_gain"]))), consistency]
            + images(lang, plots, SECTION_PLOTS["s_performance"]))


def _structure(facts: Facts, lang: str, plots: set[str]) -> list:
    return images(lang, plots, SECTION_PLOTS["s_structure"])


def _dataviews(facts: Facts, lang: str, plots: set[str]) -> list:
    return images(lang, plots, SECTION_PLOTS["s_dataviews"])


def _row(label: str, teacher, student, fmt=fmt_int) -> list[str]:
    return [label, fmt(teacher), fmt(student), fmt_change(student, teacher), fmt_ratio(teacher, student)]


def _compression(facts: Facts, lang: str, plots: set[str]) -> list:
    t, s = facts.metrics["teacher"], facts.metrics["student"]
    bench = reference_bench(facts)
    summary = [
        tr(lang, "sum_params", t=fmt_int(t["params"]), s=fmt_int(s["params"]),
           chg=fmt_change(s["params"], t["params"]), ratio=fmt_ratio(t["params"], s["params"])),
        tr(lang, "sum_compute", t=fmt_int(t["macs"]), s=fmt_int(s["macs"]),
           chg=fmt_change(s["macs"], t["macs"]), tf=fmt_int(2 * t["macs"]), sf=fmt_int(2 * s["macs"])),
    ]
    peak_t = deploy.bench_value(bench, "teacher", "peak_mb")
    peak_s = deploy.bench_value(bench, "student", "peak_mb")
    if peak_t is not None and peak_s is not None:
        summary.append(tr(lang, "sum_memory", target=bench.target, t=fmt_float(peak_t, 2),
                          s=fmt_float(peak_s, 2)))
    else:
        summary.append(tr(lang, "sum_memory_missing", cmd=facts.missing.get("bench", "kdedge bench RUN"),
                          t=fmt_int(t["weight_bytes"]), s=fmt_int(s["weight_bytes"])))
    rows = [_row(tr(lang, "q_params"), t["params"], s["params"]),
            _row(tr(lang, "q_macs"), t["macs"], s["macs"]),
            _row(tr(lang, "q_flops"), 2 * t["macs"], 2 * s["macs"]),
            _row(tr(lang, "q_weight_bytes"), t["weight_bytes"], s["weight_bytes"])]
    exported = (facts.export or {}).get("models", {})
    if "teacher" in exported and "student" in exported:
        rows.append(_row(tr(lang, "q_onnx_bytes"), exported["teacher"].get("file_bytes"),
                         exported["student"].get("file_bytes")))
    if peak_t is not None and peak_s is not None:
        rows.append(_row(tr(lang, "q_peak", target=bench.target), peak_t, peak_s, lambda v: fmt_float(v, 2)))
        inc_t = deploy.bench_value(bench, "teacher", "increase_mb")
        inc_s = deploy.bench_value(bench, "student", "increase_mb")
        rows.append([tr(lang, "q_increase", target=bench.target), fmt_float(inc_t, 2),
                     fmt_float(inc_s, 2), "—", "—"])
    rows.append(_row(tr(lang, "q_input_dim"), facts.n, facts.k))
    rows.append(_row(tr(lang, "q_usage"), 1.0, facts.k / facts.n, fmt_pct))
    headers = [tr(lang, h) for h in ("h_quantity", "h_teacher", "h_student", "h_change", "h_ratio")]
    usage_rows = [[name, f"{dim} / {facts.n}", fmt_pct(dim / facts.n), str(dim)]
                  for name, dim in (("teacher", facts.n), ("student", facts.k),
                                    ("student_no_kd", facts.k))]
    usage = Table([tr(lang, h) for h in ("h_model", "h_features_used", "h_usage", "h_input_dim")],
                  usage_rows, title=tr(lang, "feature_usage"))
    blocks = [Heading(tr(lang, "summary"), 3), Bullets(summary), Heading(tr(lang, "details"), 3),
              Table(headers, rows), usage]
    if bench is not None and bench.emulated:  # the memory row came from an emulated machine
        blocks.append(Note(tr(lang, "emulated_note")))
    return blocks

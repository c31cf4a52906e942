"""The report as a list of blocks: header, feature selection, performance, the student's size
search (`size_search.py`) and structure, data views, compression (`compression.py`), then export
and bench (`deploy.py`; the C student's part in export, `microcontroller.py`; the Pareto front under
the bench, `pareto.py`), class balance, baselines and paired verdicts (`balance.py`) and the
conclusions.

Numbers come from metrics.json (distill) and, when present, export.json and the bench JSONs; no
number is typed into a sentence here, every one goes through the formatters in `text.py`.
"""

from __future__ import annotations

import re

from kdedge import ranking
from kdedge.contract import (MEMORY_SPLIT_RULE, DataReading, StudentConfig, TeacherConfig,
                             TreesConfig)
from kdedge.report import deploy
from kdedge.report.balance import verdicts_section
from kdedge.report.collect import Facts
from kdedge.report.compression import compression_section
from kdedge.report.conclusions import conclusions
from kdedge.report.fonts import INSTALL_PACKAGE
from kdedge.report.microcontroller import c_student_part
from kdedge.report.overall import overall_verdict
from kdedge.report.pareto import front_sentences
from kdedge.report.render import Bullets, Heading, Image, Note, Para, Table
from kdedge.report.size_search import search_section, transfer_text
from kdedge.report.text import (caption, fmt_int, fmt_metric, fmt_pct, fmt_signed, skip_reason,
                                tr)

# The performance table's rows: (TEXT key of the label, field of ClassificationMetrics); binary
# data adds the positive class's precision and recall, and its ROC-AUC and PR-AUC replace the
# macro one-vs-rest ones.
METRICS = (("r_accuracy", "accuracy"), ("r_balanced_accuracy", "balanced_accuracy"),
           ("r_precision_weighted", "precision_weighted"), ("r_recall_weighted", "recall_weighted"),
           ("r_f1_weighted", "f1_weighted"), ("r_f1_macro", "f1_macro"))
POSITIVE_METRICS = (("r_precision_positive", "precision"), ("r_recall_positive", "recall"))
AREAS = ("roc_auc", "pr_auc")
# The plots each section shows, in order (the bench plots are placed by deploy.bench_section).
SECTION_PLOTS = {
    "s_features": ("feature_importance", "importance_distribution", "correlation_matrix",
                   "feature_distributions"),
    "s_performance": ("precision_recall", "prediction_comparison", "decision_boundary_teacher",
                      "decision_boundary_student"),
    "s_structure": ("factor_feature_heatmap", "factor_gates"),
    "s_dataviews": ("pca_scatter", "pca_variance", "tsne"),
    "s_bench": deploy.BENCH_PLOTS,
}


def build_document(facts: Facts, *, lang: str, plots: set[str], skipped: dict | None = None,
                   lacking_glyphs: str = "") -> list:
    """Every block of the report in `lang`; `plots` names the plot files that were drawn, `skipped`
    maps a plot that was not drawn to its `PlotSkipped` (its section then says why),
    `lacking_glyphs` the characters of the plotted names no installed font has (`fonts.py`: the
    page then says how to install a CJK font)."""
    blocks = [Heading(tr(lang, "title"), 1)]
    blocks += _header(facts, lang)
    if facts.missing_models:  # a deleted recorded model: loud, before any section
        blocks.append(Note(tr(lang, "missing_models_note", files=", ".join(facts.missing_models),
                              run=facts.run.path)))
    if lacking_glyphs:
        blocks.append(Note(tr(lang, "fonts_missing", chars=" ".join(lacking_glyphs[:20]),
                              package=INSTALL_PACKAGE)))
    numbered = [("s_features", _features), ("s_performance", _performance),
                ("s_structure", _structure), ("s_dataviews", _dataviews),
                ("s_compression", compression_section), ("s_export", _export),
                ("s_bench", _bench), ("s_verdicts", verdicts_section)]
    for number, (key, build) in enumerate(numbered, start=1):
        blocks.append(Heading(f"{number}. {tr(lang, key)}"))
        blocks += build(facts, lang, plots)
        blocks += skipped_notes(lang, skipped or {}, SECTION_PLOTS.get(key, ()))
    blocks.append(Heading(f"{len(numbered) + 1}. {tr(lang, 's_conclusions')}"))
    blocks += [Para(overall_verdict(facts, lang)), Bullets(conclusions(facts, lang))]
    return blocks


def _export(facts: Facts, lang: str, plots: set[str]) -> list:
    """The ONNX export table, then the microcontroller-class part (the C student)."""
    return deploy.export_section(facts, lang, plots) + c_student_part(facts, lang)


def images(lang: str, plots: set[str], names) -> list:
    return [Image(name, caption(lang, name)) for name in names if name in plots]


def skipped_notes(lang: str, skipped: dict, names) -> list:
    """One note per plot of `names` that was skipped, saying why it is not shown."""
    return [Note(tr(lang, "plot_skipped", plot=caption(lang, name),
                    reason=skip_reason(lang, skipped[name])))
            for name in names if name in skipped]


def architecture(config: TeacherConfig | StudentConfig) -> str:
    """Layer widths: 13→256→128→2 (teacher), 6→4→32→2 (student: inputs, factors, head)."""
    widths = [config.n_features] + ([config.rank] if isinstance(config, StudentConfig) else [])
    return "→".join(str(w) for w in widths + list(config.hidden) + [config.n_classes])


def teacher_description(config: TeacherConfig | TreesConfig, lang: str) -> str:
    """"MLP 13→256→128→2 (BatchNorm, ReLU)", or for a GBDT teacher "HistGradientBoosting, 73
    iterations, 73 trees, 4,453 nodes (…)"."""
    if isinstance(config, TreesConfig):
        return tr(lang, "teacher_gbdt_name", iterations=fmt_int(config.iterations),
                  trees=fmt_int(config.trees), nodes=fmt_int(config.nodes),
                  leaves=config.max_leaf_nodes, lr=f"{config.learning_rate:g}")
    return tr(lang, "teacher_name", arch=architecture(config),
              bn="BatchNorm, " if config.batchnorm else "")


def _header(facts: Facts, lang: str) -> list:
    models, data = facts.run.models, facts.metrics.data
    split = "/".join(fmt_int(v) for v in (data.split.train, data.split.val, data.split.test))
    return [Bullets([
        f"{tr(lang, 'generated')}: {facts.generated}",
        f"{tr(lang, 'run_id')}: {facts.run.manifest.run_id}",
        f"{tr(lang, 'data')}: " + tr(lang, "data_value", name=data.name, rows=fmt_int(data.rows),
                                     features=facts.n, classes=facts.n_classes, split=split),
        f"{tr(lang, 'reading')}: " + reading_text(facts.run.manifest.data_reading, lang),
        f"{tr(lang, 'teacher_model')}: " + teacher_description(models.teacher, lang),
        f"{tr(lang, 'student_model')}: " + tr(lang, "student_name", arch=architecture(models.student),
                                              rank=models.student.rank),
        f"{tr(lang, 'baseline_model')} (student_no_kd): " + tr(lang, "baseline_name"),
        f"{tr(lang, 'kd_settings')}: " + tr(lang, "kd_value", t=models.kd.temperature,
                                            a=models.kd.alpha),
        f"{tr(lang, 'transfer_set')}: " + transfer_text(facts, lang),
    ])]


def reading_text(reading: DataReading, lang: str) -> str:
    """How distill read the data (run.json's data_reading), in `lang`: "whole, in memory, one
    process; split: …", or streamed with its batch, shuffle-buffer and sample rows and the
    processes it trained on. The in-memory split rule (`contract.MEMORY_SPLIT_RULE`) is
    translated; any other rule is quoted as recorded (it is what reproduces the split)."""
    if reading.mode == "streamed":
        how = tr(lang, "reading_streamed", chunk=fmt_int(reading.chunk_rows),
                 shuffle=fmt_int(reading.shuffle_rows), sample=fmt_int(reading.sample_rows))
    else:
        how = tr(lang, "reading_memory")
    if reading.world_size > 1:
        # DDP: each process trains a replica and gradients are averaged over `backend`
        processes = tr(lang, "reading_processes", n=fmt_int(reading.world_size),
                       how=", ".join(filter(None, (reading.backend, "DDP"))))
    else:
        processes = tr(lang, "reading_one_process")
    split = (tr(lang, "split_memory") if reading.split_rule == MEMORY_SPLIT_RULE
             else tr(lang, "split_recorded", rule=reading.split_rule))
    return tr(lang, "reading_value", how=how, processes=processes, split=split)


def _features(facts: Facts, lang: str, plots: set[str]) -> list:
    imp = facts.metrics.feature_importance
    std = facts.metrics.feature_importance_std
    top = max(imp.values()) or 1.0
    selected = set(facts.run.selected_features)
    order = sorted(imp, key=lambda f: (-imp[f], f))
    rows = [[str(rank), name, f"{imp[name] / top:.4f}",
             "—" if std.get(name) is None else f"{std[name] / top:.4f}",
             tr(lang, "yes") if name in selected else tr(lang, "no")]
            for rank, name in enumerate(order, start=1)]
    return [Para(tr(lang, "selected", k=facts.k, n=facts.n, pct=fmt_pct(facts.k / facts.n))),
            Para(", ".join(f"`{name}`" for name in facts.run.selected_features)),
            Table([tr(lang, h) for h in ("h_rank", "h_feature", "h_importance", "h_std", "h_selected")],
                  rows),
            Para(tr(lang, "importance_method", method=importance_method(lang, facts.metrics))),
            ] + _dropped(facts, lang) + images(lang, plots, SECTION_PLOTS["s_features"])


# ranking.METHOD with its one placeholder captured: the method distill records, recognised
_PERMUTATION = re.compile(re.escape(ranking.METHOD).replace(re.escape("{n_repeats}"), r"(\d+)"))


def importance_method(lang: str, metrics) -> str:
    """How importance was computed, in `lang`: distill's description of its permutation ranking
    (`kdedge.ranking.METHOD`) translated; any other description quoted as recorded."""
    found = _PERMUTATION.fullmatch(metrics.importance_method)
    if found is None:
        return f"`{metrics.importance_method}`"
    return tr(lang, "importance_permutation", repeats=found.group(1))


def _dropped(facts: Facts, lang: str) -> list:
    """A note naming the constant columns distill dropped when it read the data, if any."""
    dropped = facts.metrics.data.dropped_constant
    if not dropped:
        return []
    return [Note(tr(lang, "dropped_constant", n=len(dropped), features=facts.n,
                    names=", ".join(f"`{name}`" for name in dropped)))]


def _performance_rows(facts: Facts, lang: str) -> list[tuple[str, object]]:
    """(label, value getter) of every row of the performance table, each label saying its
    average (weighted, macro, positive class X)."""
    rows = [(tr(lang, label), lambda q, key=key: getattr(q, key)) for label, key in METRICS]
    positive = facts.positive_class
    if positive is not None:
        rows += [(tr(lang, label, c=positive),
                  lambda q, key=key: None if q.positive is None else getattr(q.positive, key))
                 for label, key in POSITIVE_METRICS]
    kind = "macro" if positive is None else "positive"
    rows += [(tr(lang, f"r_{key}_{kind}", c=positive), lambda q, key=key: getattr(q, key))
             for key in AREAS]
    return rows + [(tr(lang, "r_log_loss"), lambda q: q.log_loss)]


def _performance(facts: Facts, lang: str, plots: set[str]) -> list:
    m = facts.metrics
    rows = []
    for label, get in _performance_rows(facts, lang):
        t, s, b = (get(model) for model in (m.teacher, m.student, m.student_no_kd))
        rows.append([label, fmt_metric(t), fmt_metric(s), fmt_metric(b),
                     fmt_signed(None if t is None or s is None else s - t)])
    headers = [tr(lang, h) for h in ("h_metric", "h_teacher", "h_student", "h_no_kd", "h_diff")]
    consistency = Table([tr(lang, "h_metric"), ""], [
        [tr(lang, "agreement"), fmt_metric(m.agreement)],
        [tr(lang, "disagreement"), f"{fmt_metric(m.disagreement)} ({fmt_pct(m.disagreement)})"],
        [tr(lang, "agreement_no_kd"), fmt_metric(m.agreement_no_kd)],
    ], title=tr(lang, "consistency"))
    return ([Table(headers, rows), Para(tr(lang, "averages_note")),
             Para(tr(lang, "kd_gain", gain=fmt_signed(m.kd_gain))), consistency]
            + images(lang, plots, SECTION_PLOTS["s_performance"]))


def _structure(facts: Facts, lang: str, plots: set[str]) -> list:
    """How the student's size was chosen (search.json), then its factors and gates."""
    return search_section(facts, lang) + images(lang, plots, SECTION_PLOTS["s_structure"])


def _bench(facts: Facts, lang: str, plots: set[str]) -> list:
    """The bench tables and plots, then the Pareto fronts named under the Pareto plot."""
    return deploy.bench_section(facts, lang, plots) + [Para(sentence) for sentence
                                                       in front_sentences(facts, lang)]


def _dataviews(facts: Facts, lang: str, plots: set[str]) -> list:
    return images(lang, plots, SECTION_PLOTS["s_dataviews"])

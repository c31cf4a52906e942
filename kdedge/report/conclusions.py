"""Conclusions written from the numbers: each sentence is chosen by a comparison, not a template.

`conclusions(facts, lang)` returns one sentence per finding, most important first:

1. the teacher learned nothing useful (metrics.json's teacher_useful is false: not significantly
   more accurate than the majority class), then every warning distill recorded, and a student
   that misses the size search's target (`size_search.py`, worded in the report's language);
2. a baseline significantly more accurate than the teacher, named; a simpler model (a
   LogisticRegression) not detectably less accurate than the student;
3. the paired verdicts: teacher vs student (accuracy and, for binary data, the positive class's
   recall and PR-AUC, each reported on its own, so a drop there shows even when accuracy is
   flat), KD vs no-KD, the student vs each baseline;
4. a model that predicts a single class;
5. guidance: raise --features (the best feature left out is at least IMPORTANCE_RATIO × the
   weakest kept one), "k too small" vs "student too small" (from student_all_features);
6. agreement, compression, export (each quantized variant vs fp32, paired), the C student
   (`microcontroller.py`: its cost in C against the onnxruntime floor, bytes, stack, parity),
   bench findings and the accuracy–latency front (`pareto.py`). Against a tree teacher
   (--teacher gbdt) compression is stated in tree nodes and file bytes, never as a MACs ratio.

Every comparison of two models is a paired one recorded by distill or export (`paired.py` words
it): "lost" / "gained" when the paired bootstrap interval excludes 0, else "no detectable
difference" with the smallest difference the split could have detected. The thresholds below are
passed into the sentences that quote them: agreement below AGREEMENT_THRESHOLD, a call-overhead
dominated batch-1 latency (p50 under OVERHEAD_RATIO × the floor of an empty call), a quantized
variant judged by export.json's reject_threshold. A stale bench model (measured file differs from
what export recorded) gives no speed finding.
"""

from __future__ import annotations

from pathlib import Path

from kdedge.contract import (MIN_AGREEMENT_FP32, MODEL_NAMES, STUDENT_ALL_FEATURES, Metrics,
                             PairedComparison)
from kdedge.report.collect import (BENCH_COMMAND, Bench, Facts, latency, model_label, p50_us,
                                   usable)
from kdedge.report.deploy import load_values
from kdedge.report.microcontroller import c_student_findings
from kdedge.report.pareto import front_sentences
from kdedge.report.paired import (evidence, graph_names, metric_name, metrics_sentence,
                                  model_name, oriented, predicted_class, verdict_sentence)
from kdedge.report.size_search import search_findings, search_message
from kdedge.report.text import (finding, fmt_float, fmt_int, fmt_metric, fmt_pct, fmt_points,
                                fmt_ratio)

AGREEMENT_THRESHOLD = 0.98
OVERHEAD_RATIO = 2.0  # p50 below 2× the floor: most of a call is fixed overhead, not the model
IMPORTANCE_RATIO = 0.5  # the best feature left out at least this × the weakest kept: raise k
SIMPLER_BASELINES = ("logreg_k", "logreg_all")  # "a simpler model would do as well"
POSITIVE_METRICS = ("positive_recall", "pr_auc")  # binary data: verdicts of their own


def _paired(facts: Facts, lang: str, a: str, b: str, metric: str = "accuracy") -> list[str]:
    """The sentence of b against a on `metric` (none when distill recorded no such comparison)."""
    found = oriented(facts.metrics, a, b, metric)
    return [] if found is None else [metrics_sentence(lang, facts.metrics, found)]


def _teacher_findings(facts: Facts, lang: str) -> list[str]:
    """First: a teacher no better than the majority class; then every distill warning."""
    m = facts.metrics
    out = []
    if not m.teacher_useful:
        majority = m.baselines["majority"]
        c = oriented(m, "majority", "teacher")
        backing = finding(lang, "no_paired") if c is None else evidence(
            lang, c, model_name(lang, m, "majority"), model_name(lang, m, "teacher"))
        out.append(finding(lang, "teacher_useless", c=predicted_class(m, majority),
                        t=fmt_metric(m.teacher.accuracy if c is None else c.value_b),
                        m=fmt_metric(majority.accuracy if c is None else c.value_a),
                        evidence=backing))
    stated = search_message(facts)  # worded by `search_findings`, in the report's language
    return out + [finding(lang, "warning", w=warning) for warning in m.warnings
                  if warning != stated]


def _simpler_as_good(metrics: Metrics) -> list[PairedComparison]:
    """The student against each simpler baseline that is not detectably less accurate."""
    found = [oriented(metrics, "student", name) for name in SIMPLER_BASELINES]
    return [c for c in found if c is not None and c.verdict != "b_worse"]


def beats_teacher(metrics: Metrics) -> list[PairedComparison]:
    """The comparisons (teacher → baseline) of every baseline significantly more accurate than
    the teacher."""
    found = [oriented(metrics, "teacher", name) for name in metrics.baselines]
    return [c for c in found if c is not None and c.verdict == "b_better"]


def _baseline_findings(facts: Facts, lang: str) -> list[str]:
    """A baseline significantly more accurate than the teacher; a simpler model as good as the
    student."""
    m = facts.metrics
    return ([finding(lang, "beats_teacher", s=metrics_sentence(lang, m, c)) for c in beats_teacher(m)]
            + [finding(lang, "simpler_as_good", s=metrics_sentence(lang, m, c))
               for c in _simpler_as_good(m)])


def _student_findings(facts: Facts, lang: str) -> list[str]:
    """The paired verdicts: teacher vs student (accuracy, then the positive class's recall and
    PR-AUC), KD vs no-KD (the positive metrics only when they differ), the student vs each
    baseline (those `_baseline_findings` stated as simpler and as good left out)."""
    m = facts.metrics
    out = _paired(facts, lang, "teacher", "student")
    for metric in POSITIVE_METRICS:
        out += _paired(facts, lang, "teacher", "student", metric)
    out += _paired(facts, lang, "student_no_kd", "student")
    for metric in POSITIVE_METRICS:
        found = oriented(m, "student_no_kd", "student", metric)
        if found is not None and found.verdict != "no_difference":
            out.append(metrics_sentence(lang, m, found))
    stated = {c.b for c in _simpler_as_good(m)}
    for name in (n for n in m.baselines if n not in stated):  # the student judged against each
        out += _paired(facts, lang, name, "student")
    return out


def _single_class_findings(facts: Facts, lang: str) -> list[str]:
    """Every model (baselines other than the majority class included) that predicts one class."""
    m = facts.metrics
    names = MODEL_NAMES + (STUDENT_ALL_FEATURES,) + tuple(n for n in m.baselines
                                                          if n != "majority")
    return [finding(lang, "single_class", m=model_name(lang, m, name),
                 c=predicted_class(m, m.model(name)))
            for name in names if m.model(name).predicted_classes == 1]


def _features_guidance(facts: Facts, lang: str) -> list[str]:
    """Raise --features when the best feature left out is at least IMPORTANCE_RATIO × as
    important as the weakest one kept (importance scaled so the top feature is 1)."""
    importance = facts.metrics.feature_importance
    kept = list(facts.metrics.selected_features)  # lists, not sets: ties break the same each run
    left_out = [f for f in importance if f not in kept]
    if not left_out or not kept:
        return []
    weakest = min(kept, key=lambda f: importance[f])
    best = max(left_out, key=lambda f: importance[f])
    top = max(importance.values())
    if importance[weakest] <= 0 or importance[best] < IMPORTANCE_RATIO * importance[weakest]:
        return []
    return [finding(lang, "raise_features", next=best, kept=weakest, k=facts.k,
                 vn=fmt_metric(importance[best] / top), vk=fmt_metric(importance[weakest] / top),
                 r=fmt_float(IMPORTANCE_RATIO, 2))]


def _size_guidance(facts: Facts, lang: str) -> list[str]:
    """When the student loses to the teacher: the same student on all features tells "k too
    small" (it does not lose, and beats the student) from "student too small" (it loses too)."""
    m = facts.metrics
    lost = oriented(m, "teacher", "student")
    all_vs_teacher = oriented(m, "teacher", STUDENT_ALL_FEATURES)
    all_vs_student = oriented(m, "student", STUDENT_ALL_FEATURES)
    if (lost is None or lost.verdict != "b_worse" or all_vs_teacher is None
            or all_vs_student is None):
        return []
    if all_vs_teacher.verdict == "b_worse":
        key = "student_too_small"
    elif all_vs_student.verdict == "b_better":
        key = "k_too_small"
    else:
        key = "size_unclear"
    return [finding(lang, key, s=model_name(lang, m, "student"), t=model_name(lang, m, "teacher"),
                 all=model_name(lang, m, STUDENT_ALL_FEATURES), k=facts.k,
                 va=fmt_metric(m.student_all_features.accuracy), vs=fmt_metric(m.student.accuracy),
                 vt=fmt_metric(m.teacher.accuracy))]


def _compressed(facts: Facts, lang: str) -> str:
    """Features, parameters and MACs of the student against the teacher; against a tree teacher
    (no MACs: it compares, it does not multiply) its tree nodes and, once exported, file bytes."""
    teacher, student = facts.metrics.teacher, facts.metrics.student
    values = dict(k=facts.k, n=facts.n, pr=fmt_ratio(teacher.params, student.params),
                  pt=fmt_int(teacher.params), ps=fmt_int(student.params), ms=fmt_int(student.macs))
    if not facts.gbdt_teacher:
        return finding(lang, "compressed", mr=fmt_ratio(teacher.macs, student.macs),
                       mt=fmt_int(teacher.macs), **values)
    exported = facts.export.models if facts.export else {}
    files = ""
    if "teacher" in exported and "student" in exported:
        t, s = exported["teacher"].file_bytes, exported["student"].file_bytes
        files = finding(lang, "compressed_files", r=fmt_ratio(t, s), t=fmt_int(t), s=fmt_int(s))
    return finding(lang, "compressed_trees", files=files, **values)


def _distill_findings(facts: Facts, lang: str) -> list[str]:
    """The agreement, the compression."""
    m = facts.metrics
    key = "agree_low" if m.agreement < AGREEMENT_THRESHOLD else "agree_ok"
    return [
        finding(lang, key, a=fmt_metric(m.agreement), d=fmt_pct(1 - m.agreement),
             limit=fmt_metric(AGREEMENT_THRESHOLD)),
        _compressed(facts, lang),
    ]


def conclusions(facts: Facts, lang: str) -> list[str]:
    """Sentences, in `lang`, that state what the measured numbers show (module docstring)."""
    out = (_teacher_findings(facts, lang) + search_findings(facts, lang)
           + _baseline_findings(facts, lang)
           + _student_findings(facts, lang) + _single_class_findings(facts, lang)
           + _features_guidance(facts, lang) + _size_guidance(facts, lang)
           + _distill_findings(facts, lang) + _export_findings(facts, lang)
           + c_student_findings(facts, lang))
    for bench in facts.benches:
        out += _bench_findings(bench, lang, facts.run.path)
    out += front_sentences(facts, lang)[:1]  # the accuracy-latency front on the reference bench
    for stage, cmd in facts.missing.items():
        out.append(finding(lang, "missing", cmd=cmd, what=finding(lang, f"stage_{stage}")))
    return out


def _export_findings(facts: Facts, lang: str) -> list[str]:
    if facts.export is None:
        return []
    out = []
    models = facts.export.models
    limit = fmt_points(facts.export.reject_threshold, signed=False)
    for name, entry in models.items():
        label = model_label(name)
        if entry.parity is not None and not entry.parity.passed:
            out.append(finding(lang, "parity_failed", m=label))
        if entry.variant == "fp32":
            continue
        fp32 = models.get(entry.model)
        if fp32 is not None and entry.file_bytes > fp32.file_bytes:
            out.append(finding(lang, "variant_bigger", m=label, v=fmt_int(entry.file_bytes),
                            f=fmt_int(fp32.file_bytes)))
        if entry.verdict == "rejected":
            out.append(finding(lang, "variant_rejected", m=label,
                            r=str(entry.reason or "—").rstrip(".")))
        else:
            out.append(finding(lang, "variant_accepted", m=label, limit=limit,
                            agree=fmt_metric(MIN_AGREEMENT_FP32),
                            a=fmt_metric(entry.metrics.accuracy), g=fmt_metric(entry.agreement_fp32)))
        if entry.paired_vs_fp32 is not None:
            out.append(verdict_sentence(lang, entry.paired_vs_fp32,
                                        *graph_names(lang, facts.metrics, entry),
                                        metric_name(lang, facts.metrics,
                                                    entry.paired_vs_fp32.metric)))
    return out


def _relative(student: float, teacher: float, lang: str) -> str:
    if student >= teacher:
        return finding(lang, "higher", r=fmt_float(student / teacher))
    return finding(lang, "lower", r=fmt_float(teacher / student))


def _bench_findings(bench: Bench, lang: str, run_dir: Path) -> list[str]:
    """What one bench shows; from an emulated one only that it is emulated; the findings of an
    overloaded or --quick one follow a caveat saying so."""
    out = []
    if bench.stale:
        out.append(finding(lang, "stale_bench", target=bench.target,
                        models=", ".join(model_label(n) for n in bench.stale)))
    if bench.emulated:  # translator timings: say so, and draw no speed conclusion from them
        return out + [finding(lang, "emulated", target=bench.target)]
    if bench.overloaded:  # real timings, inflated: the findings stand, with this caveat first
        out.append(finding(lang, "overloaded", target=bench.target, **load_values(bench, lang)))
    if bench.quick:
        out.append(finding(lang, "quick", target=bench.target,
                           cmd=BENCH_COMMAND.format(run=run_dir)))
    fp32, teacher = p50_us(bench, "student"), p50_us(bench, "teacher")
    if fp32 is not None and teacher is not None:
        key = "student_vs_teacher_speed" if fp32 < teacher else "student_slower_than_teacher"
        out.append(finding(lang, key, target=bench.target, r=fmt_ratio(teacher, fp32),
                        s=fmt_float(fp32), t=fmt_float(teacher)))
    out += _throughput_finding(bench, lang)
    if fp32 is None:
        return out
    for name in sorted(n for n in bench.models if n.startswith("student.")):
        value = p50_us(bench, name)
        if value is not None and value != fp32:
            out.append(finding(lang, "variant_slower" if value > fp32 else "variant_faster",
                            target=bench.target, m=model_label(name), v=fmt_float(value),
                            f=fmt_float(fp32)))
    ratio = latency(usable(bench, "student"), 1).ratio_to_floor
    if ratio is not None:
        out.append(finding(lang, "overhead" if ratio < OVERHEAD_RATIO else "compute_visible",
                        target=bench.target, p=fmt_float(fp32), r=f"{ratio:.2f}",
                        limit=f"{OVERHEAD_RATIO:.2f}"))
    return out


def _throughput_finding(bench: Bench, lang: str) -> list[str]:
    """Student vs teacher rows/s at the largest batch size measured (above 1)."""
    largest = max(bench.batch_sizes, default=1)
    stats = {name: None if name in bench.stale else latency(usable(bench, name), largest)
             for name in ("student", "teacher")}
    if largest <= 1 or None in stats.values():
        return []
    student, teacher = (stats[n].throughput_rows_per_s for n in ("student", "teacher"))
    return [finding(lang, "throughput", target=bench.target, b=largest, s=fmt_int(student),
                 t=fmt_int(teacher), r=_relative(student, teacher, lang))]

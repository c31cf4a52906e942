"""The overall verdict: one sentence above the conclusions, as the seed report had (总体评价).

It says whether the student keeps the teacher, judged as the conclusions judge it: by the paired
accuracy verdict distill recorded (teacher vs student) and by the label agreement against
`conclusions.AGREEMENT_THRESHOLD`; then at what cost (how many times fewer parameters and MACs,
on how many features; against a tree teacher, its nodes: it has no MACs); then every bad result
a reader must not miss: no student of the size search met its target (or the fixed-size one
misses it), a detectable loss of the positive (binary: usually the minority) class's recall, a
student that predicts one class, a baseline more accurate than the teacher, an ONNX graph that
failed parity and a quantized variant export rejected. A teacher no better than the majority
class leads the sentence instead: then no student of it is of use. The conclusions below give the numbers.
"""

from __future__ import annotations

from kdedge.contract import PairedComparison
from kdedge.report.collect import Facts, model_label
from kdedge.report import conclusions
from kdedge.report.paired import model_name, oriented
from kdedge.report.size_search import search_flags
from kdedge.report.text import (finding, fmt_int, fmt_interval, fmt_metric, fmt_points, fmt_ratio,
                                tr)


def _kept_key(c: PairedComparison | None, agreement: float) -> str:
    """Which `finding.overall_<key>` states the student against the teacher."""
    if c is None:
        return "unpaired"
    if c.verdict == "b_worse":
        return "loses"
    if agreement < conclusions.AGREEMENT_THRESHOLD:
        return "low_agreement"
    return "exceeds" if c.verdict == "b_better" else "keeps"


def _kept(facts: Facts, lang: str) -> str:
    """The clause: does the student keep the teacher (paired accuracy verdict, agreement)."""
    m = facts.metrics
    c = oriented(m, "teacher", "student")
    key = _kept_key(c, m.agreement)
    values = {} if c is None else {"d": fmt_points(c.difference),
                                   "loss": fmt_points(c.difference, signed=False),
                                   "ci": fmt_interval(c.ci_low, c.ci_high)}
    return finding(lang, f"overall_{key}", a=fmt_metric(m.agreement),
                   limit=fmt_metric(conclusions.AGREEMENT_THRESHOLD), **values)


def _cost(facts: Facts, lang: str) -> str:
    """How many times fewer parameters (and MACs, when the teacher multiplies at all: a GBDT
    teacher has 0 MACs) the student has, and on how many of the features."""
    teacher, student = facts.metrics.teacher, facts.metrics.student
    pr = fmt_ratio(teacher.params, student.params)
    if facts.gbdt_teacher:  # its params are tree nodes: say so rather than "fewer parameters"
        return finding(lang, "overall_cost_trees", ps=fmt_int(student.params),
                       pt=fmt_int(teacher.params), k=facts.k, n=facts.n)
    if teacher.macs and student.macs:
        return finding(lang, "overall_cost", pr=pr, mr=fmt_ratio(teacher.macs, student.macs),
                       k=facts.k, n=facts.n)
    return finding(lang, "overall_cost_params", pr=pr, k=facts.k, n=facts.n)


def _model_flags(facts: Facts, lang: str) -> list[str]:
    """Bad results of distill besides a useless teacher (which leads the sentence): a baseline
    above the teacher, a lost positive-class recall, a single-class student."""
    m = facts.metrics
    flags = [finding(lang, "overall_flag_baseline", m=model_name(lang, m, c.b))
             for c in conclusions.beats_teacher(m)]
    recall = oriented(m, "teacher", "student", "positive_recall")
    if recall is not None and recall.verdict == "b_worse":
        flags.append(finding(lang, "overall_flag_recall", c=m.data.positive_class,
                             d=fmt_points(recall.difference)))
    if m.student.predicted_classes == 1:
        flags.append(finding(lang, "overall_flag_single_class"))
    return flags


def _export_flags(facts: Facts, lang: str) -> list[str]:
    """Bad results of export: graphs that failed parity, rejected quantized variants."""
    if facts.export is None:
        return []
    models = sorted(facts.export.models.items())
    failed = [model_label(n) for n, e in models if e.parity is not None and not e.parity.passed]
    rejected = [model_label(n) for n, e in models if e.verdict == "rejected"]
    flags = [finding(lang, "overall_flag_parity", models=", ".join(failed))] if failed else []
    if rejected:
        flags.append(finding(lang, "overall_flag_rejected", models=", ".join(rejected)))
    return flags


def overall_verdict(facts: Facts, lang: str) -> str:
    """One sentence in `lang`: does the student keep the teacher, at what cost, and what went
    wrong (nothing added when nothing did)."""
    flags = search_flags(facts, lang) + _model_flags(facts, lang) + _export_flags(facts, lang)
    but = finding(lang, "overall_flags", items=tr(lang, "list_sep").join(flags)) if flags else ""
    if not facts.metrics.teacher_useful:  # then nothing about the student matters more
        return finding(lang, "overall_useless", flags=but)
    return finding(lang, "overall", kept=_kept(facts, lang), cost=_cost(facts, lang), flags=but)

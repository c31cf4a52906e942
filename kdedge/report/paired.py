"""Paired verdicts as the report words them: the names of the models compared, a comparison of
metrics.json found whichever way round distill stored it, and the one sentence and the one table
row of a `PairedComparison`.

Every comparison sentence of the report comes from `verdict_sentence`: its verdict (the paired
bootstrap interval of the difference, see `kdedge.verdicts`) picks "lost", "gained" or "no
detectable difference", and the last always says the smallest difference the rows compared
could have detected. Nothing here computes a verdict: distill and export recorded them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from kdedge.contract import (BaselineMetrics, ExportedModel, Metrics, ModelMetrics,
                             PairedComparison)
from kdedge.report.text import (TEXT, fmt_int, fmt_interval, fmt_metric, fmt_p, fmt_points,
                                tr)

_FLIPPED_VERDICT = {"b_worse": "b_better", "b_better": "b_worse", "no_difference": "no_difference"}


def flipped(comparison: PairedComparison) -> PairedComparison:
    """The same comparison with a and b swapped (difference and interval negated)."""
    c = comparison
    return dataclasses.replace(
        c, a=c.b, b=c.a, value_a=c.value_b, value_b=c.value_a, difference=-c.difference,
        ci_low=-c.ci_high, ci_high=-c.ci_low, only_a=c.only_b, only_b=c.only_a,
        verdict=_FLIPPED_VERDICT[c.verdict])


def oriented(metrics: Metrics, a: str, b: str, metric: str = "accuracy") -> PairedComparison | None:
    """The recorded comparison of `b` against `a` (stored either way round), or None."""
    found = metrics.comparison(a, b, metric)
    if found is not None:
        return found
    reverse = metrics.comparison(b, a, metric)
    return None if reverse is None else flipped(reverse)


def predicted_class(metrics: Metrics, model: ModelMetrics | BaselineMetrics) -> str:
    """The class a model predicts most often on the test split (the only one when
    predicted_classes is 1): the largest column of its confusion matrix."""
    predicted = np.asarray(model.confusion_matrix).sum(axis=0)
    return metrics.data.class_names[int(np.argmax(predicted))]


def model_name(lang: str, metrics: Metrics, name: str) -> str:
    """Display name of a model or baseline of metrics.json: "Student (KD)", "Majority class
    (always ok)", "LogisticRegression on the 6 selected features"."""
    majority = predicted_class(metrics, metrics.baselines["majority"]) \
        if "majority" in metrics.baselines else "—"
    return tr(lang, f"model.{name}", c=majority, k=len(metrics.selected_features),
              n=metrics.data.features)


def graph_label(lang: str, metrics: Metrics, stem: str) -> str:
    """Display name of an exported graph by its stem (export.json's key, the bench's file stem):
    `hgb_all` → "HistGradientBoosting on all 13 features", `student.int8` → "Student (KD), int8
    graph"."""
    model, _, variant = stem.partition(".")
    if f"model.{model}" not in TEXT:  # a graph of another run's bench: its stem as it is
        return f"{model} ({variant})" if variant else model
    name = model_name(lang, metrics, model)
    return tr(lang, "model.graph", m=name, v=variant) if variant else name


def plot_label(metrics: Metrics, stem: str) -> str:
    """A graph's name on a plot (plots are in English): "Student (KD) [int8]", comma-free so
    that a label naming several points at one spot (`labels.py`) reads unambiguously."""
    model, _, variant = stem.partition(".")
    name = graph_label("en", metrics, model)
    return f"{name} [{variant}]" if variant else name


def graph_names(lang: str, metrics: Metrics, entry: ExportedModel) -> tuple[str, str]:
    """Display names of an exported variant's fp32 graph and of the variant itself."""
    model = model_name(lang, metrics, entry.model)
    return (tr(lang, "model.graph", m=model, v="fp32"),
            tr(lang, "model.graph", m=model, v=entry.variant))


def metric_name(lang: str, metrics: Metrics, metric: str) -> str:
    """accuracy, "recall of the positive class fault", "PR-AUC of the positive class fault"."""
    return tr(lang, f"metric.{metric}", c=metrics.data.positive_class or "—")


def evidence(lang: str, c: PairedComparison, a: str, b: str) -> str:
    """The clause that backs a verdict: interval, discordant rows and McNemar p (accuracy and
    recall), or interval and resamples (PR-AUC)."""
    ci = fmt_interval(c.ci_low, c.ci_high)
    if c.only_a is None or c.only_b is None:
        return tr(lang, "finding.evidence_interval", ci=ci, boot=fmt_int(c.bootstrap))
    return tr(lang, "finding.evidence_rows", ci=ci, a=a, b=b, oa=fmt_int(c.only_a),
              ob=fmt_int(c.only_b), p=fmt_p(c.p_value, relation=True))


def verdict_sentence(lang: str, c: PairedComparison, a: str, b: str, metric: str) -> str:
    """One sentence for comparison `c`; `a`, `b` and `metric` are display names. b_worse →
    "B lost <metric> against A", b_better → "gained", no_difference → "no detectable
    difference" with the smallest difference that could have been detected; two models right on
    exactly the same rows → "identical"."""
    key = "identical" if c.only_a == 0 and c.only_b == 0 else c.verdict
    return tr(lang, f"finding.paired_{key}", a=a, b=b, metric=metric,
              va=fmt_metric(c.value_a), vb=fmt_metric(c.value_b), d=fmt_points(c.difference),
              n=fmt_int(c.n), md=fmt_points(c.min_detectable, signed=False),
              evidence=evidence(lang, c, a, b))


def metrics_sentence(lang: str, metrics: Metrics, c: PairedComparison) -> str:
    """`verdict_sentence` for a comparison of metrics.json (names looked up from the record)."""
    return verdict_sentence(lang, c, model_name(lang, metrics, c.a), model_name(lang, metrics, c.b),
                            metric_name(lang, metrics, c.metric))


def comparison_row(lang: str, c: PairedComparison, a: str, b: str, metric: str) -> list[str]:
    """A table row: A, B, metric, rows, A's and B's values, Δ, interval, discordant rows,
    McNemar p, verdict, smallest detectable difference."""
    discordant = "—" if c.only_a is None or c.only_b is None else \
        f"{fmt_int(c.only_a)} / {fmt_int(c.only_b)}"
    return [a, b, metric, fmt_int(c.n), fmt_metric(c.value_a), fmt_metric(c.value_b),
            fmt_points(c.difference), fmt_interval(c.ci_low, c.ci_high), discordant,
            fmt_p(c.p_value), tr(lang, f"verdict.{c.verdict}"),
            fmt_points(c.min_detectable, signed=False)]

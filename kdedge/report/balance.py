"""The section "Class balance, baselines and paired verdicts": rows per class of each split with
the positive class named (and how it was chosen), teacher, students and baselines side by side
with every averaged figure saying its average, per-class scores (up to PER_CLASS_MAX classes), and
every paired comparison distill and export recorded.

All numbers come from metrics.json and export.json through the formatters of `text.py`.
"""

from __future__ import annotations

from kdedge.contract import MODEL_NAMES, STUDENT_ALL_FEATURES
from kdedge.report.collect import Facts
from kdedge.report.paired import comparison_row, graph_names, metric_name, model_name
from kdedge.report.render import Note, Para, Table
from kdedge.report.text import fmt_int, fmt_metric, fmt_pct, tr

PER_CLASS_MAX = 10  # a per-class table beyond this many classes is too wide to read
SPLITS = ("train", "val", "test")


def _rule_text(lang: str, rule: str | None) -> str:
    """How the positive class was chosen, in `lang` (kdedge.data's rule, else quoted as is)."""
    from kdedge import data

    key = {data.MINORITY_RULE: "rule_minority", data.TIE_RULE: "rule_tie",
           data.REQUESTED_RULE: "rule_requested"}.get(rule)
    return tr(lang, key) if key else tr(lang, "rule_other", rule=rule or "—")


def class_label(lang: str, facts: Facts, name: str) -> str:
    """A class name, marked "(positive)" when it is the positive class."""
    return tr(lang, "positive_mark", c=name) if name == facts.positive_class else name


def _class_balance(facts: Facts, lang: str) -> list:
    """Rows per class of each split (with its share of the split), the positive class named."""
    data = facts.metrics.data
    counts = [getattr(data.split_class_counts, split) for split in SPLITS]
    totals = [sum(column) for column in counts]
    rows = [[class_label(lang, facts, name)]
            + [f"{fmt_int(column[c])} ({fmt_pct(column[c] / total if total else 0)})"
               for column, total in zip(counts, totals)] + [fmt_int(data.class_counts[c])]
            for c, name in enumerate(data.class_names)]
    rows.append([tr(lang, "total")] + [fmt_int(total) for total in totals]
                + [fmt_int(sum(data.class_counts))])
    headers = [tr(lang, h) for h in ("h_class", "h_train", "h_val", "h_test", "h_all")]
    positive = (Para(tr(lang, "positive_class", c=data.positive_class,
                        rule=_rule_text(lang, data.positive_rule)))
                if data.positive_class is not None else Para(tr(lang, "no_positive")))
    return [Table(headers, rows, title=tr(lang, "class_counts")), positive]


def _quality_columns(facts: Facts, lang: str) -> list[tuple[str, object]]:
    """(header, value getter) of the models table: binary data adds the positive class's recall
    and PR-AUC."""
    columns = [(tr(lang, "r_accuracy"), lambda q: q.accuracy),
               (tr(lang, "r_balanced_accuracy"), lambda q: q.balanced_accuracy),
               (tr(lang, "r_f1_macro"), lambda q: q.f1_macro),
               (tr(lang, "r_f1_weighted"), lambda q: q.f1_weighted)]
    if facts.positive_class is not None:
        columns += [(tr(lang, "r_recall_positive", c=facts.positive_class),
                     lambda q: q.positive.recall if q.positive else None),
                    (tr(lang, "r_pr_auc_positive", c=facts.positive_class), lambda q: q.pr_auc)]
    return columns


def _models_table(facts: Facts, lang: str) -> Table:
    """Teacher, the three students and every baseline on the same test rows."""
    m = facts.metrics
    columns = _quality_columns(facts, lang)
    names = MODEL_NAMES + (STUDENT_ALL_FEATURES,) + tuple(m.baselines)
    rows = []
    for name in names:
        quality = m.model(name)
        rows.append([model_name(lang, m, name), fmt_int(quality.n_features)]
                    + [fmt_metric(get(quality)) for _, get in columns]
                    + [fmt_int(quality.predicted_classes)])
    headers = ([tr(lang, "h_model"), tr(lang, "h_inputs")] + [h for h, _ in columns]
               + [tr(lang, "h_predicted_classes")])
    return Table(headers, rows, title=tr(lang, "models_table", n=fmt_int(m.data.split.test)))


def _per_class_table(facts: Facts, lang: str) -> list:
    """Precision, recall, F1 and support of each class, teacher vs student (≤ PER_CLASS_MAX)."""
    m = facts.metrics
    if len(m.data.class_names) > PER_CLASS_MAX:
        return []
    models = ("teacher", "student")
    headers = [tr(lang, "h_class"), tr(lang, "h_support")] + [
        tr(lang, "h_of", m=model_name(lang, m, name), q=tr(lang, q))
        for name in models for q in ("q_precision", "q_recall", "q_f1")]
    rows = []
    for c, name in enumerate(m.data.class_names):
        scores = [m.model(model).per_class[c] for model in models]
        rows.append([class_label(lang, facts, name), fmt_int(scores[0].support)]
                    + [fmt_metric(v) for s in scores for v in (s.precision, s.recall, s.f1)])
    return [Table(headers, rows, title=tr(lang, "per_class_table"))]


def _comparisons_table(facts: Facts, lang: str) -> list:
    """Every paired comparison of metrics.json, then each quantized variant against its fp32
    graph (export.json)."""
    m = facts.metrics
    rows = [comparison_row(lang, c, model_name(lang, m, c.a), model_name(lang, m, c.b),
                           metric_name(lang, m, c.metric)) for c in m.comparisons]
    exported = facts.export.models.values() if facts.export else ()
    rows += [comparison_row(lang, entry.paired_vs_fp32, *graph_names(lang, m, entry),
                            metric_name(lang, m, entry.paired_vs_fp32.metric))
             for entry in exported if entry.paired_vs_fp32 is not None]
    headers = [tr(lang, h) for h in ("h_a", "h_b", "h_metric", "h_rows", "h_value_a", "h_value_b",
                                     "h_delta", "h_interval", "h_discordant", "h_p", "h_verdict",
                                     "h_detectable")]
    return [Table(headers, rows, title=tr(lang, "comparisons_table")),
            Note(tr(lang, "comparisons_note"))]


def verdicts_section(facts: Facts, lang: str, plots: set[str]) -> list:
    """The whole section, in `lang` (it has no plots)."""
    return (_class_balance(facts, lang) + [_models_table(facts, lang)]
            + _per_class_table(facts, lang) + _comparisons_table(facts, lang))

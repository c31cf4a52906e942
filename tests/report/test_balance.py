"""Tests of kdedge/report/balance.py: the class balance, baselines and paired verdicts section,
on real runs (every comparison recorded by the real distill and export)."""

from __future__ import annotations

import pytest

from kdedge.report.render import Table, render_markdown
from kdedge.report.sections import build_document


def _section(markdown: str, number: int) -> str:
    return markdown.split(f"\n## {number}. ")[1].split("\n## ")[0]


@pytest.mark.parametrize("fixture", ["facts", "full_facts"])
def test_build_document_verdicts_section_zh_en_same_numbers(fixture, request, numbers):
    facts = request.getfixturevalue(fixture)
    zh, en = (_section(render_markdown(build_document(facts, lang=lang, plots=set())), 8)
              for lang in ("zh", "en"))
    assert zh.startswith("类别分布、基线模型与配对检验") and en.startswith("Class balance, baselines")
    assert len(numbers(en)) > 100 and sorted(numbers(zh)) == sorted(numbers(en))


def _tables(facts, lang="en") -> list[Table]:
    return [b for b in build_document(facts, lang=lang, plots=set()) if isinstance(b, Table)]


def _table(facts, title_start: str) -> Table:
    return next(t for t in _tables(facts) if (t.title or "").startswith(title_start))


def test_build_document_class_counts_and_positive_class(facts):
    data = facts.metrics.data
    table = _table(facts, "Rows per class in each split")
    positive = data.positive_class
    assert [row[0] for row in table.rows] == [
        f"{name} (positive)" if name == positive else name for name in data.class_names] + ["Total"]
    for c, row in enumerate(table.rows[:-1]):
        counts = [getattr(data.split_class_counts, s)[c] for s in ("train", "val", "test")]
        assert [cell.split(" ")[0] for cell in row[1:4]] == [f"{n:,}" for n in counts]
    assert table.rows[-1][1:] == [f"{data.split.train:,}", f"{data.split.val:,}",
                                  f"{data.split.test:,}", f"{data.rows:,}"]
    text = render_markdown(build_document(facts, lang="en", plots=set()))
    assert (f"Positive class: {positive}, the minority class of the training split "
            "(`--positive LABEL` overrides).") in text


def test_build_document_models_table_teacher_students_baselines(facts):
    m = facts.metrics
    table = _table(facts, "Teacher, students and baselines on the same")
    positive = m.data.positive_class
    assert table.headers == ["Model", "Inputs", "Accuracy", "Balanced accuracy (macro recall)",
                             "F1 (macro)", "F1 (weighted)", f"Recall (positive class {positive})",
                             f"PR-AUC (positive class {positive})", "Classes predicted"]
    assert [row[0] for row in table.rows][:4] == ["Teacher", "Student (KD)", "No-KD student",
                                                  f"Student on all {m.data.features} features"]
    assert len(table.rows) == 4 + len(m.baselines) == 8
    hgb = table.rows[-1]
    baseline = m.baselines["hgb_all"]
    assert hgb[2:5] == [f"{baseline.accuracy:.4f}", f"{baseline.balanced_accuracy:.4f}",
                        f"{baseline.f1_macro:.4f}"]
    assert hgb[6:8] == [f"{baseline.positive.recall:.4f}", f"{baseline.pr_auc:.4f}"]
    assert table.rows[4][-1] == "1"  # the majority class predicts one class


def test_build_document_comparisons_table_every_recorded_verdict(full_facts):
    m, export = full_facts.metrics, full_facts.export
    table = _table(full_facts, "Paired verdicts")
    variants = [e for e in export.models.values() if e.paired_vs_fp32 is not None]
    assert len(variants) == 3 and len(table.rows) == len(m.comparisons) + 3
    first = m.comparisons[0]
    row = table.rows[0]
    assert row[3:8] == [f"{first.n:,}", f"{first.value_a:.4f}", f"{first.value_b:.4f}",
                        f"{first.difference * 100:+.2f} pt",
                        f"[{first.ci_low * 100:+.2f}, {first.ci_high * 100:+.2f}] pt"]
    assert row[8] == f"{first.only_a} / {first.only_b}"
    assert row[10] in ("B worse", "B better", "no detectable difference")
    assert [r[1] for r in table.rows[-3:]] == [f"Student (KD), {e.variant} graph" for e in variants]


def test_build_document_multiclass_macro_no_positive(wine_report):
    from kdedge.report.collect import collect

    facts = collect(wine_report)
    rows = [row[0] for row in _tables(facts)[1].rows]
    assert "ROC-AUC (macro one-vs-rest)" in rows and not any("positive" in r for r in rows)
    text = render_markdown(build_document(facts, lang="en", plots=set()))
    assert "Multi-class data: there is no positive class" in text
    per_class = _table(facts, "Per-class scores")
    assert [row[0] for row in per_class.rows] == facts.run.class_names

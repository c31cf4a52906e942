"""Tests of kdedge/report/overall.py: the one-sentence overall verdict above the conclusions.

The real session runs give the good case; bad results are planted in their records as paired
comparisons computed with `kdedge.verdicts` (the functions distill records them with).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from kdedge.report.overall import overall_verdict
from kdedge.report.paired import oriented
from kdedge.report.render import Para, render_markdown
from kdedge.report.sections import build_document
from kdedge.report.text import fmt_metric, fmt_points, fmt_ratio
from kdedge.verdicts import bootstrap_weights, paired_accuracy, paired_recall

ROWS = 1000
WEIGHTS = bootstrap_weights(ROWS, seed=0)


def _labels(*, only_a: int, only_b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y (all class 1) and the labels of a and b: `only_a` rows only a gets right, `only_b`
    only b, the rest right in both."""
    y = np.ones(ROWS, dtype=np.int64)
    labels_a, labels_b = y.copy(), y.copy()
    labels_b[:only_a] = 0
    labels_a[only_a:only_a + only_b] = 0
    return y, labels_a, labels_b


def _plant(facts, *, only_a: int, only_b: int, recall: bool = False, **fields):
    """Replace the teacher-vs-student accuracy comparison (and with `recall` the positive-class
    recall one, on the same rows) by one with these discordant rows; other metrics.json fields
    from `fields`."""
    y, teacher, student = _labels(only_a=only_a, only_b=only_b)
    planted = [paired_accuracy(y, teacher, student, a="teacher", b="student", weights=WEIGHTS)]
    if recall:
        planted.append(paired_recall(y, teacher, student, 1, a="teacher", b="student",
                                     weights=WEIGHTS))
    replaced = {c.metric for c in planted}
    kept = [c for c in facts.metrics.comparisons
            if not ({c.a, c.b} == {"teacher", "student"} and c.metric in replaced)]
    facts.run.metrics = dataclasses.replace(facts.metrics, comparisons=kept + planted, **fields)
    return planted[0]


def _cost(facts) -> str:
    t, s = facts.metrics.teacher, facts.metrics.student
    return (f"with {fmt_ratio(t.params, s.params)} fewer parameters and "
            f"{fmt_ratio(t.macs, s.macs)} fewer MACs, reading {facts.k} of {facts.n} features")


def test_overall_verdict_good_case_keeps_the_teacher(facts):
    """No detectable loss and agreement at least 0.98: "keeps", the cost, and no "but"."""
    c = _plant(facts, only_a=6, only_b=5, agreement=0.99)
    assert c.verdict == "no_difference" and facts.metrics.teacher_useful
    facts.metrics.comparisons = [c]  # no baseline above the teacher, no recall loss recorded
    facts.search.met_target = True  # the fixed student meets the target on the validation rows
    expected = (f"Overall verdict: the student keeps the teacher (no detectable paired accuracy "
                f"loss, {fmt_points(c.difference)}; agreement 0.9900), {_cost(facts)}.")
    assert overall_verdict(facts, "en") == expected
    assert overall_verdict(facts, "zh").startswith(
        f"总体评价：学生模型保持了教师模型的水平（配对检验未发现准确率损失，{fmt_points(c.difference)}；"
        "一致率 0.9900），参数量减少")


def test_overall_verdict_real_run_quotes_its_records(full_facts):
    """The real exported run: the clause follows its recorded verdict and agreement, and every
    bad result it has (a baseline above the teacher, a rejected variant) is named after "but"."""
    m = full_facts.metrics
    c = oriented(m, "teacher", "student")
    text = overall_verdict(full_facts, "en")
    clause = {"b_worse": "the student does NOT keep the teacher",
              "b_better": "the student is more accurate than the teacher",
              "no_difference": ("the student keeps the teacher" if m.agreement >= 0.98 else
                                "the student matches the teacher's accuracy")}[c.verdict]
    assert text.startswith(f"Overall verdict: {clause}") and fmt_metric(m.agreement) in text
    assert _cost(full_facts) in text
    better = [name for name in m.baselines
              if (found := oriented(m, "teacher", name)) and found.verdict == "b_better"]
    rejected = [n for n, e in full_facts.export.models.items() if e.verdict == "rejected"]
    missed = not full_facts.search.met_target
    assert ("; but " in text) == bool(better or rejected or missed)


def test_overall_verdict_bad_case_names_every_bad_result(full_facts):
    """A detectable accuracy loss, a lost positive-class recall and a rejected variant: the
    sentence says the student does not keep the teacher and names both other results."""
    c = _plant(full_facts, only_a=40, only_b=5, recall=True)
    full_facts.export.models["student.int8-static"].verdict = "rejected"
    positive = full_facts.metrics.data.positive_class
    text = overall_verdict(full_facts, "en")
    assert text.startswith(f"Overall verdict: the student does NOT keep the teacher: it loses "
                           f"{fmt_points(c.difference, signed=False)} of accuracy (paired "
                           f"interval [{c.ci_low * 100:+.2f}, {c.ci_high * 100:+.2f}] pt excludes 0")
    assert f"the student loses recall of the positive class {positive} (" in text
    assert text.endswith("export rejected student (int8-static) (do not deploy).")
    zh = overall_verdict(full_facts, "zh")
    assert zh.startswith("总体评价：学生模型没有保持教师模型的水平：准确率损失")
    assert f"学生模型损失了正类 {positive} 的召回率" in zh and "导出时拒绝了 student (int8-static)" in zh


def test_overall_verdict_low_agreement_said_even_without_accuracy_loss(facts):
    c = _plant(facts, only_a=6, only_b=5, agreement=0.95)
    text = overall_verdict(facts, "en")
    assert (f"the student matches the teacher's accuracy (no detectable paired difference, "
            f"{fmt_points(c.difference)}) but agrees with it on only 0.9500 of the test rows, "
            "below 0.9800") in text


def test_overall_verdict_single_class_student_flagged(facts):
    _plant(facts, only_a=6, only_b=5)
    facts.metrics.student.predicted_classes = 1
    assert "the student predicts a single class" in overall_verdict(facts, "en")


@pytest.mark.parametrize("lang, start", [("en", "Overall verdict: "), ("zh", "总体评价：")])
def test_build_document_overall_verdict_heads_the_conclusions(facts, lang, start):
    blocks = build_document(facts, lang=lang, plots=set())
    heading = next(i for i, b in enumerate(blocks) if getattr(b, "text", "").startswith("9. "))
    assert isinstance(blocks[heading + 1], Para) and blocks[heading + 1].text.startswith(start)
    assert render_markdown(blocks).count(start) == 1


def test_overall_verdict_student_better_or_unpaired(facts):
    c = _plant(facts, only_a=5, only_b=40, agreement=0.99)
    assert c.verdict == "b_better"
    assert overall_verdict(facts, "en").startswith(
        f"Overall verdict: the student is more accurate than the teacher ({fmt_points(c.difference)}, "
        "paired interval [")
    facts.metrics.comparisons = []  # a run whose comparison was not recorded
    assert overall_verdict(facts, "en").startswith(
        "Overall verdict: no paired comparison of the student with the teacher was recorded "
        "(agreement 0.9900), with ")
    assert overall_verdict(facts, "zh").startswith("总体评价：未记录学生模型与教师模型的配对比较（一致率 0.9900）")

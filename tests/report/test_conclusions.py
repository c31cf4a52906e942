"""Tests of kdedge/report/conclusions.py: sentences chosen by paired verdicts of real runs.

The verdicts are computed here from constructed prediction vectors with `kdedge.verdicts` and
`kdedge.metrics` (the functions distill records them with) and put into the real metrics.json
record of the session run with `dataclasses.replace`.
"""

from __future__ import annotations

import dataclasses
import math
from functools import lru_cache

import numpy as np
import pytest

from kdedge.contract import ModelMetrics
from kdedge.metrics import classification_metrics, extend
from kdedge.report import conclusions as conclusions_module
from kdedge.report.conclusions import conclusions
from kdedge.report.paired import flipped
from kdedge.verdicts import bootstrap_weights, paired_accuracy, paired_recall


@lru_cache(maxsize=None)
def _weights(n_rows: int) -> np.ndarray:
    return bootstrap_weights(n_rows, seed=0)


def _discordant(n: int, *, both: int, only_a: int, only_b: int):
    """y (all class 0) and two label vectors: `both` rows right in both, `only_a` rows right in a
    only, `only_b` in b only, the rest wrong in both."""
    y = np.zeros(n, dtype=np.int64)
    labels_a, labels_b = y.copy(), y.copy()
    labels_b[both:both + only_a] = 1
    labels_a[both + only_a:both + only_a + only_b] = 1
    labels_a[both + only_a + only_b:] = labels_b[both + only_a + only_b:] = 1
    return y, labels_a, labels_b


def _accuracy(a: str, b: str, *, n: int = 1200, both: int, only_a: int, only_b: int):
    y, labels_a, labels_b = _discordant(n, both=both, only_a=only_a, only_b=only_b)
    return paired_accuracy(y, labels_a, labels_b, a=a, b=b, weights=_weights(n))


def _with(facts, *comparisons, **fields):
    """Replace the run's comparisons of the same pair and metric (stored either way round) by
    `comparisons`, and any other metrics.json field by `fields`."""
    m = facts.metrics
    new = {(frozenset((c.a, c.b)), c.metric) for c in comparisons}
    kept = [c for c in m.comparisons if (frozenset((c.a, c.b)), c.metric) not in new]
    facts.run.metrics = dataclasses.replace(m, comparisons=kept + list(comparisons), **fields)
    return facts


def _text(facts, lang="en") -> str:
    return " ".join(conclusions(facts, lang))


def _p50(bench, stem: str, value: float | None = None) -> float:
    """A model's batch-1 p50 on a bench record, set to `value` when given."""
    stats = bench.record.models[f"{stem}.onnx"].latency["1"]
    if value is not None:
        stats.p50_us = value
    return stats.p50_us


def test_conclusions_paired_loss_the_unpaired_band_called_noise(facts):
    """59 vs 32 discordant rows of 1,200 (teacher 0.9000, student 0.8775): the old unpaired band
    2·sqrt(2p(1−p)/n) = ±2.57 pt called the 2.25-pt drop noise; the paired test finds the loss."""
    c = _accuracy("teacher", "student", both=1021, only_a=59, only_b=32)
    p = (c.value_a + c.value_b) / 2
    assert abs(c.difference) < 2 * math.sqrt(2 * p * (1 - p) / c.n)  # what the band said
    assert c.verdict == "b_worse" and round(c.p_value, 4) == 0.0061
    _with(facts, c)
    assert (f"Student (KD) lost accuracy against Teacher: 0.8775 vs 0.9000, -2.25 pt (95% paired "
            f"bootstrap interval [{c.ci_low * 100:+.2f}, {c.ci_high * 100:+.2f}] pt; 59 rows only "
            "Teacher got right, 32 only Student (KD); exact McNemar p = 0.0061).") in _text(facts)
    assert "学生模型（蒸馏）相比教师模型损失了准确率：0.8775 对 0.9000，-2.25 pt" in _text(facts, "zh")
    assert "no detectable difference" not in conclusions(facts, "en")[
        [i for i, s in enumerate(conclusions(facts, "en")) if "against Teacher" in s][0]]


def test_conclusions_no_difference_states_smallest_detectable(facts):
    c = _accuracy("teacher", "student", both=1050, only_a=14, only_b=12)
    assert c.verdict == "no_difference"
    text = _text(_with(facts, c))
    assert (f"Student (KD) vs Teacher, accuracy: {c.value_b:.4f} vs {c.value_a:.4f}, -0.17 pt "
            f"(95% paired bootstrap interval") in text
    assert ("exact McNemar p = 0.8450): no detectable difference; this 1,200-row comparison could "
            f"only have detected a difference of about {c.min_detectable * 100:.2f} pt or more."
            ) in text
    assert "没有可检测到的差异；这一 1,200 行的比较只能检测到约" in _text(facts, "zh")


def test_conclusions_kd_gain_paired(facts):
    c = _accuracy("student_no_kd", "student", both=1000, only_a=10, only_b=45)
    assert c.verdict == "b_better"
    text = _text(_with(facts, c))
    assert "Student (KD) gained accuracy over No-KD student: 0.8708 vs 0.8417, +2.92 pt" in text
    assert "学生模型（蒸馏）相比无蒸馏学生模型提升了准确率" in _text(facts, "zh")


def test_conclusions_same_sentence_whichever_way_stored(facts):
    c = _accuracy("teacher", "student", both=1021, only_a=59, only_b=32)
    stored_forward = _text(_with(facts, c))
    assert _text(_with(facts, flipped(c))) == stored_forward


def test_conclusions_identical_rows_said(facts):
    c = _accuracy("student_no_kd", "student", both=1100, only_a=0, only_b=0)
    assert ("Student (KD) and No-KD student are right on exactly the same of the 1,200 rows "
            "compared: no difference in accuracy.") in _text(_with(facts, c))


def _imbalanced_facts(facts):
    """1,000 test rows, 25 `fault` (2.5%, the positive class): the teacher catches 20 of them
    but misses 20 `ok` rows; the student always predicts `ok` (accuracy the same, 0.9750)."""
    y = np.ones(1000, dtype=np.int64)
    y[:25] = 0
    teacher = y.copy()
    teacher[20:25], teacher[100:120] = 1, 0  # misses 5 faults, calls 20 ok rows faults
    student = np.ones_like(y)
    names, m = ["fault", "ok"], facts.metrics
    cost = {f: getattr(m.student, f) for f in ("params", "macs", "flops", "macs_unfolded",
                                                "weight_bytes", "n_features", "best_epoch")}
    scored = {name: extend(classification_metrics(y, np.eye(2)[labels], class_names=names,
                                                  positive=0), ModelMetrics, **cost)
              for name, labels in (("teacher", teacher), ("student", student))}
    data = dataclasses.replace(m.data, class_names=names, positive_class="fault")
    return _with(facts, paired_accuracy(y, teacher, student, a="teacher", b="student",
                                        weights=_weights(1000)),
                 paired_recall(y, teacher, student, 0, a="teacher", b="student",
                               weights=_weights(1000)), data=data, **scored)


def test_conclusions_imbalanced_single_class_student_flagged(facts):
    text = _text(_imbalanced_facts(facts))
    assert "Student (KD) predicts only class ok on the test split" in text
    assert ("Student (KD) lost recall of the positive class fault against Teacher: 0.0000 vs "
            "0.8000, -80.00 pt") in text
    assert "Student (KD) vs Teacher, accuracy: 0.9750 vs 0.9750, +0.00 pt" in text  # flat
    assert "Teacher predicts only" not in text
    assert "Majority class (always ok) predicts only" not in text  # a baseline that must
    zh = _text(facts, "zh")
    assert "学生模型（蒸馏）在测试集上只预测类别 ok" in zh and "损失了正类 fault 的召回率" in zh


def test_conclusions_teacher_useless_first_then_warnings(facts):
    c = _accuracy("majority", "teacher", both=600, only_a=40, only_b=45)
    assert c.verdict == "no_difference"
    warnings = ["the teacher is not significantly more accurate than the majority class",
                "another problem, 12 rows"]
    found = conclusions(_with(facts, c, teacher_useful=False, warnings=warnings), "en")
    majority = conclusions_module.predicted_class(facts.metrics, facts.metrics.baselines["majority"])
    assert found[0].startswith("The teacher learned nothing useful: it is not significantly more "
                               f"accurate than always predicting the majority class {majority} (")
    assert f"({c.value_b:.4f} vs {c.value_a:.4f}; 95% paired bootstrap interval" in found[0]
    assert "40 rows only Majority class" in found[0] and "exact McNemar p = 0.6646" in found[0]
    assert found[1:3] == [f"Distill warned: {w}" for w in warnings]
    assert conclusions(facts, "zh")[0].startswith("教师模型没有学到有用的信息")


def test_conclusions_no_teacher_finding_when_useful(facts):
    assert facts.metrics.teacher_useful
    assert "learned nothing useful" not in _text(_with(facts, warnings=[]))


def test_conclusions_baseline_beating_teacher_named(facts):
    beats = _accuracy("teacher", "hgb_all", both=1100, only_a=5, only_b=30)
    loses = _accuracy("teacher", "logreg_k", both=1100, only_a=30, only_b=5)
    text = _text(_with(facts, beats, loses))
    n = facts.metrics.data.features
    assert ("A baseline is significantly more accurate than the teacher, so this teacher is not "
            f"the model to distil: HistGradientBoosting on all {n} features gained accuracy over "
            "Teacher") in text
    assert "the model to distil: LogisticRegression" not in text


def test_conclusions_simpler_model_as_good_as_student(facts):
    same = _accuracy("student", "logreg_k", both=1000, only_a=20, only_b=18)
    worse = _accuracy("student", "logreg_all", both=1000, only_a=60, only_b=10)
    text = _text(_with(facts, same, worse))
    k, n = facts.k, facts.metrics.data.features
    assert (f"A simpler model would do as well as the student: LogisticRegression on the {k} "
            "selected features vs Student (KD), accuracy") in text
    assert text.count(f"LogisticRegression on the {k} selected features vs Student (KD)") == 1
    assert f"Student (KD) gained accuracy over LogisticRegression on all {n} features" in text
    assert "would do as well as the student: LogisticRegression on all" not in text


def _importance(facts, left_out_share: float):
    """Importance 1.0 for the first selected feature, 0.4 for the rest of the selected ones, and
    `left_out_share` × 0.4 for the features left out."""
    m = facts.metrics
    kept = m.selected_features
    importance = {f: (1.0 if f == kept[0] else 0.4) if f in kept else 0.4 * left_out_share
                  for f in m.feature_importance}
    facts.run.metrics = dataclasses.replace(m, feature_importance=importance)
    return facts


def test_conclusions_raise_features_at_half_importance(facts):
    text = _text(_importance(facts, 0.5))
    assert ("is at least 0.50× as important as the least important one kept") in text
    assert f"raising --features above {facts.k} may help" in text
    assert "将 --features 提高到" in _text(facts, "zh")
    assert "raising --features" not in _text(_importance(facts, 0.45))


@pytest.mark.parametrize("all_vs_teacher, all_vs_student, phrase", [
    ((1050, 10, 12), (1000, 5, 60), "k too small: Student (KD) loses to Teacher, but Student on all"),
    ((1000, 60, 5), (1000, 20, 18), "Student too small: Student on all"),
    ((1050, 10, 12), (1000, 20, 18), "this split cannot tell whether k or the student's size"),
])
def test_conclusions_k_too_small_or_student_too_small(facts, all_vs_teacher, all_vs_student,
                                                      phrase):
    lost = _accuracy("teacher", "student", both=1000, only_a=60, only_b=5)
    versus = [_accuracy(a, "student_all_features", both=both, only_a=only_a, only_b=only_b)
              for a, (both, only_a, only_b) in (("teacher", all_vs_teacher),
                                                ("student", all_vs_student))]
    text = _text(_with(facts, lost, *versus))
    assert phrase in text
    assert sum(p in text for p in ("k too small", "Student too small", "cannot tell")) == 1


def test_conclusions_no_size_guidance_when_student_does_not_lose(facts):
    same = _accuracy("teacher", "student", both=1050, only_a=14, only_b=12)
    text = _text(_with(facts, same))
    assert "too small" not in text and "cannot tell" not in text


def test_conclusions_low_agreement_named(facts):
    facts.metrics.agreement = 0.97
    text = _text(facts)
    assert "0.9700, below 0.9800" in text and "3.00%" in text
    facts.metrics.agreement = 0.99
    assert "0.9900 (at least 0.9800)" in _text(facts)


def test_conclusions_quote_the_thresholds_they_use(facts, monkeypatch):
    """Changing a threshold changes the comparison and the number the sentence quotes together."""
    monkeypatch.setattr(conclusions_module, "AGREEMENT_THRESHOLD", 0.995)
    monkeypatch.setattr(conclusions_module, "IMPORTANCE_RATIO", 0.4)
    facts.metrics.agreement = 0.99
    text, zh = _text(_importance(facts, 0.45)), _text(facts, "zh")
    assert "0.9900, below 0.9950" in text and "低于 0.9950" in zh
    assert "at least 0.40× as important" in text and "的 0.40 倍" in zh


def test_conclusions_quantized_variant_paired_against_fp32(full_facts):
    models = full_facts.export.models
    entry = models["student.int8"]
    c = entry.paired_vs_fp32
    assert c is not None
    text = _text(full_facts)
    verdict = {"b_worse": "lost accuracy against", "b_better": "gained accuracy over",
               "no_difference": "vs"}[c.verdict]
    if c.only_a == c.only_b == 0:
        assert "Student (KD), int8 graph and Student (KD), fp32 graph are right on exactly" in text
    else:
        assert f"Student (KD), int8 graph {verdict} Student (KD), fp32 graph" in text
    models["student.int8"].paired_vs_fp32 = _accuracy("student", "student.int8", both=1000,
                                                      only_a=40, only_b=5)
    assert "Student (KD), int8 graph lost accuracy against Student (KD), fp32 graph" in _text(
        full_facts)


def test_conclusions_real_bench_findings_and_emulated(full_facts):
    x86, arm = full_facts.benches
    student = _p50(x86, "student")
    int8 = _p50(x86, "student.int8", student + 5.0)  # the int8 graph slower than fp32
    text = _text(full_facts)
    assert (f"On x86-test, student (int8) is slower than the fp32 student at batch 1 "
            f"(p50 {int8:,.1f} µs vs {student:,.1f} µs)") in text
    assert "On arm64-emulated" not in text  # no speed finding from emulated timings
    ratio = x86.models["student"].latency["1"].ratio_to_floor
    verdict = "call overhead dominates" if ratio < 2 else "the model's own work is visible"
    assert f"is {ratio:.2f}× the floor of an empty call" in text and verdict in text
    assert "Timings on arm64-emulated are emulated (qemu): they are not performance figures" in text
    assert "Timings on x86-test are emulated" not in text
    zh = _text(full_facts, "zh")
    assert "比 fp32 学生模型更慢" in zh and "不是性能数据" in zh


@pytest.mark.parametrize("ratio, phrase", [(1.5, "1.50× the floor of an empty call, below 2.00×: "
                                                 "call overhead dominates"),
                                           (3.0, "3.00× the floor of an empty call, at least 2.00×: "
                                                 "the model's own work is visible")])
def test_conclusions_overhead_threshold_quoted(full_facts, ratio, phrase):
    full_facts.benches[0].record.models["student.onnx"].latency["1"].ratio_to_floor = ratio
    assert phrase in _text(full_facts)


def test_conclusions_verdicts_quote_export_threshold(full_facts):
    models = full_facts.export.models
    models["student.int8-static"].verdict = "rejected"
    models["student.int8-static"].reason = "test accuracy 0.9000 is 0.0500 below the fp32 student's"
    full_facts.export.reject_threshold = 0.02
    text = _text(full_facts)
    assert ("student (int8-static) was rejected: test accuracy 0.9000 is 0.0500 below the fp32 "
            "student's.") in text  # the reason export recorded names the failed rule
    assert ("student (int8) was accepted (agreement with the fp32 student at least 0.9900, no "
            "detectable paired accuracy loss, accuracy at most 2.00 pt below it)") in text


def test_conclusions_missing_stage_named(facts):
    text, zh = _text(facts), _text(facts, "zh")
    assert f"run `{facts.missing['bench']}` for the benchmark section" in text
    assert f"run `{facts.missing['export']}` for the ONNX export section" in text
    assert "以生成“基准测试”部分" in zh


def test_conclusions_parity_failure_said(full_facts):
    full_facts.export.models["student"].parity.passed = False
    assert "ONNX parity FAILED for student:" in _text(full_facts)
    assert "parity FAILED for teacher" not in _text(full_facts)


def test_conclusions_variant_file_bigger_than_fp32_said(full_facts):
    models = full_facts.export.models
    fp32_bytes = models["student"].file_bytes
    models["student.int8"].file_bytes = fp32_bytes + 900
    models["student.fp16"].file_bytes = fp32_bytes  # same size: nothing to say
    text = _text(full_facts)
    assert f"student (int8)'s file ({fp32_bytes + 900:,} bytes) is larger than the fp32" in text
    assert "student (fp16)'s file" not in text


def test_conclusions_throughput_and_student_not_faster(full_facts):
    x86 = full_facts.benches[0]
    teacher = _p50(x86, "teacher")
    _p50(x86, "student", teacher + 10.0)
    text = _text(full_facts)
    assert (f"the student is NOT faster than the teacher at batch 1 (p50 {teacher + 10:,.1f} µs vs "
            f"{teacher:,.1f} µs)") in text
    assert "at batch 32 the student processes" in text


def test_conclusions_bench_of_other_files_is_called_stale(full_facts):
    full_facts.benches[0].stale = ["student"]  # what collect finds when run.json lists another sha256
    text = _text(full_facts)
    assert ("The bench on x86-test measured files whose sha256 differs from what `kdedge export` "
            "recorded in run.json (student) — an older export or a file changed after export") in text
    assert "re-export or re-bench" in text
    assert "sha256 与 `kdedge export` 在 run.json 中记录的不同（student）" in _text(full_facts, "zh")


@pytest.mark.parametrize("stale, absent, present", [
    (["student"], ["than the teacher at batch 1", "than the fp32 student at batch 1",
                   "the floor of an empty call", "the student processes"], []),
    (["student.int8"], ["student (int8) is"], ["than the teacher at batch 1", "student (fp16) is"]),
    (["teacher"], ["than the teacher at batch 1", "against the teacher's"], ["the floor of an empty call"]),
])
def test_conclusions_no_speed_finding_from_stale_model(full_facts, stale, absent, present):
    x86 = full_facts.benches[0]
    student = _p50(x86, "student")
    for stem in ("student.int8", "student.fp16"):  # variants differ from fp32: a finding each
        _p50(x86, stem, student + 1.0)
    x86.stale = stale
    text = _text(full_facts)
    assert all(phrase not in text for phrase in absent), text
    assert all(phrase in text for phrase in present), text


def test_conclusions_random_labels_first_says_teacher_learned_nothing(random_run):
    """A real distill on random labels: the overall verdict and the first conclusion under it say
    the teacher is useless."""
    from kdedge.report.collect import collect
    from kdedge.report.render import render_markdown
    from kdedge.report.sections import build_document

    facts = collect(random_run)
    assert not facts.metrics.teacher_useful and facts.metrics.warnings
    for lang, verdict, first in (
            ("en", "Overall verdict: the teacher learned nothing useful",
             "- The teacher learned nothing useful: it is not significantly more accurate than "
             "always predicting the majority class"),
            ("zh", "总体评价：教师模型没有学到有用的信息", "- 教师模型没有学到有用的信息：它并不比总是预测多数类")):
        lines = render_markdown(build_document(facts, lang=lang, plots=set())).split("\n## 9. ")[1]
        assert lines.split("\n")[2].startswith(verdict) and lines.split("\n")[4].startswith(first)
    assert f"Distill warned: {facts.metrics.warnings[0]}" in _text(facts)


@pytest.mark.parametrize("overloaded, quick", [(True, False), (False, True), (False, False)])
def test_conclusions_overloaded_or_quick_bench_caveated_before_its_findings(
        full_facts, edited_bench, tmp_path, overloaded, quick):
    from kdedge.report.collect import read_bench

    full_facts.benches = [read_bench(edited_bench(tmp_path / "pi5.json", overloaded=overloaded,
                                                  quick=quick))]
    sentences = conclusions(full_facts, "en")
    on_pi5 = [i for i, s in enumerate(sentences) if s.startswith("On pi5,")]
    caveats = {"overloaded": "pi5 was overloaded during the bench (1-minute load average 6.20 at "
                             "the start and 5.10 at the end, on 2 usable cores; the hypervisor "
                             "stole up to 4.0% of the CPU time): its timings are inflated",
               "quick": ("pi5 was benched with --quick, a smoke measurement: the speed findings for "
                         f"it below are indicative only; bench again without --quick (`kdedge "
                         f"bench {full_facts.run.path}`)")}
    for name, wanted in (("overloaded", overloaded), ("quick", quick)):
        found = [i for i, s in enumerate(sentences) if s.startswith(caveats[name])]
        assert len(found) == wanted, name
        assert all(i < min(on_pi5) for i in found)  # the caveat comes before the speed findings
    zh = _text(full_facts, "zh")
    assert ("pi5 在基准测试期间负载过高" in zh) == overloaded
    assert ("pi5 使用 --quick 测量，只是冒烟测试" in zh) == quick


def test_conclusions_emulated_bench_gets_no_speed_caveat(full_facts):
    """An emulated bench gives no speed finding, so it needs no overload or --quick caveat."""
    arm = full_facts.benches[1]
    assert arm.emulated and arm.quick
    arm.record.overloaded = True
    text = _text(full_facts)
    assert "arm64-emulated was overloaded" not in text and "arm64-emulated was benched" not in text

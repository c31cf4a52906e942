"""Tests of kdedge/report/conclusions.py: sentences chosen by the numbers of real runs."""

from __future__ import annotations

import pytest

from kdedge import contract
from kdedge.report import conclusions as conclusions_module
from kdedge.report.conclusions import accuracy_noise, conclusions

LARGE_SPLIT = 40_000  # test rows: noise band ±0.35 pt at p ≈ 0.94, so 1-point differences are real


def _set_accuracies(facts, *, teacher, student, no_kd, test_rows=LARGE_SPLIT):
    m = facts.metrics
    m.teacher.accuracy, m.student.accuracy, m.student_no_kd.accuracy = teacher, student, no_kd
    m.kd_gain = student - no_kd
    m.data.split.test = test_rows


def _text(facts, lang="en") -> str:
    return " ".join(conclusions(facts, lang))


def _p50(bench, stem: str, value: float | None = None) -> float:
    """A model's batch-1 p50 on a bench record, set to `value` when given."""
    stats = bench.record.models[f"{stem}.onnx"].latency["1"]
    if value is not None:
        stats.p50_us = value
    return stats.p50_us


@pytest.mark.parametrize("a, b, n, expected", [(0.5, 0.5, 200, 0.1), (0.9, 0.9, 1800, 0.02),
                                               (1.0, 1.0, 50, 0.0)])
def test_accuracy_noise_two_standard_errors_of_difference(a, b, n, expected):
    # 2·sqrt(2·p·(1−p)/n): p = 0.5, n = 200 → 2·sqrt(0.0025) = 0.1; p = 0.9, n = 1800 → 0.02
    assert accuracy_noise(a, b, n) == pytest.approx(expected)


def test_conclusions_kd_worse_when_gain_negative_beyond_noise(facts):
    _set_accuracies(facts, teacher=0.95, student=0.93, no_kd=0.94)
    assert ("KD made the student worse: accuracy 0.9300 with KD vs 0.9400 without (-1.00 pt), "
            "beyond the noise of a 40,000-row test split (±0.35 pt).") in _text(facts)
    assert "蒸馏使学生模型变差" in _text(facts, "zh")


def test_conclusions_kd_no_difference_when_gain_zero(facts):
    _set_accuracies(facts, teacher=0.95, student=0.94, no_kd=0.94)
    text = _text(facts)
    assert "KD made no difference" in text and "worse" not in text and "improved" not in text


def test_conclusions_kd_better_when_gain_positive_beyond_noise(facts):
    _set_accuracies(facts, teacher=0.95, student=0.95, no_kd=0.94)
    assert "KD improved the student" in _text(facts)


@pytest.mark.parametrize("kd, no_kd, rows, gain, band", [(0.9250, 0.9417, 120, "-1.67 pt", "6.44 pt"),
                                                         (0.9333, 0.9250, 600, "+0.83 pt", "2.96 pt")])
def test_conclusions_kd_within_noise_no_evidence(facts, kd, no_kd, rows, gain, band):
    # a 2-row and a 1-row difference on small test splits are not evidence either way
    _set_accuracies(facts, teacher=0.95, student=kd, no_kd=no_kd, test_rows=rows)
    text = _text(facts)
    assert (f"KD vs no-KD: {kd:.4f} vs {no_kd:.4f} ({gain}), within the noise of a {rows}-row test "
            f"split (±{band}): no evidence KD helped or hurt.") in text
    assert "KD made the student worse" not in text and "KD improved" not in text
    zh = _text(facts, "zh")
    assert f"在 {rows} 行测试集的噪声范围（±{band}）之内：没有证据表明蒸馏有益或有害" in zh
    assert "蒸馏使学生模型变差" not in zh and "蒸馏提升了学生模型" not in zh


@pytest.mark.parametrize("student, phrase", [(0.93, "more than 1.00 pt lost, beyond the noise"),
                                             (0.945, "within 1.00 pt of the teacher's"),
                                             (0.96, "matches or exceeds")])
def test_conclusions_student_vs_teacher_accuracy(facts, student, phrase):
    _set_accuracies(facts, teacher=0.95, student=student, no_kd=student)
    assert phrase in _text(facts)


def test_conclusions_student_below_teacher_says_magnitude(facts):
    _set_accuracies(facts, teacher=0.9417, student=0.9250, no_kd=0.9250)
    text, zh = _text(facts), _text(facts, "zh")
    assert "The student's accuracy (0.9250) is 1.67 pt below the teacher's (0.9417)" in text
    assert "比教师模型（0.9417）低 1.67 pt" in zh
    assert "-1.67 pt below" not in text and "低 -" not in zh


def test_conclusions_student_drop_within_noise_not_called_lost(facts):
    _set_accuracies(facts, teacher=0.9417, student=0.9250, no_kd=0.9250, test_rows=120)
    text = _text(facts)
    assert ("is 1.67 pt below the teacher's (0.9417): more than the 1.00 pt threshold, but within "
            "the noise of a 120-row test split (±6.44 pt): no evidence that the student lost accuracy"
            ) in text
    assert "lost, " not in text
    assert "没有证据表明学生模型损失了准确率" in _text(facts, "zh")


def test_conclusions_low_agreement_named(facts):
    facts.metrics.agreement = 0.97
    text = _text(facts)
    assert "0.9700, below 0.9800" in text and "3.00%" in text
    facts.metrics.agreement = 0.99
    assert "0.9900 (at least 0.9800)" in _text(facts)


def test_conclusions_quote_the_thresholds_they_use(facts, monkeypatch):
    """Changing a threshold changes the comparison and the number the sentence quotes together."""
    monkeypatch.setattr(conclusions_module, "AGREEMENT_THRESHOLD", 0.995)
    monkeypatch.setattr(conclusions_module, "ACCURACY_DROP_POINTS", 0.02)
    facts.metrics.agreement = 0.99
    _set_accuracies(facts, teacher=0.95, student=0.935, no_kd=0.935)
    text, zh = _text(facts), _text(facts, "zh")
    assert "0.9900, below 0.9950" in text and "低于 0.9950" in zh
    assert "within 2.00 pt of the teacher's" in text and "相差在 2.00 pt 以内" in zh


def test_conclusions_accuracy_drop_is_the_export_reject_threshold():
    assert conclusions_module.ACCURACY_DROP_POINTS == contract.REJECT_THRESHOLD


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
    assert ("student (int8-static) was rejected (accuracy more than 2.00 pt below the fp32 "
            "student's): test accuracy 0.9000 is 0.0500 below the fp32 student's.") in text
    assert "student (int8) was accepted (accuracy at most 2.00 pt below the fp32 student's)" in text


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


def test_conclusions_noise_band_shrinks_with_test_rows(facts):
    _set_accuracies(facts, teacher=0.95, student=0.945, no_kd=0.945, test_rows=30)
    assert "within 1.00 pt of the teacher's (0.9500) (-0.50 pt), within the noise of a 30-row" in _text(facts)
    facts.metrics.data.split.test = 1_000_000
    assert "(-0.50 pt), beyond the noise of a 1,000,000-row test split (±0.06 pt)" in _text(facts)


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

"""Tests of kdedge/report/conclusions.py: sentences chosen by the numbers."""

from __future__ import annotations

import pytest
from report_fakes import fake_bench, fake_export

from kdedge.report.collect import _read_bench
from kdedge.report.conclusions import accuracy_noise, conclusions
from kdedge.rundir import write_json_atomic


LARGE_SPLIT = 40_000  # test rows: noise band ±0.35 pt at p ≈ 0.94, so 1-point differences are real


def _set_accuracies(facts, *, teacher, student, no_kd, test_rows=LARGE_SPLIT):
    m = facts.metrics
    m["teacher"]["accuracy"], m["student"]["accuracy"], m["student_no_kd"]["accuracy"] = teacher, student, no_kd
    m["kd_gain"] = student - no_kd
    m["data"]["split"]["test"] = test_rows


@pytest.mark.parametrize("a, b, n, expected", [(0.5, 0.5, 200, 0.1), (0.9, 0.9, 1800, 0.02),
                                               (1.0, 1.0, 50, 0.0)])
def test_accuracy_noise_two_standard_errors_of_difference(a, b, n, expected):
    # 2·sqrt(2·p·(1−p)/n): p = 0.5, n = 200 → 2·sqrt(0.0025) = 0.1; p = 0.9, n = 1800 → 0.02
    assert accuracy_noise(a, b, n) == pytest.approx(expected)


def test_conclusions_kd_worse_when_gain_negative_beyond_noise(facts):
    _set_accuracies(facts, teacher=0.95, student=0.93, no_kd=0.94)
    text = " ".join(conclusions(facts, "en"))
    assert ("KD made the student worse: accuracy 0.9300 with KD vs 0.9400 without (-1.00 pt), "
            "beyond the noise of a 40,000-row test split (±0.35 pt).") in text
    assert "蒸馏使学生模型变差" in " ".join(conclusions(facts, "zh"))


def test_conclusions_kd_no_difference_when_gain_zero(facts):
    _set_accuracies(facts, teacher=0.95, student=0.94, no_kd=0.94)
    text = " ".join(conclusions(facts, "en"))
    assert "KD made no difference" in text and "worse" not in text and "improved" not in text


def test_conclusions_kd_better_when_gain_positive_beyond_noise(facts):
    _set_accuracies(facts, teacher=0.95, student=0.95, no_kd=0.94)
    assert "KD improved the student" in " ".join(conclusions(facts, "en"))


@pytest.mark.parametrize("kd, no_kd, rows, gain, band", [(0.9250, 0.9417, 120, "-1.67 pt", "6.44 pt"),
                                                         (0.9333, 0.9250, 600, "+0.83 pt", "2.96 pt")])
def test_conclusions_kd_within_noise_no_evidence(facts, kd, no_kd, rows, gain, band):
    # the reviewer's runs: a 2-row and a 1-row difference are not evidence either way
    _set_accuracies(facts, teacher=0.95, student=kd, no_kd=no_kd, test_rows=rows)
    text = " ".join(conclusions(facts, "en"))
    assert (f"KD vs no-KD: {kd:.4f} vs {no_kd:.4f} ({gain}), within the noise of a {rows}-row test "
            f"split (±{band}): no evidence KD helped or hurt.") in text
    assert "KD made the student worse" not in text and "KD improved" not in text
    zh = " ".join(conclusions(facts, "zh"))
    assert f"在 {rows} 行测试集的噪声范围（±{band}）之内：没有证据表明蒸馏有益或有害" in zh
    assert "蒸馏使学生模型变差" not in zh and "蒸馏提升了学生模型" not in zh


@pytest.mark.parametrize("student, phrase", [(0.93, "more than 1 point lost, beyond the noise"),
                                             (0.945, "within 1 point"),
                                             (0.96, "matches or exceeds")])
def test_conclusions_student_vs_teacher_accuracy(facts, student, phrase):
    _set_accuracies(facts, teacher=0.95, student=student, no_kd=student)
    assert phrase in " ".join(conclusions(facts, "en"))


def test_conclusions_student_below_teacher_says_magnitude(facts):
    _set_accuracies(facts, teacher=0.9417, student=0.9250, no_kd=0.9250)
    text, zh = " ".join(conclusions(facts, "en")), " ".join(conclusions(facts, "zh"))
    assert "The student's accuracy (0.9250) is 1.67 pt below the teacher's (0.9417)" in text
    assert "比教师模型（0.9417）低 1.67 pt" in zh
    assert "-1.67 pt below" not in text and "低 -" not in zh


def test_conclusions_student_drop_within_noise_not_called_lost(facts):
    _set_accuracies(facts, teacher=0.9417, student=0.9250, no_kd=0.9250, test_rows=120)
    text = " ".join(conclusions(facts, "en"))
    assert ("is 1.67 pt below the teacher's (0.9417): more than the 1-point threshold, but within "
            "the noise of a 120-row test split (±6.44 pt): no evidence that the student lost accuracy"
            ) in text
    assert "more than 1 point lost" not in text
    assert "没有证据表明学生模型损失了准确率" in " ".join(conclusions(facts, "zh"))


def test_conclusions_low_agreement_named(facts):
    facts.metrics["agreement"] = 0.97
    text = " ".join(conclusions(facts, "en"))
    assert "0.9700, below 0.98" in text and "3.00%" in text
    facts.metrics["agreement"] = 0.99
    assert "below 0.98" not in " ".join(conclusions(facts, "en"))


def test_conclusions_bench_int8_slower_overhead_emulated(facts, tmp_path):
    slow = write_json_atomic(tmp_path / "x86.json", fake_bench(facts.metrics, target="x86", int8_p50=60.0))
    fast = write_json_atomic(tmp_path / "arm.json", fake_bench(facts.metrics, target="arm",
                                                               emulated=True, int8_p50=30.0))
    facts.benches = [_read_bench(slow), _read_bench(fast)]
    text = " ".join(conclusions(facts, "en"))
    assert "On x86, student (int8) is slower than the fp32 student at batch 1 (p50 60.0 µs vs 45.0 µs)" in text
    assert "On arm" not in text  # no speed finding from emulated timings
    assert "1.12× the floor of an empty call: call overhead dominates" in text
    assert "Timings on arm are emulated (qemu): they are not performance figures" in text
    assert "Timings on x86 are emulated" not in text
    zh = " ".join(conclusions(facts, "zh"))
    assert "比 fp32 学生模型更慢" in zh and "不是性能数据" in zh


def test_conclusions_rejected_variant_and_missing_stage(facts):
    facts.export = fake_export(facts.metrics)
    facts.missing.pop("export")
    text = " ".join(conclusions(facts, "en"))
    assert "student (int8-static) was rejected: agreement with fp32 0.9100 < 0.99" in text
    assert "student (int8) was accepted" in text
    assert f"run `{facts.missing['bench']}`" in text and "kdedge export" not in text


def test_conclusions_variant_file_bigger_than_fp32_said(facts):
    facts.export = fake_export(facts.metrics)
    student_bytes = facts.export["models"]["student"]["file_bytes"]
    facts.export["models"]["student.int8"]["file_bytes"] = student_bytes + 900
    text = " ".join(conclusions(facts, "en"))
    assert f"student (int8)'s file ({student_bytes + 900:,} bytes) is larger than the fp32" in text
    assert "student (fp16)'s file" not in text  # same size: nothing to say


def test_conclusions_throughput_and_student_not_faster(facts, tmp_path):
    bench = fake_bench(facts.metrics, target="x86")
    bench["models"]["student.onnx"]["latency"]["1"]["p50_us"] = 90.0  # slower than the teacher's 80
    facts.benches = [_read_bench(write_json_atomic(tmp_path / "x86.json", bench))]
    text = " ".join(conclusions(facts, "en"))
    assert "the student is NOT faster than the teacher at batch 1 (p50 90.0 µs vs 80.0 µs)" in text
    assert "at batch 32 the student processes" in text and "higher" in text


def test_conclusions_noise_band_shrinks_with_test_rows(facts):
    _set_accuracies(facts, teacher=0.95, student=0.945, no_kd=0.945, test_rows=30)
    assert "within 1 point of the teacher's (0.9500) (-0.50 pt), within the noise of a 30-row" in " ".join(
        conclusions(facts, "en"))
    facts.metrics["data"]["split"]["test"] = 1_000_000
    assert "(-0.50 pt), beyond the noise of a 1,000,000-row test split (±0.06 pt)" in " ".join(
        conclusions(facts, "en"))


def test_conclusions_bench_of_other_files_is_called_stale(facts, tmp_path):
    bench = fake_bench(facts.metrics, target="x86")
    bench["models"]["student.onnx"]["sha256"] = "a" * 64
    bench["models"]["teacher.onnx"]["sha256"] = "b" * 64
    facts.benches = [_read_bench(write_json_atomic(tmp_path / "x86.json", bench))]
    facts.benches[0].stale = ["student"]  # what collect finds when run.json lists another sha256
    text = " ".join(conclusions(facts, "en"))
    assert ("The bench on x86 measured files whose sha256 differs from what `kdedge export` recorded "
            "in run.json (student) — an older export or a file changed after export") in text
    assert "re-export or re-bench" in text and "earlier exports" not in text
    assert "sha256 与 `kdedge export` 在 run.json 中记录的不同（student）" in " ".join(conclusions(facts, "zh"))


@pytest.mark.parametrize("stale, absent, present", [
    (["student"], ["than the teacher at batch 1", "than the fp32 student", "the floor of an empty call",
                   "the student processes"], []),
    (["student.int8"], ["student (int8) is slower"], ["faster than the teacher at batch 1",
                                                      "student (fp16) is slower"]),
    (["teacher"], ["than the teacher at batch 1", "against the teacher's"], ["the floor of an empty call"]),
])
def test_conclusions_no_speed_finding_from_stale_model(facts, tmp_path, stale, absent, present):
    facts.benches = [_read_bench(write_json_atomic(tmp_path / "x86.json",
                                                   fake_bench(facts.metrics, target="x86")))]
    facts.benches[0].stale = stale
    text = " ".join(conclusions(facts, "en"))
    assert all(phrase not in text for phrase in absent), text
    assert all(phrase in text for phrase in present), text

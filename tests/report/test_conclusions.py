"""Tests of kdedge/report/conclusions.py: sentences chosen by the numbers."""

from __future__ import annotations

import pytest
from report_fakes import fake_bench, fake_export

from kdedge.report.collect import _read_bench
from kdedge.report.conclusions import conclusions
from kdedge.rundir import write_json_atomic


def _set_accuracies(facts, *, teacher, student, no_kd):
    m = facts.metrics
    m["teacher"]["accuracy"], m["student"]["accuracy"], m["student_no_kd"]["accuracy"] = teacher, student, no_kd
    m["kd_gain"] = student - no_kd


def test_conclusions_kd_worse_when_gain_negative(facts):
    _set_accuracies(facts, teacher=0.95, student=0.93, no_kd=0.94)
    text = " ".join(conclusions(facts, "en"))
    assert "KD made the student worse" in text and "0.9300" in text and "0.9400" in text
    assert "-1.00 pt" in text
    assert "蒸馏使学生模型变差" in " ".join(conclusions(facts, "zh"))


def test_conclusions_kd_no_difference_when_gain_zero(facts):
    _set_accuracies(facts, teacher=0.95, student=0.94, no_kd=0.94)
    text = " ".join(conclusions(facts, "en"))
    assert "KD made no difference" in text and "worse" not in text and "improved" not in text


def test_conclusions_kd_better_when_gain_positive(facts):
    _set_accuracies(facts, teacher=0.95, student=0.945, no_kd=0.94)
    assert "KD improved the student" in " ".join(conclusions(facts, "en"))


@pytest.mark.parametrize("student, phrase", [(0.93, "more than 1 point lost"),
                                             (0.945, "within 1 point"),
                                             (0.96, "matches or exceeds")])
def test_conclusions_student_vs_teacher_accuracy(facts, student, phrase):
    _set_accuracies(facts, teacher=0.95, student=student, no_kd=student)
    assert phrase in " ".join(conclusions(facts, "en"))


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


def test_conclusions_small_test_split_warns_about_noise(facts):
    facts.metrics["data"]["split"]["test"] = 30
    assert "only 30 rows: one row is 3.33 points" in " ".join(conclusions(facts, "en"))
    facts.metrics["data"]["split"]["test"] = 1000
    assert "only 1000 rows" not in " ".join(conclusions(facts, "en"))


def test_conclusions_bench_of_other_files_is_called_stale(facts, tmp_path):
    bench = fake_bench(facts.metrics, target="x86")
    bench["models"]["student.onnx"]["sha256"] = "a" * 64
    bench["models"]["teacher.onnx"]["sha256"] = "b" * 64
    facts.benches = [_read_bench(write_json_atomic(tmp_path / "x86.json", bench))]
    facts.benches[0].stale = ["student"]  # what collect finds when run.json lists another sha256
    text = " ".join(conclusions(facts, "en"))
    assert "The bench on x86 measured other files than onnx/ holds now (student)" in text

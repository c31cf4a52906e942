"""Tests of kdedge/report/collect.py: reading a run, export.json and bench JSONs."""

from __future__ import annotations

import pytest
from report_fakes import copy_run, fake_bench, fake_export

from kdedge.report.collect import collect, reference_bench
from kdedge.rundir import KdedgeError, write_json_atomic


def test_collect_missing_stages_name_commands(small_run):
    facts = collect(small_run)
    assert facts.export is None and facts.benches == []
    assert facts.missing["export"] == f"kdedge export {small_run} --quantize all"
    assert facts.missing["bench"] == f"kdedge bench {small_run}"


def test_collect_reads_bench_format(small_run, tmp_path):
    run = copy_run(small_run, tmp_path / "run")
    facts = collect(run)
    write_json_atomic(run / "export.json", fake_export(facts.metrics))
    write_json_atomic(run / "bench" / "x86.json", fake_bench(facts.metrics, target="x86"))
    arm = write_json_atomic(tmp_path / "arm.json", fake_bench(facts.metrics, target="arm", emulated=True))
    facts = collect(run, bench_files=[arm, run / "bench" / "x86.json"])  # a duplicate is read once
    assert [b.target for b in facts.benches] == ["x86", "arm"]
    assert facts.missing == {}
    x86, arm = facts.benches
    assert not x86.emulated and arm.emulated
    student = x86.models["student"]
    assert student.latency[1]["p50"] == 45.0 and student.latency[1]["ratio_to_floor"] == 1.125
    assert student.session_ms == 4.5 and student.peak_mb > 60.0
    assert student.macs == facts.metrics["student"]["macs"]
    assert x86.models["student.int8-static"].error
    assert x86.floor_p50_us[1] == 40.0
    assert reference_bench(facts) is x86


@pytest.mark.parametrize("content", ["{not json", '{"target": "x"}', '{"models": {"a": {"latency": 3}}}'])
def test_collect_unreadable_bench_names_file(small_run, tmp_path, content):
    bad = tmp_path / "broken-bench.json"
    bad.write_text(content)
    with pytest.raises(KdedgeError, match="broken-bench.json"):
        collect(small_run, bench_files=[bad])


def test_collect_missing_bench_file_named(small_run, tmp_path):
    with pytest.raises(KdedgeError, match="nowhere.json"):
        collect(small_run, bench_files=[tmp_path / "nowhere.json"])


def test_collect_missing_run_json_names_it(small_run, tmp_path):
    run = copy_run(small_run, tmp_path / "run")
    (run / "run.json").unlink()
    with pytest.raises(KdedgeError, match="run.json"):
        collect(run)


def test_collect_bench_list_from_one_cli_string(small_run, tmp_path):
    metrics = collect(small_run).metrics
    a = write_json_atomic(tmp_path / "a.json", fake_bench(metrics, target="a"))
    b = write_json_atomic(tmp_path / "b.json", fake_bench(metrics, target="b"))
    for value in (f"{a},{b}", f"[{a}, {b}]", [a, b]):
        assert [x.target for x in collect(small_run, bench_files=value).benches] == ["a", "b"]


def test_collect_flags_bench_of_files_the_run_no_longer_holds(small_run, tmp_path):
    from kdedge.rundir import read_json

    run = copy_run(small_run, tmp_path / "run")
    manifest = read_json(run / "run.json")
    manifest["artifacts"]["onnx/student.onnx"] = "c" * 64  # what the current export holds
    manifest["artifacts"]["onnx/teacher.onnx"] = "d" * 64
    write_json_atomic(run / "run.json", manifest)
    facts = collect(run)
    bench = fake_bench(facts.metrics, target="x86")
    bench["models"]["student.onnx"]["sha256"] = "e" * 64  # measured an earlier export
    bench["models"]["teacher.onnx"]["sha256"] = "d" * 64  # the same file
    write_json_atomic(run / "bench" / "x86.json", bench)
    assert collect(run).benches[0].stale == ["student"]

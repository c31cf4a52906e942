"""Tests of kdedge/report/collect.py: reading a real run, its export.json and bench JSONs."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from kdedge.contract import (EXPORTED_BASELINES, BenchReport, ContractError, read_record,
                             write_record)
from kdedge.report.collect import collect, reference_bench
from kdedge.rundir import KdedgeError, read_json, update_manifest, write_json_atomic


def test_collect_missing_stages_name_commands(small_run):
    facts = collect(small_run)
    assert facts.export is None and facts.benches == []
    assert facts.missing["export"] == f"kdedge export {small_run} --quantize all"
    assert facts.missing["bench"] == f"kdedge bench {small_run}"


def test_collect_reads_real_export_and_benches(full_run, arm_bench, x86_bench):
    facts = collect(full_run, bench_files=[arm_bench, x86_bench])  # a duplicate is read once
    assert [b.target for b in facts.benches] == ["x86-test", "arm64-emulated"]
    assert facts.missing == {}
    x86, arm = facts.benches
    assert not x86.emulated and arm.emulated
    assert set(x86.models) == {"teacher", "student", "student.int8", "student.int8-static",
                               "student.fp16", *EXPORTED_BASELINES}
    assert x86.batch_sizes == [1, 32] and x86.quick
    assert x86.stale == [] and arm.stale == []  # both measured the files export recorded
    assert arm.models["student"].latency["1"].p50_us == pytest.approx(
        2 * x86.models["student"].latency["1"].p50_us)
    assert set(facts.export.models) == set(x86.models)
    assert reference_bench(facts) is x86


def test_collect_floor_is_cheapest_floor_graph(full_run, x86_bench):
    (bench,) = collect(full_run).benches
    raw = read_json(x86_bench)["floors"]
    for batch in (1, 32):
        assert bench.floor_p50_us(batch) == min(f["latency"][str(batch)]["p50_us"] for f in raw.values())
    assert bench.floor_p50_us(1024) is None  # not measured


@pytest.mark.parametrize("content", ["{not json", '{"target": "x"}', "[]"])
def test_collect_unreadable_bench_names_file(small_run, tmp_path, content):
    bad = tmp_path / "broken-bench.json"
    bad.write_text(content)
    with pytest.raises(KdedgeError, match="broken-bench.json"):
        collect(small_run, bench_files=[bad])


def test_collect_refuses_bench_format_1(full_run, tmp_path, x86_bench):
    old = read_json(x86_bench)
    old["bench_format"] = 1
    path = write_json_atomic(tmp_path / "old-pi.json", old)
    with pytest.raises(ContractError, match=r"old-pi\.json.*bench_format is 1.*re-run `kdedge bench`"):
        collect(full_run, bench_files=[path])


def test_collect_bench_field_of_wrong_type_named(full_run, tmp_path, x86_bench):
    data = read_json(x86_bench)
    data["models"]["student.onnx"]["latency"]["1"]["p50_us"] = "fast"
    path = write_json_atomic(tmp_path / "edited.json", data)
    with pytest.raises(ContractError, match=r"edited\.json.*models\.student\.onnx\.latency\.1\.p50_us"):
        collect(full_run, bench_files=[path])


def test_collect_export_json_of_other_format_refused(full_run, tmp_path):
    run = shutil.copytree(full_run, tmp_path / "run")
    data = read_json(run / "export.json")
    del data["export_format"]
    write_json_atomic(run / "export.json", data)
    update_manifest(run, stage="export", files=["export.json"])  # as an older kdedge recorded it
    with pytest.raises(ContractError, match=r"export\.json.*export_format.*re-run `kdedge export`"):
        collect(run)


def test_collect_missing_bench_file_named(small_run, tmp_path):
    with pytest.raises(KdedgeError, match="nowhere.json"):
        collect(small_run, bench_files=[tmp_path / "nowhere.json"])


def test_collect_missing_run_json_names_it(small_run, tmp_path):
    run = shutil.copytree(small_run, tmp_path / "run")
    (run / "run.json").unlink()
    with pytest.raises(KdedgeError, match="run.json"):
        collect(run)


def test_collect_flags_bench_of_files_the_run_no_longer_holds(full_run, tmp_path, x86_bench):
    run = shutil.copytree(full_run, tmp_path / "run")
    path = run / x86_bench.relative_to(full_run)
    record = read_record(BenchReport, path)
    record.models["student.onnx"].sha256 = "e" * 64  # measured an earlier export
    record.models["student.int8.onnx"].sha256 = None  # no sha256: cannot be judged
    write_record(path, record)
    update_manifest(run, stage="bench", files=[path.relative_to(run).as_posix()])
    assert collect(run).benches[0].stale == ["student"]


def test_collect_bench_list_paths_read_in_order(full_run, make_bench, tmp_path):
    a = make_bench(tmp_path / "a.json", target="a")
    b = make_bench(tmp_path / "b.json", target="b")
    assert [x.target for x in collect(full_run, bench_files=[b, str(a)]).benches] == [
        "x86-test", "b", "a"]


def test_collect_positive_class_of_binary_run(facts, wine_report):
    data = facts.metrics.data
    counts = data.split_class_counts.train
    assert facts.positive_class == data.class_names[int(np.argmin(counts))]  # the minority
    assert facts.run.class_names[facts.positive_index] == facts.positive_class
    assert collect(wine_report).positive_index is None  # multi-class: no positive class


def test_collect_positive_class_not_a_class_named(facts):
    facts.run.metrics.data = dataclasses.replace(facts.metrics.data, positive_class="fault")
    with pytest.raises(KdedgeError, match="positive_class 'fault' is not one of the classes"):
        facts.positive_index


def test_collect_reads_search_json_and_teacher_kind(searched_run, small_run):
    from kdedge.contract import Search

    facts = collect(searched_run)
    assert facts.search == read_record(Search, searched_run / "search.json")
    assert facts.gbdt_teacher and facts.metrics.teacher_kind == "gbdt"
    fixed = collect(small_run)
    assert fixed.search.mode == "fixed" and not fixed.gbdt_teacher


def test_collect_search_json_checked_and_optional(searched_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(searched_run, run)
    raw = read_json(run / "search.json")
    raw["met_target"] = not raw["met_target"]  # changed after distill: refused
    write_json_atomic(run / "search.json", raw)
    with pytest.raises(KdedgeError, match="search.json"):
        collect(run)
    manifest = read_json(run / "run.json")  # a run made before distill wrote search.json
    del manifest["artifacts"]["search.json"]
    write_json_atomic(run / "run.json", manifest)
    (run / "search.json").unlink()
    assert collect(run).search is None

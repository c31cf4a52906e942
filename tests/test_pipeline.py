import re
import shutil

import pytest

from kdedge import contract
from kdedge.cli import main
from kdedge.contract import BenchReport, ExportSummary, Metrics, ModelsFile, read_record
from kdedge.rundir import KdedgeError, read_manifest, sha256_file


def test_main_run_produces_every_stage_with_progress(tmp_path, capsys):
    out = tmp_path / "run"
    main(["run", "--data", "iris", "--features", "2", "--out", str(out), "--max_epochs", "5",
          "--quick", "--lang", "en", "--temperature", "2", "--opt_level", "basic"])
    captured = capsys.readouterr()
    err = captured.err
    for number in range(1, 5):
        assert f"== stage {number}/4" in err
    assert captured.out == f"{out}\n"  # the run directory, once; the summary is on stderr
    assert not re.search(rf"(^|: ){re.escape(str(out))}$", err, re.M)  # not echoed again
    assert "test accuracy: teacher" in err
    assert f"  report: {out / 'report.html'}\n" in err
    manifest = read_manifest(out)
    assert set(manifest.stages) == {"distill", "export", "bench", "report"}
    for name, digest in manifest.artifacts.items():
        assert sha256_file(out / name) == digest, name
    assert read_record(ModelsFile, out / contract.MODELS_JSON).kd.temperature == 2.0  # routed
    export = read_record(ExportSummary, out / contract.EXPORT_JSON)
    assert {"teacher", "student", "student.int8", "student.int8-static",
            "student.fp16"} <= set(export.models)
    bench_files = list((out / "bench").glob("*.json"))
    assert len(bench_files) == 1
    assert read_record(BenchReport, bench_files[0]).settings.opt_level == "basic"
    if shutil.which("gcc") and shutil.which("size"):  # the C student where a compiler exists
        assert export.c_student is not None and export.c_student.parity.passed
        assert read_record(BenchReport, bench_files[0]).c_student is not None
    assert re.search(r"^## \d+\. Conclusions$", (out / "report.md").read_text(), re.M)
    assert len(list((out / "plots").glob("*.png"))) == 16  # pareto.png needs the bench


def test_run_all_passes_positive_to_distill(tmp_path):
    """`kdedge run --positive` reaches distill: refused for multi-class data before training."""
    from kdedge.pipeline import run_all

    with pytest.raises(KdedgeError, match="--positive setosa applies to binary data only"):
        run_all(data="iris", positive="setosa", out=str(tmp_path / "r"))
    assert not (tmp_path / "r").exists()


def test_run_all_refuses_bad_lang_before_training(tmp_path):
    from kdedge.pipeline import run_all

    with pytest.raises(KdedgeError, match="--lang must be one of zh, en"):
        run_all(out=str(tmp_path / "r"), lang="fr")
    assert not (tmp_path / "r").exists()


def test_route_flags_gives_a_shared_name_to_the_first_stage():
    """--target is distill's label column (not bench's machine name), --threads and --force
    distill's; quick goes to bench, lang to report, and quantize defaults to every variant."""
    from kdedge.pipeline import route_flags

    routed = route_flags(dict(target="label", threads=2, force=True, quick=True, lang="en",
                              temperature=2.0))
    assert routed == {"distill": dict(target="label", threads=2, force=True, temperature=2.0),
                      "export": dict(quantize="all"), "bench": dict(quick=True),
                      "report": dict(lang="en")}
    assert route_flags(dict(quantize="int8"))["export"] == dict(quantize="int8")


def test_flag_owners_cover_every_stage_parameter():
    from kdedge.pipeline import STAGES, flag_owners

    owners = flag_owners()
    for stage in STAGES:
        for name in stage.load().PARAMETERS:
            assert name in owners  # a new stage parameter is a `run` flag with no second list
    assert (owners["target"], owners["threads"], owners["force"]) == ("distill",) * 3
    assert (owners["quick"], owners["quantize"], owners["lang"]) == ("bench", "export", "report")


@pytest.mark.parametrize("flags,message", [
    (dict(nonsense=1), "`kdedge run` takes no flag --nonsense; its flags: --data"),
    (dict(quantize="int9"), "unknown variant 'int9'"),
    (dict(quick="yes"), "--quick must be true or false"),
])
def test_run_all_refuses_bad_flags_before_training(tmp_path, flags, message):
    from kdedge.pipeline import run_all

    with pytest.raises(KdedgeError, match=re.escape(message)):
        run_all(out=str(tmp_path / "r"), **flags)
    assert not (tmp_path / "r").exists()


def test_summary_lines_quote_the_run_records(full_run):
    """Accuracy, agreement, size and batch-1 latency ratios as metrics.json and the bench JSON
    hold them, and the report's path."""
    from kdedge.pipeline import summary_lines

    bench_json = full_run / contract.bench_file("x86-test")
    metrics = read_record(Metrics, full_run / contract.METRICS_JSON)
    bench = read_record(BenchReport, bench_json)
    lines = summary_lines(full_run, bench_json, 12.3)
    assert lines[0] == "kdedge run finished in 12.3s"
    teacher, student = metrics.teacher, metrics.student
    assert f"teacher {teacher.accuracy:.4f}, student {student.accuracy:.4f}" in lines[1]
    assert f"agreement with the teacher {metrics.agreement:.4f}" in lines[1]
    assert f"{student.macs / teacher.macs:.2g}x the teacher's MACs ({student.macs:,} vs " \
           f"{teacher.macs:,})" in lines[2]
    latency = {(m.model, m.variant): m.latency["1"].p50_us for m in bench.models.values()}
    fast, slow = latency["student", "fp32"], latency["teacher", "fp32"]
    assert f"{fast / slow:.2g}x the teacher's (p50 {fast:.1f} vs {slow:.1f} µs" in lines[3]
    assert lines[4] == f"  report: {full_run / contract.REPORT_HTML}" and len(lines) == 5

import re
import shutil

import pytest

from kdedge import contract
from kdedge.cli import main
from kdedge.contract import BenchReport, ExportSummary, read_record
from kdedge.rundir import KdedgeError, read_manifest, sha256_file


def test_main_run_produces_every_stage_with_progress(tmp_path, capsys):
    out = tmp_path / "run"
    main(["run", "--data", "iris", "--features", "2", "--out", str(out), "--max_epochs", "5",
          "--quick", "--lang", "en"])
    err = capsys.readouterr().err
    for number in range(1, 5):
        assert f"== stage {number}/4" in err
    manifest = read_manifest(out)
    assert set(manifest.stages) == {"distill", "export", "bench", "report"}
    for name, digest in manifest.artifacts.items():
        assert sha256_file(out / name) == digest, name
    export = read_record(ExportSummary, out / contract.EXPORT_JSON)
    assert set(export.models) == {"teacher", "student", "student.int8", "student.int8-static",
                                  "student.fp16"}
    bench_files = list((out / "bench").glob("*.json"))
    assert len(bench_files) == 1
    if shutil.which("gcc") and shutil.which("size"):  # the C student where a compiler exists
        assert export.c_student is not None and export.c_student.parity.passed
        assert read_record(BenchReport, bench_files[0]).c_student is not None
    assert re.search(r"^## \d+\. Conclusions$", (out / "report.md").read_text(), re.M)
    assert len(list((out / "plots").glob("*.png"))) == 15


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

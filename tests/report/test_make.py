"""Tests of kdedge/report/make.py: the report stage end to end."""

from __future__ import annotations

import json

import pytest
from report_fakes import copy_run, cut_split

from kdedge.report import make_report
from kdedge.report.make import ALL_PLOTS, BENCH_PLOTS, DISTILL_PLOTS, draw_plots
from kdedge.rundir import KdedgeError, sha256_file

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _sections(run, lang):
    text = (run / "report.md").read_text(encoding="utf-8")
    return text, [line for line in text.splitlines() if line.startswith("## ")]


def test_make_report_distill_only_sections_and_13_plots(plain_run):
    text, headings = _sections(plain_run, "zh")
    assert text.startswith("# 知识蒸馏报告")
    assert len(headings) == 8 and headings[-1] == "## 8. 结论"
    assert f"`kdedge export {plain_run} --quantize all`" in text and f"`kdedge bench {plain_run}`" in text
    for name in DISTILL_PLOTS:
        data = (plain_run / "plots" / f"{name}.png").read_bytes()
        assert data.startswith(PNG_MAGIC), name
    for name in BENCH_PLOTS:
        assert not (plain_run / "plots" / f"{name}.png").exists()


def test_make_report_records_files_in_manifest(plain_run):
    manifest = json.loads((plain_run / "run.json").read_text())
    assert manifest["stages"]["report"]["lang"] == "zh"
    assert manifest["stages"]["report"]["missing_stages"] == ["bench", "export"]
    for name in ["report.md", "report.html"] + [f"plots/{p}.png" for p in DISTILL_PLOTS]:
        assert manifest["artifacts"][name] == sha256_file(plain_run / name), name


def test_make_report_full_run_15_plots_and_sections(full_run):
    text, headings = _sections(full_run, "zh")
    assert all((full_run / "plots" / f"{name}.png").read_bytes().startswith(PNG_MAGIC) for name in ALL_PLOTS)
    assert "暂无" not in text  # every stage present
    assert "student (int8-static)" in text and "arm64-emulated（模拟运行，非性能数据）" in text
    assert "在 x86 上，批大小 1 时 student (int8) 比 fp32 学生模型更慢" in text


def test_make_report_multiclass_plots(wine_run):
    text = (wine_run / "report.md").read_text(encoding="utf-8")
    assert "3 classes" in text and text.startswith("# Knowledge distillation report")
    for name in DISTILL_PLOTS:
        assert (wine_run / "plots" / f"{name}.png").read_bytes().startswith(PNG_MAGIC), name


def test_make_report_stale_bench_plots_removed(full_run, tmp_path):
    run = copy_run(full_run, tmp_path / "run")
    (run / "bench" / "x86.json").unlink()
    make_report(run, lang="en", quiet=True)
    assert not (run / "plots" / "latency_distribution.png").exists()
    assert "plots/latency_distribution.png" not in json.loads((run / "run.json").read_text())["artifacts"]
    assert "plots/latency_distribution.png" not in (run / "report.md").read_text()


def test_make_report_unknown_lang(plain_run):
    with pytest.raises(KdedgeError, match="--lang must be one of zh, en"):
        make_report(plain_run, lang="fr")


def test_make_report_unreadable_bench_names_file(plain_run, tmp_path):
    bad = tmp_path / "pi5.json"
    bad.write_text("{truncated")
    with pytest.raises(KdedgeError, match="pi5.json"):
        make_report(plain_run, bench_files=[bad], quiet=True)


def test_make_report_not_a_run_dir(tmp_path):
    with pytest.raises(KdedgeError, match="run.json"):
        make_report(tmp_path, quiet=True)


def test_make_report_import_is_light():
    import subprocess
    import sys

    code = ("import sys, kdedge.report; from kdedge.report import make_report; "
            "print(sorted(m for m in ('torch', 'matplotlib', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_make_report_cli_bench_option(plain_run, tmp_path):
    from report_fakes import fake_bench

    from kdedge.artifacts import load_run
    from kdedge.cli import main
    from kdedge.rundir import write_json_atomic

    run = copy_run(plain_run, tmp_path / "run")
    pi = write_json_atomic(tmp_path / "pi5.json", fake_bench(load_run(run).metrics, target="pi5"))
    main(["report", str(run), "--lang", "en", "--bench", str(pi), "--quiet"])
    text = (run / "report.md").read_text(encoding="utf-8")
    assert "| Model | pi5 |" in text and "plots/accuracy_vs_cost.png" in text


TINY_SKIPPED = ["pca_scatter", "precision_recall", "tsne"]  # the plots of the 4-row test split


@pytest.mark.parametrize("lang, why", [("en", "Not drawn — t-SNE of the test split: the test split has only 4 rows"),
                                       ("zh", "未绘制“测试集 t-SNE”：测试集只有 4 行")])
def test_make_report_tiny_split_skips_plots_says_why(tiny_run, tmp_path, lang, why):
    run = copy_run(tiny_run, tmp_path / "run")
    assert json.loads((run / "metrics.json").read_text())["data"]["split"]["test"] == 4
    make_report(run, lang=lang, quiet=True)
    text = (run / "report.md").read_text(encoding="utf-8")
    assert why in text and text.count("> Not drawn" if lang == "en" else "> 未绘制") == len(TINY_SKIPPED)
    report = json.loads((run / "run.json").read_text())["stages"]["report"]
    assert sorted(report["skipped_plots"]) == TINY_SKIPPED and report["plots"] == 13 - len(TINY_SKIPPED)
    for name in DISTILL_PLOTS:
        assert (run / "plots" / f"{name}.png").exists() == (name not in TINY_SKIPPED), name


def test_draw_plots_two_row_split_skips_instead_of_raising(facts):
    cut_split(facts, 2)  # the reviewer's 10-row CSV: t-SNE raised "perplexity (2.0) must be less than n_samples (2)"
    images, skipped = draw_plots(facts)
    assert sorted(skipped) == ["correlation_matrix", "feature_distributions", "pca_scatter", "pca_variance",
                               "precision_recall", "tsne"]
    assert set(images) == set(DISTILL_PLOTS) - set(skipped)

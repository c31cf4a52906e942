"""Tests of kdedge/report/make.py: the report stage end to end, on real runs."""

from __future__ import annotations

import json
import logging
import re
import shutil

import pytest

from kdedge.report import make_report, plots_data
from kdedge.report.make import ALL_PLOTS, BENCH_PLOTS, DISTILL_PLOTS, draw_plots
from kdedge.rundir import KdedgeError, sha256_file

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BOUNDARIES = ["decision_boundary_student", "decision_boundary_teacher"]  # drawn through ONNX


@pytest.fixture()
def fast_tsne(monkeypatch):
    """Reports re-made inside a test embed t-SNE of 100 rows, not 1,000 (seconds saved)."""
    monkeypatch.setattr(plots_data, "TSNE_ROWS", 100)


def _report(run, name: str = "report.md") -> str:
    return (run / name).read_text(encoding="utf-8")


def _stage(run) -> dict:
    return json.loads((run / "run.json").read_text())["stages"]["report"]


def test_make_report_imports_no_torch(no_torch_report):
    """The full report (export, two benches) is made where `import torch` fails, and is complete."""
    assert no_torch_report["blocked"] is True  # the blocker works: torch really was unavailable
    assert no_torch_report["torch_modules"] == []
    run = no_torch_report["run"]
    stage = _stage(run)
    assert stage["plots"] == len(ALL_PLOTS) and stage["skipped_plots"] == {}
    assert stage["missing_stages"] == []
    for name in ALL_PLOTS:
        assert (run / "plots" / f"{name}.png").read_bytes().startswith(PNG_MAGIC), name


def test_make_report_full_run_sections(full_report):
    text = _report(full_report)
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert len(headings) == 9 and headings[-2:] == ["## 8. 类别分布、基线模型与配对检验", "## 9. 结论"]
    assert "暂无" not in text and "未绘制" not in text  # every stage present, every plot drawn
    assert "student (int8-static)" in text and "arm64-emulated（模拟运行，非性能数据）" in text
    assert "arm64-emulated 上的计时为模拟运行（qemu）：不是性能数据。" in text


def test_make_report_distill_only_says_what_is_missing(plain_report):
    text = _report(plain_report)
    assert text.startswith("# 知识蒸馏报告")
    assert f"`kdedge export {plain_report} --quantize all`" in text and f"`kdedge bench {plain_report}`" in text
    # the decision boundaries are drawn through the exported graphs: not yet, and the report says so
    assert text.count("此图通过导出的 ONNX 计算图绘制，而此运行目录尚未导出") == 2
    for name in DISTILL_PLOTS:
        exists = (plain_report / "plots" / f"{name}.png").exists()
        assert exists == (name not in BOUNDARIES), name
    for name in BENCH_PLOTS:
        assert not (plain_report / "plots" / f"{name}.png").exists()


def test_make_report_records_files_in_manifest(plain_report):
    stage = _stage(plain_report)
    assert stage["lang"] == "zh" and stage["missing_stages"] == ["bench", "export"]
    assert sorted(stage["skipped_plots"]) == BOUNDARIES
    assert all("kdedge export" in why for why in stage["skipped_plots"].values())
    artifacts = json.loads((plain_report / "run.json").read_text())["artifacts"]
    drawn = [f"plots/{p}.png" for p in DISTILL_PLOTS if p not in BOUNDARIES]
    for name in ["report.md", "report.html"] + drawn:
        assert artifacts[name] == sha256_file(plain_report / name), name


def test_make_report_multiclass_plots(wine_report):
    text = _report(wine_report)
    assert "3 classes" in text and text.startswith("# Knowledge distillation report")
    for name in DISTILL_PLOTS:
        assert (wine_report / "plots" / f"{name}.png").read_bytes().startswith(PNG_MAGIC), name


@pytest.mark.slow
def test_make_report_stale_bench_plots_removed(full_report, tmp_path, fast_tsne):
    run = shutil.copytree(full_report, tmp_path / "run")
    for path in (run / "bench").glob("*.json"):
        path.unlink()
    make_report(run, lang="en")
    artifacts = json.loads((run / "run.json").read_text())["artifacts"]
    for name in BENCH_PLOTS:
        assert not (run / "plots" / f"{name}.png").exists()
        assert f"plots/{name}.png" not in artifacts and f"plots/{name}.png" not in _report(run)
    assert "plots/tsne.png" in artifacts  # what was drawn again stays recorded


def test_make_report_progress_logged(tiny_run, tmp_path):
    run = shutil.copytree(tiny_run, tmp_path / "run")
    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger("kdedge.report")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        make_report(run, lang="en")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert messages[0] == f"drawing the plots of {run}"
    assert messages[-1].startswith(f"wrote {run / 'report.md'}, report.html and 8 plots in ")


def test_make_report_unknown_lang(plain_report):
    with pytest.raises(KdedgeError, match="--lang must be one of zh, en, got 'fr'"):
        make_report(plain_report, lang="fr")


def test_make_report_unreadable_bench_names_file(plain_report, tmp_path):
    bad = tmp_path / "pi5.json"
    bad.write_text("{truncated")
    with pytest.raises(KdedgeError, match="pi5.json"):
        make_report(plain_report, bench_files=[bad])


def test_make_report_not_a_run_dir(tmp_path):
    with pytest.raises(KdedgeError, match="run.json"):
        make_report(tmp_path)


def test_make_report_import_is_light():
    import subprocess
    import sys

    code = ("import sys, kdedge.report; from kdedge.report import make_report; "
            "print(sorted(m for m in ('torch', 'matplotlib', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_make_report_cli_bench_option(full_report, make_bench, tmp_path, fast_tsne):
    from kdedge.cli import main

    run = shutil.copytree(full_report, tmp_path / "run")
    pi = make_bench(tmp_path / "pi5.json", target="pi5", scale=3.0)
    main(["report", str(run), "--lang", "en", "--bench", str(pi), "--quiet"])
    text = _report(run)
    assert "| Model | x86-test | pi5 |" in text and "plots/accuracy_vs_cost.png" in text
    assert _stage(run)["bench_files"] == [str(run / "bench" / "x86-test.json"), str(pi)]


TINY_SKIPPED = ["pca_scatter", "precision_recall", "tsne"]  # the plots of the 4-row test split


@pytest.mark.parametrize("lang, why", [("en", "Not drawn — t-SNE of the test split: the test split has only 4 rows"),
                                       ("zh", "未绘制“测试集 t-SNE”：测试集只有 4 行")])
def test_make_report_tiny_split_skips_plots_says_why(tiny_run, tmp_path, lang, why):
    run = shutil.copytree(tiny_run, tmp_path / "run")
    assert json.loads((run / "metrics.json").read_text())["data"]["split"]["test"] == 4
    make_report(run, lang=lang)
    text = _report(run)
    skipped = TINY_SKIPPED + BOUNDARIES  # and the decision boundaries: the run is not exported
    assert why in text and text.count("> Not drawn" if lang == "en" else "> 未绘制") == len(skipped)
    stage = _stage(run)
    assert sorted(stage["skipped_plots"]) == sorted(skipped) and stage["plots"] == 13 - len(skipped)
    for name in DISTILL_PLOTS:
        assert (run / "plots" / f"{name}.png").exists() == (name not in skipped), name


@pytest.mark.slow
def test_draw_plots_two_row_split_skips_instead_of_raising(full_facts, cut_split):
    cut_split(full_facts, 2)  # a 10-row CSV's split: t-SNE raised "perplexity must be less than n_samples"
    images, skipped = draw_plots(full_facts)
    assert sorted(skipped) == ["correlation_matrix", "feature_distributions", "pca_scatter", "pca_variance",
                               "precision_recall", "tsne"]
    assert set(images) == set(ALL_PLOTS) - set(skipped)


def _glyph_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if "missing from" in str(w.message)]


def test_make_report_cjk_names_drawn_without_missing_glyphs(cjk_run, tmp_path):
    """Chinese feature and class names: every plot is drawn with the CJK fallback font (no
    "Glyph … missing from font(s) DejaVu Sans"), and no matplotlib setting outlives the report."""
    import warnings

    import matplotlib

    from kdedge.report import fonts

    if fonts.find_cjk_font() is None:
        pytest.skip("no CJK font installed (CI installs one: apt-get install fonts-noto-cjk)")
    run = shutil.copytree(cjk_run, tmp_path / "run")
    settings = dict(matplotlib.rcParams)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_report(run)
    assert _glyph_warnings(caught) == []
    assert dict(matplotlib.rcParams) == settings
    assert _stage(run)["plots"] >= 10 and "fonts-noto-cjk" not in _report(run)


@pytest.mark.parametrize("lang, hint", [
    ("en", "For Chinese, Japanese or Korean names install a CJK font (Debian/Ubuntu: "
           "`apt-get install fonts-noto-cjk`"),
    ("zh", "中文、日文或韩文名称需要安装 CJK 字体（Debian/Ubuntu：`apt-get install fonts-noto-cjk`")])
def test_make_report_no_cjk_font_warns_once_and_says_how_to_install(cjk_run, tmp_path, monkeypatch,
                                                                    lang, hint):
    import warnings

    from kdedge.report import fonts

    monkeypatch.setattr(fonts, "find_cjk_font", lambda: None)
    run = shutil.copytree(cjk_run, tmp_path / "run")
    messages: list[str] = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())
    logging.getLogger("kdedge.report").addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            make_report(run, lang=lang)
    finally:
        logging.getLogger("kdedge.report").removeHandler(handler)
    assert len(messages) == 1 and "fonts-noto-cjk" in messages[0]
    assert _glyph_warnings(caught) == []  # said once by kdedge, not once per glyph and plot
    text = _report(run)
    assert hint in text and "温 度" in text
    assert _stage(run)["plots"] >= 10  # the plots are drawn anyway


# Four or more English words in a row: a sentence left untranslated (names from the data and
# models are one or two words). Code spans, image links and messages the zh report quotes as
# logged (“…”: distill's warnings, export's reasons) are taken out first.
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'-]*(?:[ ,]+[A-Za-z][A-Za-z'-]*){3,}")
NOT_PROSE = re.compile(r"`[^`]*`|!\[[^\]]*\]\([^)]*\)|“[^”]*”")


def english_sentences(markdown: str) -> list[str]:
    """Runs of English words in a zh report outside code spans, image links and quotations."""
    return ENGLISH_RUN.findall(NOT_PROSE.sub("", markdown))


def test_english_sentences_found_outside_code():
    assert english_sentences("重要性：permutation importance of the teacher") == [
        "permutation importance of the teacher"]
    assert english_sentences("运行 `kdedge export RUN --quantize all`；student (int8) 被接受；"
                             "警告（英文原文）：“the teacher is not better”") == []


@pytest.mark.parametrize("fixture", ["full_report", "cjk_report"])
def test_make_report_zh_has_no_english_sentences(fixture, request):
    assert english_sentences(_report(request.getfixturevalue(fixture))) == []


def test_make_report_gbdt_teacher_both_languages(gbdt_reports, gbdt_run, numbers):
    """A GBDT teacher through export, bench and report: the report renders in zh and en, says
    what the teacher is, shows no NaN or infinity, and carries the same numbers in both."""
    trees = json.loads((gbdt_run / "models.json").read_text())["teacher"]
    en, zh = gbdt_reports["en"], gbdt_reports["zh"]
    assert (f"- Teacher model: HistGradientBoosting, {trees['iterations']:,} iterations, "
            f"{trees['trees']:,} trees, {trees['nodes']:,} nodes") in en
    assert f"HistGradientBoosting 梯度提升树：{trees['iterations']:,} 次迭代" in zh
    for text in (en, zh):
        assert not re.search(r"\b(nan|NaN|inf|Infinity)\b", text)
        assert "plots/pareto.png" in text and "0.0×" not in text
    assert "### How the student's size was chosen" in en and "### 学生模型规模的选择" in zh
    assert "trees compare, they do not multiply" in en
    assert sorted(numbers(zh)) == sorted(numbers(en))

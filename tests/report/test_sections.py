"""Tests of kdedge/report/sections.py: the document's content in both languages, on real runs."""

from __future__ import annotations

import pytest

from kdedge.report.figure import PlotSkipped
from kdedge.report.make import ALL_PLOTS, DISTILL_PLOTS
from kdedge.report.render import Table, render_markdown
from kdedge.report.sections import build_document
from kdedge.rundir import read_json


@pytest.mark.parametrize("fixture", ["facts", "full_facts", "searched_facts", "gbdt_facts"])
def test_build_document_zh_en_same_numbers(fixture, request, numbers):
    facts = request.getfixturevalue(fixture)
    zh = render_markdown(build_document(facts, lang="zh", plots=set(ALL_PLOTS)))
    en = render_markdown(build_document(facts, lang="en", plots=set(ALL_PLOTS)))
    assert zh != en
    # Tables carry the same cells wherever a number stands; sentences may order numbers differently.
    assert sorted(numbers(zh)) == sorted(numbers(en))


def test_build_document_feature_usage_k_over_n(facts):
    text = render_markdown(build_document(facts, lang="en", plots=set()))
    assert (facts.k, facts.n) == (6, 13)
    assert "Selected features: 6 / 13 (46.15%)" in text
    assert "| student | 6 / 13 | 46.15% | 6 |" in text
    assert "| Input dimension | 13 | 6 | -53.85% | 2.2× |" in text
    assert "| Feature usage | 100.00% | 46.15% |" in text


def test_build_document_header_from_run_records(facts):
    text = render_markdown(build_document(facts, lang="en", plots=set()))
    data = facts.metrics.data
    assert f"- Run: {facts.run.manifest.run_id}" in text
    assert (f"- Data: {data.name}: {data.rows:,} rows, 13 features, 2 classes (split "
            f"{data.split.train:,}/{data.split.val:,}/{data.split.test:,})") in text
    assert "- Teacher model: MLP 13→256→128→2 (BatchNorm, ReLU)" in text
    rank = facts.run.models.student.rank
    assert f"- Student model: gated low-rank student 6→{rank}→32→2 ({rank} factors)" in text


def test_build_document_macs_flops_labels(facts):
    text = render_markdown(build_document(facts, lang="en", plots=set()))
    t, s = facts.metrics.teacher, facts.metrics.student
    assert f"| MACs per sample | {t.macs:,} | {s.macs:,} |" in text
    assert f"| FLOPs per sample (2 × MACs) | {2 * t.macs:,} | {2 * s.macs:,} |" in text
    assert "FLOPS" not in text and "FLOPS" not in render_markdown(build_document(facts, lang="zh", plots=set()))
    assert "Weight bytes (float32)" in text  # weight bytes are not called memory
    assert "Memory: not measured" in text and f"kdedge bench {facts.run.path}" in text


def test_build_document_importance_table_descending_top_one(facts):
    blocks = build_document(facts, lang="zh", plots=set())
    table = next(b for b in blocks if isinstance(b, Table) and len(b.rows) == facts.n)
    values = [float(row[2]) for row in table.rows]
    assert values[0] == 1.0 and values == sorted(values, reverse=True)
    assert [row[1] for row in table.rows[:facts.k]] == facts.run.selected_features


def test_build_document_missing_stages_name_command(facts):
    for lang in ("zh", "en"):
        text = render_markdown(build_document(facts, lang=lang, plots=set(DISTILL_PLOTS)))
        assert f"`kdedge export {facts.run.path} --quantize all`" in text
        assert f"`kdedge bench {facts.run.path}`" in text
        assert "latency_distribution" not in text


def test_build_document_compression_numbers_equal_files(full_facts, full_run, x86_bench):
    """The compression table's measured rows are the numbers in export.json and the bench JSON."""
    export, bench = read_json(full_run / "export.json"), read_json(x86_bench)
    text = render_markdown(build_document(full_facts, lang="en", plots=set()))
    t_bytes, s_bytes = (export["models"][m]["file_bytes"] for m in ("teacher", "student"))
    assert f"| ONNX file bytes | {t_bytes:,} | {s_bytes:,} |" in text
    t_peak, s_peak = (bench["models"][f"{m}.onnx"]["memory"]["peak_mb"] for m in ("teacher", "student"))
    assert f"| Peak RSS, MB (x86-test, measured) | {t_peak:,.2f} | {s_peak:,.2f} |" in text
    assert f"Memory (measured peak RSS on x86-test): {t_peak:,.2f} → {s_peak:,.2f} MB" in text
    t_inc, s_inc = (bench["models"][f"{m}.onnx"]["memory"]["increase_mb"] for m in ("teacher", "student"))
    assert f"| RSS increase over bare onnxruntime, MB (x86-test) | {t_inc:,.2f} | {s_inc:,.2f} |" in text
    assert "Memory: not measured" not in text


def test_build_document_memory_from_emulated_bench_only_noted(full_facts):
    full_facts.benches = full_facts.benches[1:]  # only the emulated arm64 bench
    text = render_markdown(build_document(full_facts, lang="en", plots=set()))
    compression = text.split("## 5. Compression")[1].split("## 6.")[0]
    assert "Memory (measured peak RSS on arm64-emulated)" in compression
    assert "are not performance figures" in compression


def test_build_document_skipped_plot_says_why_in_its_section(facts):
    skipped = {"tsne": PlotSkipped("too_few_test_rows", n=2, min=5)}
    drawn = set(DISTILL_PLOTS) - {"tsne"}
    en = render_markdown(build_document(facts, lang="en", plots=drawn, skipped=skipped))
    views = en.split("## 4. Data views")[1].split("## 5.")[0]
    assert "> Not drawn — t-SNE of the test split: the test split has only 2 rows, fewer than the 5" in views
    assert "plots/tsne.png" not in en and "plots/pca_scatter.png" in views
    zh = render_markdown(build_document(facts, lang="zh", plots=drawn, skipped=skipped))
    assert "> 未绘制“测试集 t-SNE”：测试集只有 2 行，少于所需的 5 行。" in zh



def _tables(facts, lang="en") -> list[Table]:
    return [b for b in build_document(facts, lang=lang, plots=set()) if isinstance(b, Table)]


def test_build_document_performance_rows_say_their_average(facts):
    positive = facts.metrics.data.positive_class
    rows = [row[0] for row in _tables(facts)[1].rows]
    assert rows == ["Accuracy", "Balanced accuracy (macro recall)", "Precision (weighted)",
                    "Recall (weighted, = accuracy)", "F1 (weighted)", "F1 (macro)",
                    f"Precision (positive class {positive})", f"Recall (positive class {positive})",
                    f"ROC-AUC (positive class {positive})", f"PR-AUC (positive class {positive})",
                    "Log loss"]
    student = facts.metrics.student
    row = _tables(facts)[1].rows[rows.index(f"Recall (positive class {positive})")]
    assert row[2] == f"{student.positive.recall:.4f}"


@pytest.mark.parametrize("lang, method", [
    ("en", "Importance: permutation importance of the teacher on the validation split "
           "(sklearn.inspection.permutation_importance), score = negative multi-class Brier score, "
           "10 repeats;"),
    ("zh", "重要性计算方法：教师模型在验证集上的置换重要性（sklearn.inspection.permutation_importance），"
           "评分 = 负的多类别 Brier 分数，重复 10 次；")])
def test_build_document_importance_method_in_report_language(facts, lang, method):
    """distill records its ranking's description in English (kdedge.ranking.METHOD): the report
    words it in its own language; a description it does not know is quoted as recorded."""
    assert facts.metrics.importance_method.startswith("permutation importance (sklearn.")
    assert method in render_markdown(build_document(facts, lang=lang, plots=set()))
    facts.metrics.importance_method = "SHAP values of the teacher"
    text = render_markdown(build_document(facts, lang=lang, plots=set()))
    assert "`SHAP values of the teacher`" in text


@pytest.mark.parametrize("lang, note", [
    ("en", "> 2 constant column(s) were dropped when the data was read (the same value in every "
           "row: nothing to learn from), so they are not among the 13 features ranked: `flag`, "
           "`常数列`."),
    ("zh", "> 读取数据时删除了 2 个常数列（每行取值相同，没有可学习的信息），因此不在参与排名的 13 个特征"
           "之中：`flag`, `常数列`。")])
def test_build_document_dropped_constant_columns_named(facts, lang, note):
    assert "constant" not in render_markdown(build_document(facts, lang="en", plots=set()))
    facts.metrics.data.dropped_constant = ["flag", "常数列"]
    text = render_markdown(build_document(facts, lang=lang, plots=set()))
    features = text.split("## 1. ")[1].split("## 2. ")[0]
    assert note in features


def test_make_report_cjk_run_names_its_dropped_column(cjk_report):
    """A real distill dropped the constant column `常数列`: metrics.json and preprocessing.json
    record it, and the report says so."""
    metrics = read_json(cjk_report / "metrics.json")
    assert metrics["data"]["dropped_constant"] == ["常数列"]
    assert read_json(cjk_report / "preprocessing.json")["dropped_constant"] == ["常数列"]
    text = (cjk_report / "report.md").read_text(encoding="utf-8")
    assert "> 读取数据时删除了 1 个常数列（每行取值相同，没有可学习的信息），因此不在参与排名的 4 个特征之中：`常数列`。" in text


def test_build_document_header_gbdt_teacher(searched_facts):
    """A GBDT teacher has no layers: the header names its iterations, trees and nodes."""
    trees = searched_facts.run.models.teacher
    for lang, line in (("en", f"- Teacher model: HistGradientBoosting, {trees.iterations:,} "
                              f"iterations, {trees.trees:,} trees, {trees.nodes:,} nodes (at most "
                              f"{trees.max_leaf_nodes} leaves per tree, learning rate "
                              f"{trees.learning_rate:g})"),
                       ("zh", f"- 教师模型: HistGradientBoosting 梯度提升树：{trees.iterations:,} 次迭代")):
        assert line in render_markdown(build_document(searched_facts, lang=lang, plots=set()))

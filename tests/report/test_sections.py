"""Tests of kdedge/report/sections.py: the document's content in both languages."""

from __future__ import annotations

import re

from report_fakes import fake_bench, fake_export

from kdedge.report.collect import _read_bench
from kdedge.report.figure import PlotSkipped
from kdedge.report.make import ALL_PLOTS
from kdedge.report.render import Table, render_markdown
from kdedge.report.sections import build_document
from kdedge.rundir import write_json_atomic

# A number: optional sign (only after a space, bracket or line start), thousands, decimals, percent.
NUMBER = re.compile(r"(?:(?<=[\s(（|：，])[-+])?\d+(?:,\d{3})*(?:\.\d+)?%?")


def _numbers(markdown: str) -> list[str]:
    lines = [line for line in markdown.splitlines() if "生成时间" not in line and "Generated" not in line]
    return NUMBER.findall("\n".join(lines))


def _full(facts, tmp_path):
    facts.export = fake_export(facts.metrics)
    facts.benches = [_read_bench(write_json_atomic(tmp_path / "x86.json", fake_bench(facts.metrics, target="x86")))]
    facts.missing = {}
    return facts


def test_build_document_zh_en_same_numbers(facts, tmp_path):
    facts = _full(facts, tmp_path)
    zh = render_markdown(build_document(facts, lang="zh", plots=set(ALL_PLOTS)))
    en = render_markdown(build_document(facts, lang="en", plots=set(ALL_PLOTS)))
    assert zh != en
    # Tables carry the same cells wherever a number stands; sentences may order numbers differently.
    assert sorted(_numbers(zh)) == sorted(_numbers(en))


def test_build_document_feature_usage_k_over_n(facts):
    blocks = build_document(facts, lang="en", plots=set())
    text = render_markdown(blocks)
    k, n = facts.k, facts.n
    assert (k, n) == (6, 13)
    assert "Selected features: 6 / 13 (46.15%)" in text
    assert "| student | 6 / 13 | 46.15% | 6 |" in text
    assert "| Input dimension | 13 | 6 | -53.85% | 2.2× |" in text
    assert "| Feature usage | 100.00% | 46.15% |" in text


def test_build_document_macs_flops_labels(facts):
    text = render_markdown(build_document(facts, lang="en", plots=set()))
    t, s = facts.metrics["teacher"], facts.metrics["student"]
    assert f"| MACs per sample | {t['macs']:,} | {s['macs']:,} |" in text
    assert f"| FLOPs per sample (2 × MACs) | {2 * t['macs']:,} | {2 * s['macs']:,} |" in text
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
        text = render_markdown(build_document(facts, lang=lang, plots=set(ALL_PLOTS[:13])))
        assert f"`kdedge export {facts.run.path} --quantize all`" in text
        assert f"`kdedge bench {facts.run.path}`" in text
        assert "latency_distribution" not in text


def test_build_document_peak_memory_from_bench(facts, tmp_path):
    text = render_markdown(build_document(_full(facts, tmp_path), lang="en", plots=set()))
    assert "Memory (measured peak RSS on x86)" in text and "Peak RSS, MB (x86, measured)" in text
    assert "Memory: not measured" not in text


def test_build_document_skipped_plot_says_why_in_its_section(facts):
    skipped = {"tsne": PlotSkipped("too_few_test_rows", n=2, min=5)}
    drawn = set(ALL_PLOTS[:13]) - {"tsne"}
    en = render_markdown(build_document(facts, lang="en", plots=drawn, skipped=skipped))
    views = en.split("## 4. Data views")[1].split("## 5.")[0]
    assert "> Not drawn — t-SNE of the test split: the test split has only 2 rows, fewer than the 5" in views
    assert "plots/tsne.png" not in en and "plots/pca_scatter.png" in views
    zh = render_markdown(build_document(facts, lang="zh", plots=drawn, skipped=skipped))
    assert "> 未绘制“测试集 t-SNE”：测试集只有 2 行，少于所需的 5 行。" in zh

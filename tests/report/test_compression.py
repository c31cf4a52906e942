"""Tests of kdedge/report/compression.py: teacher against student, on the real runs: an MLP
teacher compared in MACs, and a GBDT teacher (`gbdt_run`) compared in tree nodes, measured
latency and file bytes, never as a MACs ratio."""

from __future__ import annotations

import pytest

from kdedge.report.compression import compression_section
from kdedge.report.conclusions import conclusions
from kdedge.report.overall import overall_verdict
from kdedge.report.render import Note, Table, render_markdown
from kdedge.rundir import read_json

NA = "n/a — trees compare, they do not multiply"


def _details(facts, lang: str = "en") -> dict[str, list[str]]:
    table = next(b for b in compression_section(facts, lang, set()) if isinstance(b, Table))
    return {row[0]: row[1:] for row in table.rows}


def test_compression_gbdt_teacher_no_macs_ratio(gbdt_facts, gbdt_run):
    models = read_json(gbdt_run / "models.json")["teacher"]
    metrics = read_json(gbdt_run / "metrics.json")
    assert models["kind"] == "gbdt" and metrics["teacher"]["macs"] == 0
    rows = _details(gbdt_facts)
    student = metrics["student"]
    assert rows["MACs per sample"] == [NA, f"{student['macs']:,}", "—", "—"]
    assert rows["FLOPs per sample (2 × MACs)"] == [NA, f"{student['flops']:,}", "—", "—"]
    nodes = rows["Parameters (teacher: tree nodes)"]
    assert nodes[:2] == [f"{models['nodes']:,}", f"{student['params']:,}"]
    assert "0.0×" not in render_markdown(compression_section(gbdt_facts, "en", set()))


def test_compression_gbdt_teacher_measured_latency_and_bytes(gbdt_facts, gbdt_run):
    export = read_json(gbdt_run / "export.json")["models"]
    bench = read_json(gbdt_run / "bench" / "x86-test.json")["models"]
    rows = _details(gbdt_facts)
    t, s = (bench[f"{m}.onnx"]["latency"]["1"]["p50_us"] for m in ("teacher", "student"))
    assert rows["Batch-1 latency p50, µs (x86-test, measured)"][:2] == [f"{t:,.1f}", f"{s:,.1f}"]
    tb, sb = (export[m]["file_bytes"] for m in ("teacher", "student"))
    assert rows["ONNX file bytes"] == [f"{tb:,}", f"{sb:,}", f"{(sb - tb) / tb * 100:+.2f}%",
                                       f"{tb / sb:,.1f}×"]
    blocks = compression_section(gbdt_facts, "en", set())
    assert any(isinstance(b, Note) and b.text.startswith("The teacher is a gradient-boosted")
               for b in blocks)
    text = render_markdown(blocks)
    assert f"- ONNX file: {tb:,} → {sb:,} bytes (teacher / student {tb / sb:,.1f}×)" in text
    assert "the teacher's MACs are n/a" in text


def test_compression_gbdt_conclusions_and_overall_in_nodes(gbdt_facts):
    t, s = gbdt_facts.metrics.teacher, gbdt_facts.metrics.student
    found = [c for c in conclusions(gbdt_facts, "en") if c.startswith("The student reads")]
    assert len(found) == 1 and f"against the teacher's {t.params:,} tree nodes" in found[0]
    assert "no MACs ratio is given" in found[0] and "fewer MACs" not in found[0]
    assert f"{s.params:,} parameters against the teacher's {t.params:,} tree nodes" in \
        overall_verdict(gbdt_facts, "en")


def test_compression_mlp_teacher_keeps_macs_ratio(full_facts):
    t, s = full_facts.metrics.teacher, full_facts.metrics.student
    rows = _details(full_facts)
    assert rows["MACs per sample"][:2] == [f"{t.macs:,}", f"{s.macs:,}"]
    assert rows["MACs per sample"][3] == f"{t.macs / s.macs:,.1f}×"
    assert "Parameters" in rows and not any(NA in cell for row in rows.values() for cell in row)


@pytest.mark.parametrize("lang, na", [("en", NA), ("zh", "不适用——树模型只做比较，不做乘法")])
def test_compression_gbdt_both_languages(gbdt_facts, lang, na):
    assert na in render_markdown(compression_section(gbdt_facts, lang, set()))

"""Tests of kdedge/report/deploy.py: the export and bench sections."""

from __future__ import annotations

from report_fakes import fake_bench, fake_export

from kdedge.report.collect import _read_bench
from kdedge.report.deploy import bench_section, export_section
from kdedge.report.render import Note, Table, render_markdown
from kdedge.rundir import write_json_atomic


def test_export_section_lists_every_variant(facts):
    facts.export = fake_export(facts.metrics)
    table = next(b for b in export_section(facts, "en", set()) if isinstance(b, Table))
    assert [row[0] for row in table.rows] == ["teacher", "student", "student (fp16)", "student (int8)",
                                             "student (int8-static)"]
    static = table.rows[-1]
    assert static[1] == "int8-static" and static[-2] == "rejected" and "0.9100 < 0.99" in static[-1]
    assert table.rows[1][3].startswith("passed (2.4e-07)")
    assert table.rows[3][6] == "0.9960"  # agreement with the fp32 student


def test_export_section_missing_names_command(facts):
    (note,) = export_section(facts, "en", set())
    assert isinstance(note, Note) and f"kdedge export {facts.run.path} --quantize all" in note.text


def test_bench_section_one_column_per_target_marks_emulated(facts, tmp_path):
    facts.benches = [
        _read_bench(write_json_atomic(tmp_path / "a.json", fake_bench(facts.metrics, target="x86"))),
        _read_bench(write_json_atomic(tmp_path / "b.json", fake_bench(facts.metrics, target="arm", emulated=True))),
    ]
    blocks = bench_section(facts, "en", {"latency_distribution", "accuracy_vs_cost"})
    latency = next(b for b in blocks if isinstance(b, Table) and "batch 1:" in (b.title or ""))
    assert latency.headers == ["Model", "x86", "arm (emulated, not a performance figure)"]
    student = next(row for row in latency.rows if row[0] == "student")
    assert student[1] == "45.0 / 67.5 (×1.12)"
    assert latency.rows[-1][1] == "40.0"  # the floor row
    errors = next(row for row in latency.rows if row[0] == "student (int8-static)")
    assert errors[1:] == ["error", "error"]
    text = render_markdown(blocks)
    assert "not performance figures" in text and "plots/latency_distribution.png" in text
    assert "FLOPS" not in text


def test_bench_section_marks_stale_cells(facts, tmp_path):
    facts.benches = [_read_bench(write_json_atomic(tmp_path / "a.json", fake_bench(facts.metrics, target="x86")))]
    facts.benches[0].stale = ["student"]
    for lang, models in (("en", "(student)"), ("zh", "（student）")):
        blocks = bench_section(facts, lang, set())
        machines, *per_model = [b for b in blocks if isinstance(b, Table)]
        assert len(per_model) == 6  # latency at batch 1 and 32, throughput, cold start, memory, MACs
        for table in per_model:
            cells = {row[0]: row[1] for row in table.rows}
            assert cells["student"].endswith(" †") and "†" not in cells["teacher"], table.title
        (note,) = [b.text for b in blocks if isinstance(b, Note) and b.text.startswith("†")]
        assert "x86" in note and models in note and "sha256" in note and "run.json" in note


def test_bench_section_fresh_bench_unmarked(facts, tmp_path):
    facts.benches = [_read_bench(write_json_atomic(tmp_path / "a.json", fake_bench(facts.metrics, target="x86")))]
    assert "†" not in render_markdown(bench_section(facts, "en", set()))

"""Tests of kdedge/report/deploy.py: the export and bench sections, on the real session run.

The contract tests read export.json and the bench JSON as plain JSON (by their keys, not through
kdedge.contract) and check that every number the sections show is the one in the file.
"""

from __future__ import annotations

import pytest

from kdedge.contract import EXPORTED_BASELINES
from kdedge.report.collect import read_bench
from kdedge.report.deploy import bench_section, export_section
from kdedge.report.paired import graph_label
from kdedge.report.render import Note, Table, render_markdown
from kdedge.rundir import read_json

# the models first, then the baselines export ships beside them (by stem), each by its display
# name, with its variant in the next column
VARIANT_ROWS = ([("teacher", "fp32")] + [("student", v) for v in ("fp32", "fp16", "int8", "int8-static")]
                + [(name, "fp32") for name in sorted(EXPORTED_BASELINES)])
STUDENT, TEACHER = "Student (KD)", "Teacher"


def _tables(blocks) -> dict[str, Table]:
    return {block.title: block for block in blocks if isinstance(block, Table)}


def _column(table: Table, column: int = 1) -> dict[str, str]:
    return {row[0]: row[column] for row in table.rows}


def _label(facts, file_name: str) -> str:
    """The display name the bench tables give a file: "Student (KD), int8 graph"."""
    return graph_label("en", facts.metrics, file_name[:-len(".onnx")])


def test_export_section_numbers_equal_export_json(full_facts, full_run):
    raw = read_json(full_run / "export.json")
    para, table = export_section(full_facts, "en", set())
    assert para.text == f"ONNX opset {raw['opset']}; files under onnx/ of the run directory."
    names = {"teacher": TEACHER, "student": STUDENT, "logreg_k": "LogisticRegression on the 6 "
             "selected features", "logreg_all": "LogisticRegression on all 13 features",
             "hgb_all": "HistGradientBoosting on all 13 features"}
    assert [(row[0], row[1]) for row in table.rows] == [(names[m], v) for m, v in VARIANT_ROWS]
    rows = {(row[0], row[1]): row for row in table.rows}
    for stem, entry in raw["models"].items():
        label, variant, size, parity, accuracy, agree_t, agree_f, verdict, reason = \
            rows[(names[entry["model"]], entry["variant"])]
        assert variant == entry["variant"]
        assert size == f"{entry['file_bytes']:,}"
        assert accuracy == f"{entry['metrics']['accuracy']:.4f}"
        assert agree_t == f"{entry['agreement_teacher']:.4f}"
        assert agree_f == f"{entry['agreement_fp32']:.4f}"
        assert verdict == entry["verdict"]
        assert reason == (entry["reason"] or "—")
        if entry.get("parity"):
            worst = max(entry["parity"]["max_abs_diff_batch1"], entry["parity"]["max_abs_diff_full_batch"])
            assert parity == f"passed ({worst:.1e})"
        else:
            assert parity == f"vs fp32 {entry['max_abs_diff_vs_fp32']:.1e}"


def test_bench_section_numbers_equal_bench_json(full_facts, x86_bench):
    raw = read_json(x86_bench)
    full_facts.benches = full_facts.benches[:1]  # the real x86-test bench only
    tables = _tables(bench_section(full_facts, "en", set()))
    for batch in raw["settings"]["batch_sizes"]:
        shown = _column(tables[f"Latency at batch {batch}: p50 / p99 µs (ratio of p50 to the floor)"])
        for file_name, model in raw["models"].items():
            stats = model["latency"][str(batch)]
            assert shown[_label(full_facts, file_name)] == (f"{stats['p50_us']:,.1f} / {stats['p99_us']:,.1f} "
                                                f"(×{stats['ratio_to_floor']:.2f})"), (file_name, batch)
        floor = min(f["latency"][str(batch)]["p50_us"] for f in raw["floors"].values())
        assert shown["floor (empty call)"] == f"{floor:,.1f}"
    throughput = _column(tables["Throughput at batch 32, rows/s (batch / p50 latency)"])
    cold = _column(tables["Cold start: session creation / first inference, ms"])
    memory = _column(tables["Peak memory (measured peak RSS of a fresh process), MB"])
    macs = _column(tables["MACs per sample (counted from the ONNX graph)"])
    for file_name, model in raw["models"].items():
        label = _label(full_facts, file_name)
        assert throughput[label] == f"{model['latency']['32']['throughput_rows_per_s']:,.0f}"
        assert cold[label] == (f"{model['cold_start']['session_creation_ms']:,.2f} / "
                               f"{model['cold_start']['first_inference_ms']:,.2f}")
        assert memory[label] == f"{model['memory']['peak_mb']:,.2f} (+{model['memory']['increase_mb']:,.2f})"
        assert macs[label] == f"{model['cost']['macs']:,} MACs / {model['cost']['flops']:,} FLOPs" \
            if "TreeEnsembleRegressor" not in model["cost"]["op_counts"] else \
            "n/a — trees compare, they do not multiply"
    machine = raw["machine"]
    assert tables["Targets"].rows == [[raw["target"], machine["arch"], machine["cpu_model"],
                                       f"{machine['cores']:,}", machine["onnxruntime"], "no"]]


def test_export_section_missing_names_command(facts):
    (note,) = export_section(facts, "en", set())
    assert isinstance(note, Note) and f"kdedge export {facts.run.path} --quantize all" in note.text


def test_bench_section_one_column_per_target_marks_emulated(full_facts):
    blocks = bench_section(full_facts, "en", {"latency_distribution", "accuracy_vs_cost"})
    latency = next(b for b in blocks if isinstance(b, Table) and "batch 1:" in (b.title or ""))
    assert latency.headers == ["Model", "x86-test", "arm64-emulated (emulated, not a performance figure)"]
    x86, arm = full_facts.benches
    student = next(row for row in latency.rows if row[0] == STUDENT)
    p50 = x86.models["student"].latency["1"].p50_us
    assert student[1].startswith(f"{p50:,.1f} / ") and student[2].startswith(f"{2 * p50:,.1f} / ")
    text = render_markdown(blocks)
    assert "not performance figures" in text and "plots/latency_distribution.png" in text
    assert "x86-test was measured with --quick" in text  # the session bench is a quick one
    assert "FLOPS" not in text


@pytest.mark.parametrize("lang, note", [
    ("en", "busy was overloaded while it was benched: 1-minute load average 6.20 at the start and "
           "5.10 at the end, on 2 usable cores; the hypervisor stole up to 4.0% of the CPU time. "
           "Other work on the machine inflated its timings below"),
    ("zh", "busy 在基准测试期间负载过高：1 分钟负载均值开始时为 6.20，结束时为 5.10，可用核数 2；"
           "虚拟机管理程序占用了最多 4.0% 的 CPU 时间。机器上的其他任务抬高了下面的计时")])
def test_bench_section_overloaded_bench_noted_before_its_tables(full_facts, edited_bench, tmp_path,
                                                                lang, note):
    busy = read_bench(edited_bench(tmp_path / "busy.json", overloaded=True))
    calm = read_bench(edited_bench(tmp_path / "calm.json", overloaded=False))
    full_facts.benches = [calm, busy]
    blocks = bench_section(full_facts, lang, {"latency_distribution"})
    notes = [i for i, b in enumerate(blocks) if isinstance(b, Note) and note in b.text]
    first_latency = next(i for i, b in enumerate(blocks) if isinstance(b, Table)
                         and "p50 / p99" in (b.title or ""))
    assert len(notes) == 1 and notes[0] < first_latency  # one note, above the latency tables
    assert not any(b.text.startswith("calm") for b in blocks if isinstance(b, Note) and "--quick" not in b.text)


def test_bench_section_failed_model_shows_error(full_facts):
    model = full_facts.benches[0].record.models["student.int8-static.onnx"]
    model.error = "onnxruntime cannot run it"
    tables = _tables(bench_section(full_facts, "en", set()))
    assert all(_column(t)["Student (KD), int8-static graph"] == "error" for title, t in tables.items()
               if title != "Targets")


def test_bench_section_marks_stale_cells(full_facts):
    full_facts.benches = full_facts.benches[:1]
    full_facts.benches[0].stale = ["student"]
    for lang, models in (("en", "(student)"), ("zh", "（student）")):
        blocks = bench_section(full_facts, lang, set())
        machines, *per_model = [b for b in blocks if isinstance(b, Table)]
        assert len(per_model) == 6  # latency at batch 1 and 32, throughput, cold start, memory, MACs
        student, teacher = (graph_label(lang, full_facts.metrics, m) for m in ("student", "teacher"))
        for table in per_model:
            cells = {row[0]: row[1] for row in table.rows}
            assert cells[student].endswith(" †") and "†" not in cells[teacher], table.title
        (note,) = [b.text for b in blocks if isinstance(b, Note) and b.text.startswith("†")]
        assert "x86-test" in note and models in note and "sha256" in note and "run.json" in note


def test_bench_section_fresh_bench_unmarked(full_facts):
    assert "†" not in render_markdown(bench_section(full_facts, "en", set()))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_bench_section_missing_names_command(facts, lang):
    text = render_markdown(bench_section(facts, lang, set()))
    assert f"`kdedge bench {facts.run.path}`" in text

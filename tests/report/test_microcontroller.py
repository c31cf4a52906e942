"""Tests of kdedge/report/microcontroller.py: the C student's part, on the real session run (its
export ran with --c where gcc is installed, and its quick bench timed the C student).

The numbers are checked against export.json and the bench JSON read as plain JSON (by their keys,
not through kdedge.contract).
"""

from __future__ import annotations

import pytest

from kdedge.report.conclusions import conclusions
from kdedge.report.microcontroller import c_student_findings, c_student_part
from kdedge.report.render import Note, Para, Table, render_markdown
from kdedge.report.sections import build_document
from kdedge.rundir import read_json


@pytest.fixture()
def c_facts(full_facts):
    """Facts of the session run (x86-test bench and the emulated arm64 one) with a C student."""
    if full_facts.export.c_student is None:
        pytest.skip("the session run has no C student (no gcc where the tests ran)")
    return full_facts


def _tables(blocks) -> list[Table]:
    return [block for block in blocks if isinstance(block, Table)]


def test_c_part_numbers_equal_export_json_and_bench_json(c_facts, full_run, x86_bench):
    c = read_json(full_run / "export.json")["c_student"]
    timing = read_json(x86_bench)["c_student"]
    blocks = c_student_part(c_facts, "en")
    assert blocks[0].text == "Microcontroller-class deployment: the student as C"
    sizes, timed = _tables(blocks)
    cells = {row[0]: row[1] for row in sizes.rows}
    assert cells["Code + weights, bytes (`size` of the -O2 object)"] == (
        f"{c['code_weights_bytes']:,} (text {c['text_bytes']:,} + data {c['data_bytes']:,} + bss "
        f"{c['bss_bytes']:,}; {4 * c['params']:,} of them float32 weights)")
    assert cells["Stack, bytes (-fstack-usage of kdedge_predict)"] == f"{c['stack_bytes']:,} (static)"
    parity = c["parity"]
    assert cells[f"Parity with onnxruntime (native gcc, {parity['rows']:,} test rows, batch 1)"] == (
        f"max |Δp| {parity['max_abs_diff']:.1e} (tolerance 1e-05), labels identical: yes → passed")
    assert timed.headers == ["Quantity", "x86-test",
                             "arm64-emulated (emulated, not a performance figure)"]
    shown = {row[0]: row[1] for row in timed.rows}
    assert shown["C: ns per call, median of blocks (fastest–slowest)"] == (
        f"{timing['ns_per_call_p50']:,.1f} ({timing['ns_per_call_min']:,.1f}–"
        f"{timing['ns_per_call_max']:,.1f})")
    assert shown["onnxruntime floor (empty graph, same interface): ns per call, p50"] == \
        f"{round(timing['floor_p50_ns']):,}"
    assert shown["C / onnxruntime floor"] == f"{timing['ratio_to_floor']:.4f}×"
    assert shown["ns per multiply-accumulate"] == f"{timing['ns_per_mac']:.3f} ({timing['macs']:,} MACs)"
    sentence = blocks[-1].text
    assert isinstance(blocks[-1], Para) and sentence == c_student_findings(c_facts, "en")[0]
    assert sentence == (
        f"The C student runs in {timing['ns_per_call_p50']:,.1f} ns per call on x86-test, "
        f"{timing['ratio_to_floor']:.4f}× the onnxruntime floor ({round(timing['floor_p50_ns']):,} ns) "
        f"and {timing['ns_per_mac']:.3f} ns per multiply-accumulate, in {c['code_weights_bytes']:,} "
        f"bytes of code and weights and {c['stack_bytes']:,} bytes of stack; on "
        f"{parity['rows']:,} test rows its outputs match onnxruntime's within "
        f"{parity['max_abs_diff']:.1e}, with identical labels.")


def test_c_part_zh_en_same_numbers_and_in_the_conclusions(c_facts, numbers):
    zh, en = (render_markdown(c_student_part(c_facts, lang)) for lang in ("zh", "en"))
    assert "微控制器级部署" in zh and zh != en
    assert len(numbers(en)) > 20 and sorted(numbers(zh)) == sorted(numbers(en))
    for lang in ("zh", "en"):
        assert c_student_findings(c_facts, lang)[0] in conclusions(c_facts, lang)


def test_c_part_in_the_exported_runs_report(full_report, c_facts):
    text = (full_report / "report.md").read_text(encoding="utf-8")
    assert "### 微控制器级部署：C 语言学生模型" in text and "C 语言学生模型在 x86-test 上每次调用" in text


@pytest.mark.parametrize("lang, words", [("en", "No C student: this export ran without --c"),
                                         ("zh", "没有 C 语言学生模型：此次导出未使用 --c")])
def test_c_part_without_c_says_how_to_get_it(full_facts, numbers, lang, words):
    full_facts.export.c_student = None
    (heading, note) = c_student_part(full_facts, lang)
    flags = "--c --force --quantize int8,int8-static,fp16"
    assert isinstance(note, Note) and words in note.text and f"`{flags}`" in note.text
    assert "kdedge export" not in note.text  # that command is the report's cue for "not exported"
    assert c_student_findings(full_facts, lang) == []
    zh, en = (render_markdown(build_document(full_facts, lang=language, plots=set()))
              for language in ("zh", "en"))
    assert sorted(numbers(zh)) == sorted(numbers(en))


def test_c_part_before_export_is_empty(facts):
    assert c_student_part(facts, "en") == [] and c_student_findings(facts, "en") == []


def test_c_part_bench_without_gcc_says_why(c_facts):
    c_facts.benches = c_facts.benches[:1]
    c_facts.benches[0].record.c_student = None
    c_facts.benches[0].record.c_student_error = "gcc, size not found on PATH (native gcc)"
    blocks = c_student_part(c_facts, "en")
    assert len(_tables(blocks)) == 1  # sizes only: nothing timed
    notes = [b.text for b in blocks if isinstance(b, Note)]
    assert notes == ["x86-test: the C student was not timed: gcc, size not found on PATH "
                     "(native gcc)"]
    assert blocks[-1].text.startswith("The C student takes ")  # bytes, stack and parity only


def test_c_part_bench_before_c_export_and_no_bench(c_facts):
    c_facts.benches[0].record.c_student = None
    blocks = c_student_part(c_facts, "en")
    assert [b.text for b in blocks if isinstance(b, Note)] == [
        "x86-test: no C timing, the bench found no c/ folder (it ran before the export with --c, "
        "or c/ was not copied to the device); bench again with --force."]
    # the emulated bench alone times it: shown, but no speed conclusion from a translator
    assert _tables(blocks)[1].headers[1].startswith("arm64-emulated")
    assert blocks[-1].text.startswith("The C student takes ")
    c_facts.benches, c_facts.missing["bench"] = [], "kdedge bench RUN"
    notes = [b.text for b in c_student_part(c_facts, "en") if isinstance(b, Note)]
    assert notes == ["Not timed yet: `kdedge bench RUN` times the C student beside onnxruntime "
                     "(it needs gcc)."]


def test_c_part_marks_a_stale_student_and_draws_no_conclusion_from_it(c_facts):
    c_facts.benches = c_facts.benches[:1]
    c_facts.benches[0].stale = ["student"]
    blocks = c_student_part(c_facts, "en")
    assert all(row[1].endswith(" †") for row in _tables(blocks)[1].rows)
    assert blocks[-1].text.startswith("The C student takes ")

"""The report's microcontroller-class deployment part: the C student `kdedge export --c` wrote.

From export.json's `c_student`: the files, code + weights bytes (`size` of the -O2 object), stack
bytes (`-fstack-usage`) and the parity gate against onnxruntime on the test split. From each bench
JSON's `c_student`: the C student timed in C at batch 1 beside onnxruntime's floor, as ns per call,
a ratio to the floor and ns per multiply-accumulate (one column per target). One conclusion
sentence, also listed with the report's conclusions. An export without --c gets the command that
adds the C student; a bench that could not time it says why.
"""

from __future__ import annotations

from kdedge.contract import CBench, CStudent
from kdedge.report.collect import Bench, Facts
from kdedge.report.deploy import target_header
from kdedge.report.render import Heading, Note, Para, Table
from kdedge.report.text import finding, fmt_float, fmt_int, tr

C_FLAGS = "--c --force{quantize}"


def c_flags(facts: Facts) -> str:
    """The export flags that add the C student and keep the export's variants. (The note names
    flags, not a `kdedge export` command: the report suggests that command only for a run not
    exported yet.)"""
    variants = facts.export.quantize if facts.export is not None else []
    return C_FLAGS.format(quantize=f" --quantize {','.join(variants)}" if variants else "")


def c_student_part(facts: Facts, lang: str) -> list:
    """The sub-section (after the ONNX export table); nothing before an export."""
    if facts.export is None:
        return []
    c = facts.export.c_student
    blocks = [Heading(tr(lang, "c_title"), 3)]
    if c is None:
        return blocks + [Note(tr(lang, "c_missing", flags=c_flags(facts)))]
    blocks += [Para(tr(lang, "c_files", header=c.header, source=c.source, onnx=c.onnx,
                       entry=c.entry_point, k=c.n_features, n=c.n_classes)),
               Table([tr(lang, "h_quantity"), tr(lang, "c_h_value")], _build_rows(c, lang))]
    timed = [bench for bench in facts.benches if bench.record.c_student is not None]
    if timed:
        blocks.append(Table([tr(lang, "h_quantity")] + [target_header(b, lang) for b in timed],
                            _timing_rows(timed, lang), title=tr(lang, "c_timing")))
    blocks += _untimed_notes(facts, lang)
    return blocks + [Para(sentence) for sentence in c_student_findings(facts, lang)]


def _build_rows(c: CStudent, lang: str) -> list[list[str]]:
    """What export measured: bytes, stack, the gate, the compiler, the translated ops."""
    parity = c.parity
    return [
        [tr(lang, "c_r_code_weights"),
         tr(lang, "c_code_weights_cell", b=fmt_int(c.code_weights_bytes), t=fmt_int(c.text_bytes),
            d=fmt_int(c.data_bytes), s=fmt_int(c.bss_bytes), w=fmt_int(4 * c.params))],
        [tr(lang, "c_r_stack", entry=c.entry_point),
         f"{fmt_int(c.stack_bytes)} ({c.stack_qualifier})"],
        [tr(lang, "c_r_parity", platform=parity.platform, n=fmt_int(parity.rows)),
         tr(lang, "c_parity_cell", d=f"{parity.max_abs_diff:.1e}", tol=f"{parity.tolerance:g}",
            same=tr(lang, "yes" if parity.labels_identical else "no"),
            verdict=tr(lang, "passed" if parity.passed else "failed"))],
        [tr(lang, "c_r_compiler"), f"{c.compiler}; {' '.join(c.flags)}"],
        [tr(lang, "c_r_ops"), ", ".join(f"{op} ×{n}" if n > 1 else op for op, n in c.ops.items())],
    ]


def _timing_rows(benches: list[Bench], lang: str) -> list[list[str]]:
    """One row per quantity, one column per bench that timed the C student ("†": the bench
    measured a student.onnx other than the one export recorded)."""
    rows = [
        ("c_r_ns", lambda t: f"{fmt_float(t.ns_per_call_p50)} ({fmt_float(t.ns_per_call_min)}–"
                             f"{fmt_float(t.ns_per_call_max)})"),
        ("c_r_calls", lambda t: f"{fmt_int(t.calls_per_block)} × {t.blocks}"),
        ("c_r_floor", lambda t: fmt_int(t.floor_p50_ns)),
        ("c_r_onnxruntime", lambda t: fmt_int(t.onnxruntime_p50_ns)),
        ("c_r_ratio_floor", lambda t: f"{t.ratio_to_floor:.4f}×"),
        ("c_r_ratio_onnxruntime", lambda t: f"{t.ratio_to_onnxruntime:.4f}×"),
        ("c_r_ns_per_mac", lambda t: f"{t.ns_per_mac:.3f} ({fmt_int(t.macs)} MACs)"),
    ]
    return [[tr(lang, key)] + [cell(b.record.c_student) + (" †" if "student" in b.stale else "")
                               for b in benches] for key, cell in rows]


def _untimed_notes(facts: Facts, lang: str) -> list[Note]:
    """Why a bench has no C timing: its error, or no c/ where it ran; no bench at all."""
    if not facts.benches:
        return [Note(tr(lang, "c_needs_bench", cmd=facts.missing.get("bench", "kdedge bench RUN")))]
    notes = []
    for bench in (b for b in facts.benches if b.record.c_student is None):
        error = bench.record.c_student_error
        notes.append(Note(tr(lang, "c_not_timed", target=bench.target, why=error) if error
                          else tr(lang, "c_not_benched", target=bench.target)))
    return notes


def _reference(facts: Facts) -> tuple[Bench, CBench] | None:
    """The first real (not emulated) bench whose C timing is of the exported student."""
    for bench in facts.benches:
        usable = not bench.emulated and "student" not in bench.stale
        if bench.record.c_student is not None and usable:
            return bench, bench.record.c_student
    return None


def c_student_findings(facts: Facts, lang: str) -> list[str]:
    """The conclusion on the C student: its cost in C against onnxruntime's floor, its bytes and
    stack, and its parity; without a trustworthy timing, the bytes, stack and parity only."""
    c = facts.export.c_student if facts.export is not None else None
    if c is None:
        return []
    values = dict(b=fmt_int(c.code_weights_bytes), s=fmt_int(c.stack_bytes),
                  n=fmt_int(c.parity.rows), d=f"{c.parity.max_abs_diff:.1e}")
    parity = finding(lang, "c_parity" if c.parity.passed else "c_parity_failed", **values)
    found = _reference(facts)
    if found is None:
        return [finding(lang, "c_untimed", parity=parity, **values)]
    bench, timing = found
    return [finding(lang, "c_student", target=bench.target, ns=fmt_float(timing.ns_per_call_p50),
                 r=f"{timing.ratio_to_floor:.4f}", f=fmt_int(timing.floor_p50_ns),
                 m=f"{timing.ns_per_mac:.3f}", parity=parity, **values)]

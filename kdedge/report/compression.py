"""The section "Compression": teacher against student in parameters, compute, bytes, measured
latency and memory, and the features each reads.

An MLP teacher is compared in MACs and FLOPs as well. A gradient-boosted tree teacher
(`--teacher gbdt`) is not: it compares a feature with a threshold at each node on a path and
multiplies nothing, so its MACs are 0 by definition (metrics.json) and a MACs ratio against it
would say nothing; its cells read "n/a", its parameter count is its tree nodes, and the measured
batch-1 latency and the ONNX file bytes compare the two instead.
"""

from __future__ import annotations

from kdedge.report import deploy
from kdedge.report.collect import Facts, p50_us, reference_bench
from kdedge.report.render import Bullets, Heading, Note, Table
from kdedge.report.text import (fmt_change, fmt_float, fmt_int, fmt_pct, fmt_ratio, tr)


def _row(label: str, teacher, student, fmt=fmt_int) -> list[str]:
    return [label, fmt(teacher), fmt(student), fmt_change(student, teacher), fmt_ratio(teacher, student)]


def _measured(facts: Facts) -> dict:
    """What export and the reference bench measured of both: {latency: (target, t, s),
    file_bytes: (t, s), peaks: (target, t, s)}, each None where not measured."""
    bench = reference_bench(facts)
    exported = facts.export.models if facts.export else {}
    times = [p50_us(bench, name) for name in ("teacher", "student")]
    peaks = [deploy.bench_value(bench, name, "peak_mb") for name in ("teacher", "student")]
    return {
        "latency": None if None in times else (bench.target, *times),
        "file_bytes": (exported["teacher"].file_bytes, exported["student"].file_bytes)
        if "teacher" in exported and "student" in exported else None,
        "peaks": None if None in peaks else (bench.target, *peaks),
    }


def _cost_summary(facts: Facts, lang: str) -> list[str]:
    """Parameters and compute in one line each; a tree teacher's nodes and no MACs ratio."""
    t, s = facts.metrics.teacher, facts.metrics.student
    if facts.gbdt_teacher:
        return [tr(lang, "sum_params_trees", t=fmt_int(t.params), s=fmt_int(s.params),
                   ratio=fmt_ratio(t.params, s.params)),
                tr(lang, "sum_compute_trees", s=fmt_int(s.macs), sf=fmt_int(s.flops))]
    return [tr(lang, "sum_params", t=fmt_int(t.params), s=fmt_int(s.params),
               chg=fmt_change(s.params, t.params), ratio=fmt_ratio(t.params, s.params)),
            tr(lang, "sum_compute", t=fmt_int(t.macs), s=fmt_int(s.macs),
               chg=fmt_change(s.macs, t.macs), tf=fmt_int(t.flops), sf=fmt_int(s.flops))]


def _summary(facts: Facts, lang: str, measured: dict) -> list[str]:
    """Cost, then the measured latency and file bytes, then memory: the measured peak RSS when
    a bench has it, else the weight bytes and the command that measures memory."""
    summary = _cost_summary(facts, lang)
    if measured["latency"] is not None:
        target, t, s = measured["latency"]
        summary.append(tr(lang, "sum_latency", target=target, t=fmt_float(t), s=fmt_float(s),
                          ratio=fmt_ratio(t, s)))
    if measured["file_bytes"] is not None:
        t, s = measured["file_bytes"]
        summary.append(tr(lang, "sum_file_bytes", t=fmt_int(t), s=fmt_int(s), ratio=fmt_ratio(t, s)))
    if measured["peaks"] is not None:
        target, t, s = measured["peaks"]
        return summary + [tr(lang, "sum_memory", target=target, t=fmt_float(t, 2),
                             s=fmt_float(s, 2))]
    weights = facts.metrics.teacher.weight_bytes, facts.metrics.student.weight_bytes
    return summary + [tr(lang, "sum_memory_missing", cmd=facts.missing.get("bench", "kdedge bench RUN"),
                         t=fmt_int(weights[0]), s=fmt_int(weights[1]))]


def _static_rows(facts: Facts, lang: str) -> list[list[str]]:
    """Parameters (a tree teacher's nodes), MACs, FLOPs and weight bytes."""
    t, s = facts.metrics.teacher, facts.metrics.student
    if facts.gbdt_teacher:
        na = tr(lang, "macs_na")
        return [_row(tr(lang, "q_params_trees"), t.params, s.params),
                [tr(lang, "q_macs"), na, fmt_int(s.macs), "—", "—"],
                [tr(lang, "q_flops"), na, fmt_int(s.flops), "—", "—"],
                _row(tr(lang, "q_weight_bytes_trees"), t.weight_bytes, s.weight_bytes)]
    return [_row(tr(lang, "q_params"), t.params, s.params),
            _row(tr(lang, "q_macs"), t.macs, s.macs),
            _row(tr(lang, "q_flops"), t.flops, s.flops),
            _row(tr(lang, "q_weight_bytes"), t.weight_bytes, s.weight_bytes)]


def _rows(facts: Facts, lang: str, measured: dict) -> list[list[str]]:
    """Teacher vs student: static cost, ONNX bytes, batch-1 latency, peak RSS, inputs."""
    rows = _static_rows(facts, lang)
    if measured["file_bytes"] is not None:
        rows.append(_row(tr(lang, "q_onnx_bytes"), *measured["file_bytes"]))
    if measured["latency"] is not None:
        target, t, s = measured["latency"]
        rows.append(_row(tr(lang, "q_latency", target=target), t, s, fmt_float))
    if measured["peaks"] is not None:
        target, t, s = measured["peaks"]
        bench = reference_bench(facts)
        rows.append(_row(tr(lang, "q_peak", target=target), t, s, lambda v: fmt_float(v, 2)))
        rows.append([tr(lang, "q_increase", target=target),
                     fmt_float(deploy.bench_value(bench, "teacher", "increase_mb"), 2),
                     fmt_float(deploy.bench_value(bench, "student", "increase_mb"), 2), "—", "—"])
    return rows + [_row(tr(lang, "q_input_dim"), facts.n, facts.k),
                   _row(tr(lang, "q_usage"), 1.0, facts.k / facts.n, fmt_pct)]


def compression_section(facts: Facts, lang: str, plots: set[str]) -> list:
    """The whole section, in `lang` (it has no plots)."""
    measured = _measured(facts)
    headers = [tr(lang, h) for h in ("h_quantity", "h_teacher", "h_student", "h_change", "h_ratio")]
    usage_rows = [[name, f"{dim} / {facts.n}", fmt_pct(dim / facts.n), str(dim)]
                  for name, dim in (("teacher", facts.n), ("student", facts.k),
                                    ("student_no_kd", facts.k))]
    usage = Table([tr(lang, h) for h in ("h_model", "h_features_used", "h_usage", "h_input_dim")],
                  usage_rows, title=tr(lang, "feature_usage"))
    blocks = [Heading(tr(lang, "summary"), 3), Bullets(_summary(facts, lang, measured)),
              Heading(tr(lang, "details"), 3), Table(headers, _rows(facts, lang, measured)), usage]
    if facts.gbdt_teacher:
        blocks.append(Note(tr(lang, "trees_note")))
    bench = reference_bench(facts)
    if bench is not None and bench.emulated:  # the measured rows came from an emulated machine
        blocks.append(Note(tr(lang, "emulated_note")))
    return blocks

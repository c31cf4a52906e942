"""The export and bench sections: the ONNX variant table, and per-target latency, throughput,
cold start, memory and MACs tables (one column per bench JSON), with their two plots.

A stage that has not run gets a note naming the command that produces its output. A cell of a
model the bench measured from a file other than the one export recorded (`Bench.stale`) is marked
"†", with a note under the tables.
"""

from __future__ import annotations

from kdedge.report.collect import Bench, Facts, model_label
from kdedge.report.render import Image, Note, Para, Table
from kdedge.report.text import caption, fmt_float, fmt_int, fmt_metric, tr


def bench_value(bench: Bench | None, name: str, attr: str):
    """A model's attribute on one bench, or None when the bench or the model is missing/failed."""
    model = bench.models.get(name) if bench else None
    return None if model is None or model.error else getattr(model, attr)


def _order(name: str) -> tuple:
    base = name.partition(".")[0]
    return ({"teacher": 0, "student": 1, "student_no_kd": 2}.get(base, 3), name)


def _missing(facts: Facts, lang: str, stage: str) -> Note:
    return Note(tr(lang, "missing_stage", what=tr(lang, f"what_{stage}"), cmd=facts.missing[stage]))


def _parity(entry: dict, lang: str) -> str:
    parity = entry.get("parity")
    if isinstance(parity, dict):
        status = tr(lang, "passed" if parity.get("passed") else "failed")
        worst = max((v for v in (parity.get("max_abs_diff_batch1"), parity.get("max_abs_diff_full_batch"))
                     if v is not None), default=None)
        return status if worst is None else f"{status} ({worst:.1e})"
    diff = entry.get("max_abs_diff_vs_fp32")
    return "—" if diff is None else f"vs fp32 {diff:.1e}"


def export_section(facts: Facts, lang: str, plots: set[str]) -> list:
    if facts.export is None:
        return [_missing(facts, lang, "export")]
    rows = []
    for name in sorted(facts.export["models"], key=_order):
        entry = facts.export["models"][name]
        verdict = entry.get("verdict")
        rows.append([model_label(name), str(entry.get("variant", "fp32")), fmt_int(entry.get("file_bytes")),
                     _parity(entry, lang), fmt_metric((entry.get("metrics") or {}).get("accuracy")),
                     fmt_metric(entry.get("agreement_teacher")), fmt_metric(entry.get("agreement_fp32")),
                     tr(lang, verdict) if verdict in ("accepted", "rejected") else "—",
                     str(entry.get("reason") or "—")])
    headers = [tr(lang, h) for h in ("h_model", "h_variant", "h_file_bytes", "h_parity", "h_accuracy",
                                     "h_agree_teacher", "h_agree_fp32", "h_verdict", "h_reason")]
    blocks = [Table(headers, rows)]
    if facts.export.get("opset") is not None:
        blocks.insert(0, Para(tr(lang, "export_opset", opset=facts.export["opset"])))
    return blocks


def _target_header(bench: Bench, lang: str) -> str:
    return tr(lang, "emulated_mark", target=bench.target) if bench.emulated else bench.target


def _per_target(facts: Facts, lang: str, title: str, cell) -> Table:
    """Rows: every model any bench measured; columns: one per target; `cell(bench, model)`."""
    names = sorted({n for b in facts.benches for n in b.models}, key=_order)
    rows = []
    for name in names:
        cells = []
        for bench in facts.benches:
            model = bench.models.get(name)
            if model is None:
                cells.append("—")
            elif model.error:
                cells.append(tr(lang, "error_cell"))
            else:
                cells.append(cell(bench, model) + (" †" if name in bench.stale else ""))
        rows.append([model_label(name)] + cells)
    return Table([tr(lang, "h_model")] + [_target_header(b, lang) for b in facts.benches], rows, title=title)


def _latency_cell(batch: int):
    def cell(bench: Bench, model) -> str:
        stats = model.latency.get(batch)
        if stats is None:
            return "—"
        ratio = stats.get("ratio_to_floor")
        text = f"{stats['p50']:,.1f} / {stats['p99']:,.1f}"
        return text if ratio is None else f"{text} (×{ratio:.2f})"
    return cell


def bench_section(facts: Facts, lang: str, plots: set[str]) -> list:
    if not facts.benches:
        return [_missing(facts, lang, "bench"),
                Note(tr(lang, "plot_needs_bench", cmd=facts.missing["bench"]))]
    machines = Table([tr(lang, h) for h in ("h_target", "h_arch", "h_cpu", "h_cores", "h_ort", "h_emulated")],
                     [[b.target, str(b.machine.get("arch", "—")),
                       str(b.machine.get("cpu_model") or b.machine.get("cpu") or "—"),
                       str(b.machine.get("cores", "—")), str(b.machine.get("onnxruntime", "—")),
                       tr(lang, "yes" if b.emulated else "no")] for b in facts.benches],
                     title=tr(lang, "machines"))
    blocks = [machines]
    if any(b.emulated for b in facts.benches):
        blocks.append(Note(tr(lang, "emulated_note")))
    blocks += [Note(tr(lang, "quick_note", target=b.target)) for b in facts.benches if b.quick]
    batches = sorted({batch for b in facts.benches for batch in b.batch_sizes})
    for batch in batches:
        table = _per_target(facts, lang, tr(lang, "latency_at", batch=batch), _latency_cell(batch))
        floors = [b.floor_p50_us.get(batch) for b in facts.benches]
        if any(f is not None for f in floors):
            table.rows.append([tr(lang, "floor_row")] + [fmt_float(f) for f in floors])
        blocks.append(table)
    largest = batches[-1] if batches else 1
    blocks.append(_per_target(
        facts, lang, tr(lang, "throughput_at", batch=largest),
        lambda b, m: fmt_float((m.latency.get(largest) or {}).get("throughput_rps"), 0)))
    blocks.append(_per_target(
        facts, lang, tr(lang, "cold_start"),
        lambda b, m: f"{fmt_float(m.session_ms, 2)} / {fmt_float(m.first_inference_ms, 2)}"))
    blocks.append(_per_target(facts, lang, tr(lang, "peak_memory"),
                              lambda b, m: f"{fmt_float(m.peak_mb, 2)} (+{fmt_float(m.increase_mb, 2)})"))
    blocks.append(_per_target(facts, lang, tr(lang, "macs_table"),
                              lambda b, m: f"{fmt_int(m.macs)} MACs / {fmt_int(m.flops)} FLOPs"))
    blocks += [Note(tr(lang, "stale_note", target=b.target,
                       models=", ".join(model_label(n) for n in b.stale)))
               for b in facts.benches if b.stale]
    blocks += [Image(name, caption(lang, name)) for name in ("latency_distribution", "accuracy_vs_cost")
               if name in plots]
    return blocks

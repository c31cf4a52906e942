"""The export and bench sections: the ONNX variant table, and per-target latency, throughput,
cold start, memory and MACs tables (one column per bench JSON), with their two plots.

A stage that has not run gets a note naming the command that produces its output. A cell of a
model the bench measured from a file other than the one export recorded (`Bench.stale`) is marked
"†", with a note under the tables.
"""

from __future__ import annotations

from kdedge.contract import BenchedModel, ExportedModel
from kdedge.report.collect import Bench, Facts, latency, model_label, usable
from kdedge.report.paired import graph_label
from kdedge.report.render import Image, Note, Para, Table
from kdedge.report.text import caption, fmt_float, fmt_int, fmt_metric, tr

BENCH_PLOTS = ("latency_distribution", "accuracy_vs_cost", "pareto")


def bench_value(bench: Bench | None, name: str, attr: str):
    """A model's memory reading `attr` (peak_mb, increase_mb) on one bench, or None when the
    bench or the model is missing, failed or has no reading."""
    model = usable(bench, name)
    return None if model is None or model.memory is None else getattr(model.memory, attr)


def _order(name: str) -> tuple:
    base = name.partition(".")[0]
    return ({"teacher": 0, "student": 1, "student_no_kd": 2}.get(base, 3), name)


def _missing(facts: Facts, lang: str, stage: str) -> Note:
    return Note(tr(lang, "missing_stage", what=tr(lang, f"what_{stage}"), cmd=facts.missing[stage]))


def _parity(entry: ExportedModel, lang: str) -> str:
    """fp32 graphs: the parity gate against the trained model (PyTorch, or scikit-learn for
    trees and baselines); variants: the largest gap to fp32."""
    if entry.parity is None:
        return f"vs fp32 {entry.max_abs_diff_vs_fp32:.1e}"
    parity = entry.parity
    worst = max(parity.max_abs_diff_batch1, parity.max_abs_diff_full_batch)
    return f"{tr(lang, 'passed' if parity.passed else 'failed')} ({worst:.1e})"


def export_rows(facts: Facts, lang: str) -> list[list[str]]:
    """One row per exported graph: label, variant, file bytes, parity, accuracy, agreement with
    teacher and fp32 graph, verdict, reason."""
    models = facts.export.models
    return [[graph_label(lang, facts.metrics, entry.model), entry.variant,
             fmt_int(entry.file_bytes), _parity(entry, lang),
             fmt_metric(entry.metrics.accuracy), fmt_metric(entry.agreement_teacher),
             fmt_metric(entry.agreement_fp32), tr(lang, entry.verdict), entry.reason or "—"]
            for name, entry in sorted(models.items(), key=lambda item: _order(item[0]))]


def export_section(facts: Facts, lang: str, plots: set[str]) -> list:
    if facts.export is None:
        return [_missing(facts, lang, "export")]
    headers = [tr(lang, h) for h in ("h_model", "h_variant", "h_file_bytes", "h_parity", "h_accuracy",
                                     "h_agree_teacher", "h_agree_fp32", "h_verdict", "h_reason")]
    return [Para(tr(lang, "export_opset", opset=facts.export.opset)),
            Table(headers, export_rows(facts, lang))]


def target_header(bench: Bench, lang: str) -> str:
    return tr(lang, "emulated_mark", target=bench.target) if bench.emulated else bench.target


def _per_target(facts: Facts, lang: str, title: str, cell) -> Table:
    """Rows: every model any bench measured; columns: one per target; `cell(model)` for a model
    measured without error."""
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
                cells.append(cell(model) + (" †" if name in bench.stale else ""))
        rows.append([graph_label(lang, facts.metrics, name)] + cells)
    return Table([tr(lang, "h_model")] + [target_header(b, lang) for b in facts.benches], rows, title=title)


def latency_cell(batch: int):
    """Cell maker: p50 / p99 µs at `batch`, with the ratio of p50 to the floor when measured."""
    def cell(model: BenchedModel) -> str:
        stats = latency(model, batch)
        if stats is None:
            return "—"
        text = f"{fmt_float(stats.p50_us)} / {fmt_float(stats.p99_us)}"
        return text if stats.ratio_to_floor is None else f"{text} (×{stats.ratio_to_floor:.2f})"
    return cell


def throughput_cell(batch: int):
    def cell(model: BenchedModel) -> str:
        stats = latency(model, batch)
        return fmt_float(None if stats is None else stats.throughput_rows_per_s, 0)
    return cell


def cold_start_cell(model: BenchedModel) -> str:
    cold = model.cold_start
    return "—" if cold is None else (f"{fmt_float(cold.session_creation_ms, 2)} / "
                                     f"{fmt_float(cold.first_inference_ms, 2)}")


def memory_cell(model: BenchedModel) -> str:
    memory = model.memory
    return "—" if memory is None else f"{fmt_float(memory.peak_mb, 2)} (+{fmt_float(memory.increase_mb, 2)})"


def cost_cell(lang: str):
    """Cell maker: MACs / FLOPs counted from the graph; a tree ensemble's are n/a (it compares,
    it does not multiply), with its node count."""
    def cell(model: BenchedModel) -> str:
        cost = model.cost
        if cost is None:
            return "—"
        if any(op.startswith("TreeEnsemble") for op in cost.op_counts):
            return tr(lang, "macs_na")
        return f"{fmt_int(cost.macs)} MACs / {fmt_int(cost.flops)} FLOPs"
    return cell


def load_values(bench: Bench, lang: str) -> dict[str, str]:
    """{start, end, cores, steal} of an overloaded bench, for the sentences that caveat it: the
    1-minute load average at its start and end ("—" where it could not be read), the usable
    cores it was compared with, and the largest CPU steal when the hypervisor took any."""
    readings = (bench.record.load_start, bench.record.load_end)
    one_minute = [fmt_float(r.load_average[0], 2) if r and r.load_average else "—"
                  for r in readings]
    cores = next((r.cores for r in readings if r and r.cores),
                 bench.machine.cores_usable or bench.machine.cores)
    steal = max((r.steal_percent for r in readings if r and r.steal_percent), default=0.0)
    return {"start": one_minute[0], "end": one_minute[1], "cores": fmt_int(cores),
            "steal": tr(lang, "load_steal", p=fmt_float(steal)) if steal > 0 else ""}


def _machines(facts: Facts, lang: str) -> list:
    """The targets table, the emulation, overload and --quick notes."""
    headers = [tr(lang, h) for h in ("h_target", "h_arch", "h_cpu", "h_cores", "h_ort", "h_emulated")]
    rows = [[b.target, b.machine.arch, b.machine.cpu_model, fmt_int(b.machine.cores),
             b.machine.onnxruntime, tr(lang, "yes" if b.emulated else "no")] for b in facts.benches]
    blocks = [Table(headers, rows, title=tr(lang, "machines"))]
    if any(b.emulated for b in facts.benches):
        blocks.append(Note(tr(lang, "emulated_note")))
    blocks += [Note(tr(lang, "overloaded_note", target=b.target, **load_values(b, lang)))
               for b in facts.benches if b.overloaded]
    return blocks + [Note(tr(lang, "quick_note", target=b.target)) for b in facts.benches if b.quick]


def _latency_tables(facts: Facts, lang: str) -> list[Table]:
    """One latency table per batch size any bench measured, with the floor row."""
    tables = []
    for batch in sorted({batch for b in facts.benches for batch in b.batch_sizes}):
        table = _per_target(facts, lang, tr(lang, "latency_at", batch=batch), latency_cell(batch))
        floors = [b.floor_p50_us(batch) for b in facts.benches]
        if any(f is not None for f in floors):
            table.rows.append([tr(lang, "floor_row")] + [fmt_float(f) for f in floors])
        tables.append(table)
    return tables


def bench_section(facts: Facts, lang: str, plots: set[str]) -> list:
    if not facts.benches:
        return [_missing(facts, lang, "bench"),
                Note(tr(lang, "plot_needs_bench", cmd=facts.missing["bench"]))]
    largest = max(batch for b in facts.benches for batch in b.batch_sizes)
    blocks = _machines(facts, lang) + _latency_tables(facts, lang) + [
        _per_target(facts, lang, tr(lang, "throughput_at", batch=largest), throughput_cell(largest)),
        _per_target(facts, lang, tr(lang, "cold_start"), cold_start_cell),
        _per_target(facts, lang, tr(lang, "peak_memory"), memory_cell),
        _per_target(facts, lang, tr(lang, "macs_table"), cost_cell(lang)),
    ]
    blocks += [Note(tr(lang, "stale_note", target=b.target,
                       models=", ".join(model_label(n) for n in b.stale)))
               for b in facts.benches if b.stale]
    return blocks + [Image(name, caption(lang, name)) for name in BENCH_PLOTS if name in plots]

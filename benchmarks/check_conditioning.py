"""Graphs that survive reduced precision and other runtimes: the centring Sub, measured.

    python benchmarks/check_conditioning.py [--work DIR] [--write FILE] [--no-latency]

1. Writes a data set with large feature offsets (numpy, seed 0, 4,000 rows): `big` = 1000 +
   0.01·z1, `huge` = 5e4 + 3·z2, `c`..`f` standard normal, `label` = [z1 − z2 + 0.7·z3 + 0.4·noise
   > 0], so the label lives in the small variations of the offset features. Distils it and
   exports it with `--quantize all` (the graph kdedge ships: the inputs centred by a Sub of the
   training mean, 1/scale folded into the first Gemm).
2. Rebuilds the earlier form from the same weights: the centre folded into the first bias
   (b − W'·mean, a single Gemm on raw inputs; git 79b1d43), its fp16 variant with the earlier
   converter call and its int8-static variant with the same quantizer.
3. For both forms, against the fp32 student (PyTorch, the parity gate's reference), on the test
   split: the fp32 graph's parity margin; agreement and max |Δp| of the fp16 graph, of bf16
   arithmetic emulated with onnxruntime (`kdedge.runtime.second_runtime.bf16_emulated`: matrix
   products rounded as OpenVINO's bf16 CPU path does; and with the raw input rows rounded too,
   the literal "weights and inputs rounded" emulation), of OpenVINO with its default settings and
   of tract; the int8-static variant's agreement and verdict (the earlier accuracy-only rule and
   the current rules of `kdedge.export.stage.judge`).
4. On the default data: batch-1 p50 of both forms (fp32 and fp16) as a ratio to onnxruntime's
   floor graph, interleaved in one measurement as `kdedge bench` does
   (`kdedge.runtime.latency.measure_interleaved`), three rounds.

Exit 1 if a requirement fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported (distill)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from results import Check, finish, requirement_table  # noqa: E402

from kdedge import distill  # noqa: E402
from kdedge.artifacts import load_run  # noqa: E402
from kdedge.contract import EXPORT_JSON, ExportSummary, onnx_file, read_record  # noqa: E402
from kdedge.export import export_run  # noqa: E402
from kdedge.export.onnx_export import export_onnx, folded_module  # noqa: E402
from kdedge.export.parity import PARITY_TOLERANCE, make_session, onnx_outputs  # noqa: E402
from kdedge.export.quantize import quantize_int8_static  # noqa: E402
from kdedge.export.stage import judge  # noqa: E402
from kdedge.fold import fold_model  # noqa: E402
from kdedge.runtime import second_runtime  # noqa: E402
from kdedge.verdicts import bootstrap_weights, paired_accuracy  # noqa: E402

ROWS, SEED = 4000, 0
MIN_AGREEMENT = 0.99
READING = [
    "Both forms compute the same function from the same weights; the earlier one folds the "
    "training mean into the first bias (b − W'·mean, one Gemm on raw values), the shipped one "
    "subtracts it in a Sub node first. Agreement and max |Δp| are against the fp32 student "
    "(PyTorch, the parity gate's reference) on the test split. \"bf16 emulated (matrix products)\" "
    "rounds what a bf16 CPU runtime rounds (Gemm weights, bias, inputs, outputs); \"raw inputs "
    "rounded too\" also rounds the feature rows before the graph (1000.0013 is 1000 in bf16), which "
    "no graph survives and no runtime does to a graph whose first node is the float32 Sub.",
]


def write_offsets_csv(path: Path) -> Path:
    """The large-offset set (see the module docstring)."""
    rng = np.random.default_rng(SEED)
    z = rng.standard_normal((ROWS, 6))
    label = (z[:, 0] - z[:, 1] + 0.7 * z[:, 2] + 0.4 * rng.standard_normal(ROWS) > 0)
    columns = np.c_[1000 + 0.01 * z[:, 0], 5e4 + 3 * z[:, 1], z[:, 2:]]
    header = "big,huge,c,d,e,f,label"
    np.savetxt(path, np.c_[columns, label], delimiter=",", header=header, comments="",
               fmt=["%.6f"] * 6 + ["%d"])
    return path


def earlier_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """The fp16 variant as it was made before: the whole graph converted, Gemm kept."""
    import onnx_ir
    from onnxruntime.transformers.float16 import convert_float_to_float16

    graph = onnx_ir.from_proto(convert_float_to_float16(model, keep_io_types=True))
    graph.graph.sort()
    return onnx_ir.to_proto(graph)


def earlier_graphs(run_dir: Path, work: Path) -> dict[str, Path]:
    """fp32 student and teacher, fp16 and int8-static students of the earlier form, saved."""
    run = load_run(run_dir)
    paths = {}
    for name in ("teacher", "student"):
        # b' − W'·centre = b − W'·mean in float64, as the earlier fold computed it
        folded = fold_model(run.load_model(name), run.scaler(name)).centre_in_bias()
        paths[name] = work / f"earlier.{name}.onnx"
        onnx.save(export_onnx(folded_module(folded), n_features=folded.layers[0].weight.shape[1]),
                  paths[name])
    fp32 = onnx.load(paths["student"])
    paths["student.fp16"] = work / "earlier.student.fp16.onnx"
    onnx.save(earlier_fp16(fp32), paths["student.fp16"])
    calibration = run.input_rows("student", "X_calib")[:1024]
    paths["student.int8-static"] = work / "earlier.student.int8-static.onnx"
    onnx.save(quantize_int8_static(fp32, calibration=calibration), paths["student.int8-static"])
    return paths


def shipped_graphs(run_dir: Path) -> dict[str, Path]:
    return {stem: run_dir / onnx_file(*stem.split(".")) for stem in
            ("teacher", "student", "student.fp16", "student.int8-static")}


def compared(outputs: tuple[np.ndarray, np.ndarray], reference: np.ndarray) -> tuple[float, float]:
    """(agreement with the reference's labels, max |Δp|)."""
    probabilities, labels = outputs
    return (float(np.mean(np.asarray(labels) == reference.argmax(1))),
            float(np.max(np.abs(np.asarray(probabilities, np.float64) - reference))))


def runtime_or_note(runner, path: Path, rows: np.ndarray, reference: np.ndarray):
    """(agreement, max |Δp|) under a second runtime, or the reason it did not run."""
    try:
        outputs, _ = runner(path, rows)
    except ImportError as exc:
        return f"not installed ({exc.name})"
    except Exception as exc:  # a runtime refusing the graph is a finding
        return f"refused: {str(exc).splitlines()[0][:90]}"
    return compared(outputs, reference)


def measure_form(run_dir: Path, paths: dict[str, Path]) -> dict[str, object]:
    """Every figure of one graph form on the run's test split (see the module docstring)."""
    run = load_run(run_dir)
    figures: dict[str, object] = {}
    for name in ("teacher", "student"):
        rows = run.input_rows(name)
        reference = distill.probabilities(run.load_model(name), rows, run.scaler(name))
        session = make_session(onnx.load(paths[name]))
        worst = max(compared(onnx_outputs(session, rows, batch_size=size), reference)[1]
                    for size in (1, None))
        figures[f"{name} fp32 parity"] = worst
    rows = run.input_rows("student")
    reference = distill.probabilities(run.load_model("student"), rows, run.scaler("student"))
    fp16, fp32 = paths["student.fp16"], paths["student"]
    figures["fp16 (onnxruntime)"] = compared(
        onnx_outputs(make_session(onnx.load(fp16)), rows), reference)
    figures["bf16 emulated (matrix products)"] = runtime_or_note(
        second_runtime.run_bf16_emulated, fp32, rows, reference)
    figures["bf16 emulated, raw inputs rounded too"] = runtime_or_note(
        second_runtime.run_bf16_emulated, fp32, second_runtime.bf16_round(rows), reference)
    for runtime, runner in (("OpenVINO default", second_runtime.run_openvino),
                            ("tract", second_runtime.run_tract)):
        figures[f"{runtime}, fp32 graph"] = runtime_or_note(runner, fp32, rows, reference)
        figures[f"{runtime}, fp16 graph"] = runtime_or_note(runner, fp16, rows, reference)
    figures["int8-static (onnxruntime)"] = compared(
        onnx_outputs(make_session(onnx.load(paths["student.int8-static"])), rows), reference)
    return figures


def int8_static_verdicts(run_dir: Path, paths: dict[str, Path]) -> tuple[str, str]:
    """(the earlier accuracy-only verdict, the current verdict) of an int8-static graph,
    judged against the shipped fp32 student as export does."""
    run = load_run(run_dir)
    rows, y = run.input_rows("student"), np.asarray(run.split["y_test"])
    _, fp32 = onnx_outputs(make_session(onnx.load(run_dir / onnx_file("student"))), rows)
    _, variant = onnx_outputs(make_session(onnx.load(paths["student.int8-static"])), rows)
    accuracy, fp32_accuracy = float(np.mean(variant == y)), float(np.mean(fp32 == y))
    earlier = judge("int8-static", accuracy=accuracy, fp32_accuracy=fp32_accuracy,
                    reject_threshold=0.01)
    paired = paired_accuracy(y, fp32, variant, a="student", b="student.int8-static",
                             weights=bootstrap_weights(len(y), seed=run.manifest.seed))
    current = judge("int8-static", accuracy=accuracy, fp32_accuracy=fp32_accuracy,
                    reject_threshold=0.01, agreement_fp32=float(np.mean(variant == fp32)),
                    paired=paired)
    return _verdict(earlier), _verdict(current) + f" (paired: {paired.verdict})"


def openvino_precisions(path: Path) -> str:
    """How OpenVINO's default CPU settings run each node of a graph (its runtime model's
    layerType and runtimePrecision → output precision), Const/Reorder/Output nodes left out."""
    try:
        import openvino
    except ImportError:
        return "openvino not installed"
    compiled = openvino.Core().compile_model(str(path), "CPU")
    steps = []
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        kind = info["layerType"].astype(str)
        if kind not in ("Const", "Output", "Reorder"):
            steps.append(f"{kind} {info['runtimePrecision'].astype(str)}→"
                         f"{info['outputPrecisions'].astype(str)}")
    return ", ".join(steps)


def _verdict(result: tuple[str, str | None]) -> str:
    verdict, reason = result
    return verdict if reason is None else f"{verdict}: {reason.split('; kept')[0]}"


def _cell(value) -> str:
    if isinstance(value, tuple):
        return f"{value[0]:.4f} / {value[1]:.2g}"
    return f"{value:.2g}" if isinstance(value, float) else str(value)


def conditioning_table(earlier: dict, shipped: dict) -> list[str]:
    lines = ["| on the large-offset test split (800 rows) | earlier form (centre in the bias) | "
             "shipped form (centring Sub) |", "|---|---|---|"]
    for key in shipped:
        label = (f"{key}: max \\|Δp\\| vs PyTorch (gate {PARITY_TOLERANCE:g})" if "parity" in key
                 else f"{key}: agreement / max \\|Δp\\|")
        lines.append(f"| {label} | {_cell(earlier[key])} | {_cell(shipped[key])} |")
    return lines


def agreement_checks(earlier: dict, shipped: dict) -> list[Check]:
    checks: list[Check] = [(
        f"fp32 student parity vs PyTorch <= {PARITY_TOLERANCE / 10:g} (10x under the gate)",
        f"{shipped['student fp32 parity']:.2g} (earlier form {earlier['student fp32 parity']:.2g})",
        shipped["student fp32 parity"] <= PARITY_TOLERANCE / 10)]
    for key in ("fp16 (onnxruntime)", "bf16 emulated (matrix products)",
                "OpenVINO default, fp32 graph", "OpenVINO default, fp16 graph",
                "tract, fp32 graph", "tract, fp16 graph"):
        value, before = shipped[key], earlier[key]
        holds = isinstance(value, tuple) and value[0] >= MIN_AGREEMENT
        checks.append((f"{key}: agreement with fp32 >= {MIN_AGREEMENT} (earlier form: "
                       f"{_cell(before)})", _cell(value), holds))
    earlier_fails = [key for key in ("fp16 (onnxruntime)", "bf16 emulated (matrix products)",
                                     "OpenVINO default, fp32 graph")
                     if not isinstance(earlier[key], tuple) or earlier[key][0] < MIN_AGREEMENT]
    checks.append(("the earlier form fails fp16, bf16 and OpenVINO on this set (the set tests "
                   "what it should)", f"fails: {', '.join(earlier_fails) or 'none'}",
                   len(earlier_fails) == 3))
    return checks


def latency_rows(root: Path) -> list[str]:
    """Batch-1 p50 / floor on the default data, both forms, interleaved (three rounds)."""
    from onnx import TensorProto

    from kdedge.contract import RepetitionRule
    from kdedge.runtime.floor import build_floor_model
    from kdedge.runtime.latency import measure_interleaved
    from kdedge.runtime.models import session_options

    import onnxruntime as ort

    run_dir = distill.distill(out=str(root / "default"), force=True)
    export_run(run_dir, quantize="fp16")
    graphs = {"shipped fp32": run_dir / onnx_file("student"),
              "shipped fp16": run_dir / onnx_file("student", "fp16")}
    earlier = earlier_graphs_default(run_dir, root)
    graphs.update({"earlier fp32": earlier["student"], "earlier fp16": earlier["student.fp16"]})
    row = load_run(run_dir).input_rows("student")[:1]
    floor = build_floor_model(input_name="features", n_features=row.shape[1], outputs=[
        ("probabilities", TensorProto.FLOAT, [None, 2]), ("label", TensorProto.INT64, [None])])
    options = session_options(threads=1, opt_level="all")
    sessions = {"floor": ort.InferenceSession(floor.SerializeToString(), options,
                                              providers=["CPUExecutionProvider"])}
    sessions.update({name: ort.InferenceSession(str(path), options,
                                                providers=["CPUExecutionProvider"])
                     for name, path in graphs.items()})
    calls = {name: (lambda s=s: s.run(None, {"features": row})) for name, s in sessions.items()}
    rule = RepetitionRule(min_reps=2000, min_time_s=2.0, max_time_s=6.0, warmup_time_s=0.2)
    lines = ["| default data, batch 1, p50 (µs) / ratio to floor | round 1 | round 2 | round 3 |",
             "|---|---|---|---|"]
    rounds = [measure_interleaved(calls, rule=rule) for _ in range(3)]
    for name in sessions:
        cells = [f"{r[name].p50_us:.2f} / {r[name].p50_us / r['floor'].p50_us:.3f}"
                 for r in rounds]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def earlier_graphs_default(run_dir: Path, root: Path) -> dict[str, Path]:
    work = root / "earlier-default"
    work.mkdir(exist_ok=True)
    return earlier_graphs(run_dir, work)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", help="folder for the runs (default: a new temp folder)")
    parser.add_argument("--write", help="also write the results as markdown to this file")
    parser.add_argument("--no-latency", action="store_true", help="skip the default-data timing")
    args = parser.parse_args()
    started = time.perf_counter()
    root = Path(args.work or tempfile.mkdtemp(prefix="kdedge-conditioning-"))
    root.mkdir(parents=True, exist_ok=True)
    csv = write_offsets_csv(root / "offsets.csv")
    run_dir = distill.distill(data=str(csv), target="label", out=str(root / "offsets"),
                              force=True)
    export_run(run_dir, quantize="all", force=True)
    (root / "earlier").mkdir(exist_ok=True)
    earlier_paths = earlier_graphs(run_dir, root / "earlier")
    earlier = measure_form(run_dir, earlier_paths)
    shipped = measure_form(run_dir, shipped_graphs(run_dir))
    record = read_record(ExportSummary, run_dir / EXPORT_JSON).models["student.int8-static"]
    verdict_before, verdict_now = int8_static_verdicts(run_dir, earlier_paths)
    checks = agreement_checks(earlier, shipped)
    lines = [f"Measured {time.strftime('%Y-%m-%d')} by `python benchmarks/check_conditioning.py`"
             f" (numpy seed {SEED}, {ROWS} rows; {_machine()}; second runtimes: "
             f"{_versions()}).", "", *READING, "", *conditioning_table(earlier, shipped), "",
             "int8-static of the earlier form: earlier rule (accuracy only) → "
             f"{verdict_before}; current rules → {verdict_now}.",
             f"int8-static as exported now: agreement {record.agreement_fp32:.4f}, max |Δp| "
             f"{record.max_abs_diff_vs_fp32:.2g} → {record.verdict}"
             + (f" ({record.reason})" if record.reason else "") + ".", "",
             "OpenVINO's runtime model (default settings; node precision → output precision):", "",
             f"- earlier form: {openvino_precisions(earlier_paths['student'])}",
             f"- shipped form: {openvino_precisions(run_dir / onnx_file('student'))}", ""]
    if not args.no_latency:
        lines += [*latency_rows(root), ""]
    lines += [*requirement_table(checks), "",
              f"({time.perf_counter() - started:.0f} s with both runs)"]
    return finish("conditioning", lines, checks, args.write)


def _machine() -> str:
    """The CPU, and whether it has bf16 arithmetic (what OpenVINO's default precision follows)."""
    from kdedge.runtime.machine import cpu_model

    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        flags = []
    bf16 = [flag for flag in ("avx512_bf16", "amx_bf16") if flag in flags]
    return f"{cpu_model()}, {', '.join(bf16) or 'no bf16 flag in /proc/cpuinfo'}"


def _versions() -> str:
    found = []
    for package, version in (("openvino", "__version__"), ("tract", "version")):
        try:
            module = __import__(package)
        except ImportError:
            found.append(f"{package} not installed")
            continue
        value = getattr(module, version)
        found.append(f"{package} {(value() if callable(value) else value).split('-')[0]}")
    return ", ".join(found)


if __name__ == "__main__":
    sys.exit(main())

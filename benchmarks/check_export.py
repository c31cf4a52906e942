"""Check what `kdedge export` promises, recomputing every figure from the files it wrote.

    python benchmarks/check_export.py                 # a fresh default run in a temp folder
    python benchmarks/check_export.py --data wine     # a fresh run on another dataset
    python benchmarks/check_export.py RUN_DIR         # an existing run (re-exported with --force)

Exports with quantize=all, then prints each figure with PASS/FAIL; exits 1 on any FAIL.
export.json is read through `kdedge.contract` (a missing or mistyped field fails the read);
parity and agreement are measured here with onnxruntime and PyTorch, not read from it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx

from kdedge.contract import (EXPORT_JSON, EXPORTED_BASELINES, EXPORTED_MODELS, ExportSummary, OnnxMetadata,
                             onnx_file, read_record)

PARITY_TOLERANCE = 1e-5
MIN_AGREEMENT = {"int8": 0.99, "int8-static": 0.99, "fp16": 0.999}
MIN_SIZE_REDUCTION = 0.70  # student.onnx at least 70 % smaller than teacher.onnx


class Checks:
    """Collects PASS/FAIL lines."""

    def __init__(self) -> None:
        self.failed = 0

    def check(self, ok: bool, what: str, value: object, want: str) -> None:
        self.failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {what:<46} {value!s:<24} (want {want})", flush=True)


def check_parity(checks: Checks, run, name: str) -> np.ndarray:
    """Parity of RUN/onnx/<name>.onnx with PyTorch (batch 1 and full), measured here; also that
    the PyTorch reference is what distill stored. Returns the graph's full-batch labels."""
    from kdedge.distill import probabilities
    from kdedge.export.parity import make_session, onnx_outputs

    x = run.input_rows(name)
    reference = probabilities(run.load_model(name), x, run.scaler(name))
    stored = float(np.max(np.abs(reference - run.predictions()[name])))
    checks.check(stored == 0.0, f"{name} PyTorch reference = predictions.npz", f"{stored:.1e}",
                 "0")
    session = make_session(onnx.load(run.path / onnx_file(name)))
    full_proba, full_labels = onnx_outputs(session, x)
    one_proba, one_labels = onnx_outputs(session, x, batch_size=1)
    worst = float(max(np.abs(full_proba - reference).max(), np.abs(one_proba - reference).max()))
    checks.check(worst <= PARITY_TOLERANCE, f"{name} parity max |Δp| (batch 1 and full)",
                 f"{worst:.2e}", f"<= {PARITY_TOLERANCE:g}")
    same = bool(np.array_equal(full_labels, reference.argmax(1))
                and np.array_equal(one_labels, reference.argmax(1)))
    checks.check(same, f"{name} labels identical on {len(x)} test rows", same, "True")
    return full_labels


def check_files(checks: Checks, run, export: ExportSummary) -> None:
    """Every file: the device interface, the full ONNX checker, metadata, MACs vs metrics.json."""
    from kdedge.runtime.graph_cost import count_graph_cost
    from kdedge.runtime.interface import check_interface

    for record in export.models.values():
        path = run.path / record.path
        model = onnx.load(path)
        try:
            interface = check_interface(model, name=path.name, path=path)
            problem = None if interface.input == record.input else "differs from export.json"
        except Exception as exc:  # InterfaceError: the checker's or an interface rule's message
            problem = str(exc)[:60]
        checks.check(problem is None, f"{path.name} device interface + onnx.checker (full)",
                     problem or "ok", "ok")
        try:
            meta = OnnxMetadata.from_props({p.key: p.value for p in model.metadata_props},
                                           where=path.name)
            problem = None if meta.variant == record.variant else f"variant {meta.variant}"
        except Exception as exc:  # ContractError naming the key
            problem = str(exc)[:60]
        checks.check(problem is None, f"{path.name} kdedge.* metadata", problem or "complete",
                     "every OnnxMetadata field")
        macs = count_graph_cost(path).macs
        if record.model in run.metrics.baselines:  # baselines: metrics.json has no MACs
            checks.check(macs == record.macs, f"{path.name} MACs from the graph", macs,
                         f"export.json {record.macs}")
            continue
        expected = run.metrics.model(record.model).macs
        checks.check(macs == expected == record.macs, f"{path.name} MACs from the graph", macs,
                     f"metrics.json {expected}")


def check_run(run_dir: Path) -> int:
    from kdedge.artifacts import load_run
    from kdedge.export import export_run
    from kdedge.export.parity import make_session, onnx_outputs

    export = read_record(ExportSummary, export_run(run_dir, quantize="all", force=True))
    run, checks = load_run(run_dir), Checks()
    k = len(run.selected_features)
    student = export.models["student"]
    checks.check(student.input.shape == ["batch", k], "student.onnx input shape",
                 student.input.shape, f"one input [batch, {k}]")
    ops = [n.op_type for n in onnx.load(run_dir / student.path).graph.node]
    checks.check(ops[-2:] == ["Softmax", "ArgMax"] and len(ops) == student.nodes,
                 "student.onnx ops", ops, "folded Gemm/Relu chain, Softmax, ArgMax")
    fp32_labels = {name: check_parity(checks, run, name) for name in EXPORTED_MODELS}
    x = run.input_rows("student")
    for variant, minimum in MIN_AGREEMENT.items():
        model = onnx.load(run_dir / onnx_file("student", variant))
        _, labels = onnx_outputs(make_session(model), x)
        value = float(np.mean(labels == fp32_labels["student"]))
        checks.check(value >= minimum, f"student.{variant} agreement with fp32", f"{value:.4f}",
                     f">= {minimum}")
    teacher_bytes, student_bytes = export.models["teacher"].file_bytes, student.file_bytes
    reduction = 1 - student_bytes / teacher_bytes
    checks.check(reduction >= MIN_SIZE_REDUCTION, "student.onnx smaller than teacher.onnx",
                 f"{reduction:.1%} ({student_bytes}/{teacher_bytes} B)",
                 f">= {MIN_SIZE_REDUCTION:.0%}")
    check_files(checks, run, export)
    wanted = 5 + len(EXPORTED_BASELINES)  # teacher, student, 3 variants; the baselines
    checks.check(len(export.models) == wanted, f"{EXPORT_JSON} models", len(export.models),
                 str(wanted))
    for stem, record in export.models.items():
        print(f"      {stem:<20} {record.file_bytes:>7} B  nodes {record.nodes:>2}"
              f"  acc {record.metrics.accuracy:.4f}  agree fp32 {record.agreement_fp32:.4f}"
              f"  agree teacher {record.agreement_teacher:.4f}"
              f"  |Δp| vs fp32 {record.max_abs_diff_vs_fp32:.2g}  {record.verdict}")
    print(f"{'FAIL' if checks.failed else 'PASS'}: {checks.failed} check(s) failed")
    return 1 if checks.failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", help="an existing run (default: make a fresh one)")
    parser.add_argument("--data", default=None, help="dataset for a fresh run (default: built-in)")
    args = parser.parse_args(argv)

    from kdedge.distill import distill
    from kdedge.log import configure

    configure()  # progress lines on stderr, as the kdedge command shows them
    with tempfile.TemporaryDirectory(prefix="kdedge-check-export-") as scratch:
        run_dir = Path(args.run_dir) if args.run_dir else \
            distill(data=args.data, out=str(Path(scratch) / "run"))
        print(f"run: {run_dir}", flush=True)
        return check_run(Path(run_dir))


if __name__ == "__main__":
    sys.exit(main())

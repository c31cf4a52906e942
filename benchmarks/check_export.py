"""Check what `kdedge export` promises, recomputing every figure from the files it wrote.

    python benchmarks/check_export.py                 # a fresh default run in a temp folder
    python benchmarks/check_export.py --data wine     # a fresh run on another dataset
    python benchmarks/check_export.py RUN_DIR         # an existing run (re-exported with --force)

Exports with quantize=all, then prints each figure with PASS/FAIL; exits 1 on any FAIL.
Parity and agreement are measured here with onnxruntime and PyTorch, not read from export.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx

PARITY_TOLERANCE = 1e-5
MIN_AGREEMENT = {"int8": 0.99, "int8-static": 0.99, "fp16": 0.999}
MIN_SIZE_REDUCTION = 0.70  # student.onnx at least 70 % smaller than teacher.onnx
TOP_KEYS = {"run_id", "kdedge_version", "opset", "versions", "parity_tolerance",
            "reject_threshold", "models"}
MODEL_KEYS = {"path", "model", "variant", "file_bytes", "input", "outputs", "n_features",
              "feature_names", "macs", "flops", "params", "nodes", "nodes_before_fold",
              "macs_before_fold", "fold_steps", "parity", "metrics", "agreement_teacher",
              "agreement_fp32", "max_abs_diff_vs_fp32", "verdict", "reason"}
PARITY_KEYS = {"max_abs_diff_batch1", "max_abs_diff_full_batch", "labels_identical", "tolerance",
               "passed"}
METRIC_KEYS = {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss"}
METADATA_KEYS = {"kdedge.model", "kdedge.variant", "kdedge.feature_names", "kdedge.class_names",
                 "kdedge.version", "kdedge.run_id", "kdedge.weights_sha256", "kdedge.opset"}


class Checks:
    """Collects PASS/FAIL lines."""

    def __init__(self) -> None:
        self.failed = 0

    def check(self, ok: bool, what: str, value: object, want: str) -> None:
        self.failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {what:<46} {value!s:<24} (want {want})", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", help="an existing run (default: make a fresh one)")
    parser.add_argument("--data", default=None, help="dataset for a fresh run (default: built-in)")
    args = parser.parse_args(argv)

    from kdedge.artifacts import load_run
    from kdedge.distill import distill
    from kdedge.export import export_run
    from kdedge.export.parity import make_session, onnx_outputs, torch_probabilities
    from kdedge.runtime.graph_cost import count_graph_cost

    with tempfile.TemporaryDirectory(prefix="kdedge-check-export-") as scratch:
        run_dir = Path(args.run_dir) if args.run_dir else \
            distill(data=args.data, out=str(Path(scratch) / "run"), quiet=True)
        print(f"run: {run_dir}", flush=True)
        export_json = export_run(run_dir, quantize="all", force=True, quiet=False)
        export = json.loads(export_json.read_text())
        run = load_run(run_dir)
        onnx_dir = run_dir / "onnx"
        checks = Checks()
        k = len(run.selected_features)

        # the interface
        student = onnx.load(onnx_dir / "student.onnx")
        dims = [[d.dim_value or d.dim_param or "?" for d in v.type.tensor_type.shape.dim]
                for v in student.graph.input]
        ok = (len(dims) == 1 and len(dims[0]) == 2 and isinstance(dims[0][0], str)
              and dims[0][1] == k)
        checks.check(ok, "student.onnx input shape", dims, f"one input [N, {k}], N dynamic")
        checks.check([n.op_type for n in student.graph.node][-2:] == ["Softmax", "ArgMax"]
                     and len(student.graph.node) == export["models"]["student"]["nodes"],
                     "student.onnx ops", [n.op_type for n in student.graph.node],
                     "folded Gemm/Relu chain, Softmax, ArgMax")

        # parity with PyTorch, measured here
        mean, scale = run.scaler("student")
        x = run.split["X_test"][:, run.input_index("student")].astype(np.float32)
        reference = torch_probabilities(run.load_model("student"), x, mean=mean, scale=scale)
        session = make_session(student)
        fp32_proba, fp32_labels = onnx_outputs(session, x)
        one_proba, one_labels = onnx_outputs(session, x, batch_size=1)
        worst = float(max(np.abs(fp32_proba - reference).max(),
                          np.abs(one_proba - reference).max()))
        checks.check(worst <= PARITY_TOLERANCE, "student parity max |Δp| (batch 1 and full)",
                     f"{worst:.2e}", f"<= {PARITY_TOLERANCE:g}")
        same = bool(np.array_equal(fp32_labels, reference.argmax(1))
                    and np.array_equal(one_labels, reference.argmax(1)))
        checks.check(same, f"student labels identical on {len(x)} test rows", same, "True")

        # quantized variants against the fp32 student
        for variant, minimum in MIN_AGREEMENT.items():
            path = onnx_dir / f"student.{variant}.onnx"
            _, labels = onnx_outputs(make_session(onnx.load(path)), x)
            value = float(np.mean(labels == fp32_labels))
            checks.check(value >= minimum, f"student.{variant} agreement with fp32", f"{value:.4f}",
                         f">= {minimum}")

        # size
        teacher_bytes = (onnx_dir / "teacher.onnx").stat().st_size
        student_bytes = (onnx_dir / "student.onnx").stat().st_size
        reduction = 1 - student_bytes / teacher_bytes
        checks.check(reduction >= MIN_SIZE_REDUCTION, "student.onnx smaller than teacher.onnx",
                     f"{reduction:.1%} ({student_bytes}/{teacher_bytes} B)",
                     f">= {MIN_SIZE_REDUCTION:.0%}")

        # every file: checker, metadata, MACs against metrics.json
        for stem, record in export["models"].items():
            path = run_dir / record["path"]
            try:
                onnx.checker.check_model(path, full_check=True)
                problem = None
            except Exception as exc:  # the checker's ValidationError
                problem = str(exc)[:60]
            checks.check(problem is None, f"{path.name} passes onnx.checker (full)",
                         problem or "ok", "ok")
            meta = {p.key: p.value for p in onnx.load(path).metadata_props}
            missing = sorted(METADATA_KEYS - set(meta))
            checks.check(not missing and meta["kdedge.variant"] == record["variant"],
                         f"{path.name} kdedge.* metadata", missing or "complete", "all 8 keys")
            macs = count_graph_cost(path).macs
            expected = run.metrics[record["model"]]["macs"]
            checks.check(macs == expected == record["macs"], f"{path.name} MACs from the graph",
                         macs, f"metrics.json {expected}")

        # export.json fields
        missing = sorted(TOP_KEYS - set(export))
        for stem, record in export["models"].items():
            missing += [f"{stem}.{key}" for key in sorted(MODEL_KEYS - set(record))]
            missing += [f"{stem}.metrics.{key}" for key in
                        sorted(METRIC_KEYS - set(record.get("metrics") or {}))]
            if record.get("variant") == "fp32":
                missing += [f"{stem}.parity.{key}" for key in
                            sorted(PARITY_KEYS - set(record.get("parity") or {}))]
        checks.check(not missing and len(export["models"]) == 5, "export.json fields",
                     missing or f"{len(export['models'])} models complete", "every field")
        for stem, record in export["models"].items():
            print(f"      {stem:<20} {record['file_bytes']:>7} B  nodes {record['nodes']:>2}"
                  f"  acc {record['metrics']['accuracy']:.4f}"
                  f"  agree fp32 {record['agreement_fp32']:.4f}"
                  f"  agree teacher {record['agreement_teacher']:.4f}"
                  f"  |Δp| vs fp32 {record['max_abs_diff_vs_fp32']:.2g}  {record['verdict']}")
        print(f"{'FAIL' if checks.failed else 'PASS'}: {checks.failed} check(s) failed")
        return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())

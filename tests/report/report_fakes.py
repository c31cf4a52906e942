"""Fake stage outputs for the report tests, in the documented shapes: export.json (the export
contract in the report brief / export/*.py) and bench JSON (runtime/bench.py, bench_format 1)."""

from __future__ import annotations

import shutil


VARIANTS = ("int8", "int8-static", "fp16")


def fake_export(metrics: dict) -> dict:
    """export.json: fp32 teacher and student plus three variants, int8-static rejected."""
    def entry(model, variant, accuracy, **extra):
        base = metrics[model]
        name = model if variant == "fp32" else f"{model}.{variant}"
        return name, dict({
            "path": f"onnx/{name}.onnx", "model": model, "variant": variant,
            "file_bytes": 4 * base["params"] + 1500, "n_features": base["n_features"],
            "macs": base["macs"], "flops": 2 * base["macs"], "params": base["params"],
            "nodes": 7, "nodes_before_fold": 9, "macs_before_fold": base["macs"], "fold_steps": [],
            "metrics": {"accuracy": accuracy, "precision": accuracy, "recall": accuracy, "f1": accuracy,
                        "roc_auc": 0.98, "pr_auc": 0.97, "log_loss": 0.1},
            "agreement_teacher": 0.99, "verdict": "accepted", "reason": "within tolerance"}, **extra)

    parity = {"max_abs_diff_batch1": 1.2e-7, "max_abs_diff_full_batch": 2.4e-7,
              "labels_identical": True, "tolerance": 1e-5, "passed": True}
    acc = metrics["student"]["accuracy"]
    models = dict([
        entry("teacher", "fp32", metrics["teacher"]["accuracy"], parity=parity, agreement_teacher=1.0),
        entry("student", "fp32", acc, parity=parity),
        entry("student", "int8", acc - 0.002, agreement_fp32=0.996, max_abs_diff_vs_fp32=3e-3),
        entry("student", "int8-static", acc - 0.05, agreement_fp32=0.91, max_abs_diff_vs_fp32=0.2,
              verdict="rejected", reason="agreement with fp32 0.9100 < 0.99"),
        entry("student", "fp16", acc, agreement_fp32=1.0, max_abs_diff_vs_fp32=2e-4),
    ])
    return {"run_id": "small", "opset": 17, "models": models}


def fake_bench(metrics: dict, *, target: str, emulated: bool = False, int8_p50: float = 60.0) -> dict:
    """A bench JSON as runtime/bench.py writes it (bench_format 1); student.int8 at `int8_p50` µs."""
    def latency(p50, batch):
        scale = 1 if batch == 1 else batch / 8
        return {"p50_us": p50 * scale, "p90_us": p50 * scale * 1.1, "p95_us": p50 * scale * 1.2,
                "p99_us": p50 * scale * 1.5, "mean_us": p50 * scale * 1.05, "std_us": 2.0,
                "min_us": p50 * scale * 0.9, "max_us": p50 * scale * 3, "reps": 500, "seconds": 0.4,
                "p99_reliable": True, "throughput_rows_per_s": batch / (p50 * scale * 1.05) * 1e6,
                "ratio_to_floor": round(p50 / 40.0, 3)}

    def model(kind, variant, p50):
        m = metrics[kind]
        stem = kind if variant == "fp32" else f"{kind}.{variant}"
        return f"{stem}.onnx", {
            "file": f"onnx/{stem}.onnx", "bytes": 4 * m["params"] + 1500, "model": kind, "variant": variant,
            "n_features": m["n_features"], "latency": {str(b): latency(p50, b) for b in (1, 32)},
            "cost": {"params": m["params"], "weight_bytes": m["weight_bytes"], "macs": m["macs"],
                     "flops": 2 * m["macs"]},
            "cold_start": {"import_ms": 90.0, "session_creation_ms": 4.5, "first_inference_ms": 0.3},
            "memory": {"vmhwm_mb": 60.0, "peak_mb": 60.0 + m["params"] / 1e4, "baseline_mb": 55.0,
                       "increase_mb": 5.0 + m["params"] / 1e4},
            "floor": "floor-k6-c2", "input_rows": "X_test"}

    models = dict([model("teacher", "fp32", 80.0), model("student", "fp32", 45.0),
                   model("student", "int8", int8_p50), model("student", "fp16", 50.0)])
    models["student.int8-static.onnx"] = {"file": "onnx/student.int8-static.onnx",
                                          "error": "onnxruntime cannot run it"}
    floors = {"floor-k6-c2": {"latency": {str(b): latency(40.0, b) for b in (1, 32)}}}
    return {"bench_format": 1, "target": target, "created": "2026-11-28T12:00:00+00:00",
            "machine": {"arch": "aarch64" if emulated else "x86_64", "cpu_model": "Test CPU",
                        "cores": 2, "onnxruntime": "1.32.0", "emulated": emulated},
            "settings": {"batch_sizes": [1, 32], "threads": 1, "quick": False},
            "floors": floors, "models": models, "errors": 1}


def copy_run(src, dst):
    shutil.copytree(src, dst)
    return dst


def cut_split(facts, rows: int) -> None:
    """Cut the test and validation splits of `facts` to their first `rows` rows: a tiny run."""
    split = dict(facts.run.split)
    for part in ("test", "val"):
        split[f"X_{part}"], split[f"y_{part}"] = split[f"X_{part}"][:rows], split[f"y_{part}"][:rows]
    facts.run.split = split

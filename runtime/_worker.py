"""Subprocess worker: cold start and peak memory of one model, in a fresh interpreter.

Run as a script (`python _worker.py '<json>'`), never imported: it uses only the standard library,
numpy and onnxruntime, so a native crash while loading a model kills this process, not the bench.
Prints one JSON line (import_ms, session_creation_ms and first_inference_ms are the fields of
`kdedge.contract.ColdStart`, memory those of `Memory`). Modes:
  baseline  import numpy + onnxruntime, report memory (what every model's increase is relative to)
  model     also create the session (timed like onnxruntime_perf_test's "Session creation time
            cost"), run batch 1 once ("First inference time cost"), then run every batch size a
            few times so the peak includes the largest batch's buffers; report memory.
"""

import json
import sys
import time

_T0 = time.perf_counter()
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

_IMPORT_MS = (time.perf_counter() - _T0) * 1e3


def _memory() -> dict:
    """VmHWM (peak RSS) and VmRSS of this process from /proc/self/status, in MB.

    The keys are fields of `kdedge.contract.Memory` (the bench parses them with it; this script
    imports nothing of kdedge, so the baseline process holds only numpy and onnxruntime).

    VmHWM belongs to the address space created by exec, so it is this model's peak alone. There is
    deliberately no fallback to `getrusage().ru_maxrss`: it survives fork/exec on Linux, so a child
    of a 570 MB `kdedge run` reports 570 MB whatever model it holds. Without VmHWM the peak is
    unknown, and said so under "error".
    """
    report = {}
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    key, value = line.split(":")
                    report[f"{key.lower()}_mb"] = round(int(value.split()[0]) / 1024, 2)
    except OSError as exc:
        report["error"] = f"no VmHWM on this platform (/proc/self/status: {type(exc).__name__}: {exc})"
    else:
        if "vmhwm_mb" not in report:
            report["error"] = "no VmHWM on this platform (/proc/self/status has no VmHWM line)"
    return report


def main(spec: dict) -> dict:
    result = {"import_ms": round(_IMPORT_MS, 3)}
    if spec["mode"] == "baseline":
        result["memory"] = _memory()
        return result
    options = ort.SessionOptions()
    options.intra_op_num_threads = spec["threads"]
    options.inter_op_num_threads = spec["threads"]
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, spec["opt_level_attr"])
    options.log_severity_level = 3
    start = time.perf_counter()
    session = ort.InferenceSession(spec["path"], sess_options=options, providers=["CPUExecutionProvider"])
    result["session_creation_ms"] = round((time.perf_counter() - start) * 1e3, 3)
    rng = np.random.default_rng(0)
    feed = {spec["input_name"]: rng.standard_normal((1, spec["n_features"])).astype(np.float32)}
    start = time.perf_counter()
    session.run(None, feed)
    result["first_inference_ms"] = round((time.perf_counter() - start) * 1e3, 3)
    for batch in spec["batch_sizes"]:
        feed = {spec["input_name"]: rng.standard_normal((batch, spec["n_features"])).astype(np.float32)}
        for _ in range(3):
            session.run(None, feed)
    result["memory"] = _memory()
    return result


if __name__ == "__main__":
    try:
        print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
    except Exception as exc:  # reported by the parent as this model's error
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        sys.exit(1)

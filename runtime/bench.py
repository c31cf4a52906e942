"""`kdedge bench`: measure every ONNX model of a run on this machine → RUN/bench/<target>.json.

Per model: its sha256 against the one `kdedge export` recorded in run.json, static cost from the
graph (`graph_cost`), cold start and peak memory in a fresh subprocess (`_worker.py`), then latency
at each batch size, interleaved with the other models and with the floor graph (`floor`) so every
model's p50 is also given as a ratio to the bare call overhead. Imports only numpy, onnx,
onnxruntime and the standard library (runs on the device).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import onnxruntime as ort

import kdedge
from kdedge.rundir import KdedgeError, now_iso, read_json, sha256_file, update_manifest, write_json_atomic
from kdedge.runtime.floor import build_floor_model, floor_key
from kdedge.runtime.graph_cost import count_graph_cost
from kdedge.runtime.latency import measure_interleaved
from kdedge.runtime.machine import default_target, describe_machine
from kdedge.runtime.models import (OPT_LEVELS, ModelInfo, load_rows, model_rows, read_model_info,
                                   resolve_models, session_options, tile_rows)

BENCH_FORMAT = 1
# Repetition rule: (min_reps, min_time s, max_time s, warmup_time s), per model per batch size.
DEFAULT_RULE = (200, 0.4, 2.0, 0.05)
QUICK_RULE = (20, 0.01, 0.1, 0.002)
_WORKER = Path(__file__).with_name("_worker.py")


def bench(path: str | os.PathLike, *, target: str | None = None, batch_sizes=(1, 32, 1024),
          threads: int = 1, opt_level: str = "all", out: str | os.PathLike | None = None,
          force: bool = False, quiet: bool = False, quick: bool = False,
          min_time: float | None = None, min_reps: int | None = None, max_time: float | None = None,
          worker_timeout: float = 300.0) -> Path:
    """Benchmark every .onnx model in `path` and write the bench JSON.

    Args:
        path: A run directory (models in RUN/onnx/) or a bare folder of .onnx files.
        target: Name of this machine in the file name; default arch + CPU model, slugified.
        batch_sizes: Rows per `session.run` call; one latency table per batch size.
        threads: onnxruntime intra- and inter-op threads (execution is sequential).
        opt_level: Graph optimisation level: disable, basic, extended or all.
        out: Output .json file, or a folder for `<target>.json`; default PATH/bench/<target>.json.
        force: Replace an existing bench JSON.
        quiet: No progress lines on stderr.
        quick: Tiny repetition rule for tests and smoke runs (numbers are then not reliable).
        min_time: Seconds of timed calls per model per batch size, at least (overrides the rule).
        min_reps: Timed calls per model per batch size, at least (overrides the rule).
        max_time: Seconds of timed calls per model per batch size, at most (overrides the rule).
        worker_timeout: Seconds allowed to each model's cold-start/memory subprocess.

    Returns:
        The path of the JSON written.
    """
    batch_sizes = _check_batch_sizes(batch_sizes)
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise KdedgeError(f"threads must be a positive integer, got {threads!r}")
    if opt_level not in OPT_LEVELS:
        raise KdedgeError(f"opt_level must be one of {sorted(OPT_LEVELS)}, got {opt_level!r}")
    rule = list(QUICK_RULE if quick else DEFAULT_RULE)
    for i, value in ((0, min_reps), (1, min_time), (2, max_time)):
        if value is not None:
            if value <= 0:
                raise KdedgeError(f"min_reps/min_time/max_time must be > 0, got {value!r}")
            rule[i] = value
    rule[2] = max(rule[2], rule[1])
    onnx_dir, root, is_run = resolve_models(path)
    target = target or default_target()
    if not target or "/" in target or target.startswith("."):
        raise KdedgeError(f"target {target!r} is not a usable file name; pass e.g. --target=raspberry-pi-5")
    out_path = _output_path(out, root, target)
    if out_path.exists() and not force:
        raise KdedgeError(f"{out_path} already exists; pass --force to replace it, or --target=NAME to keep both")

    started, clock = now_iso(), time.perf_counter()
    say = (lambda msg: None) if quiet else (lambda msg: print(f"[bench] {msg}", file=sys.stderr, flush=True))
    machine = describe_machine()
    say(f"{machine['arch']} {machine['cpu_model']} → {out_path}"
        + ("  (EMULATED: timings are the translator's, not this CPU's)" if machine["emulated"] else ""))
    rows = load_rows(root)
    metrics = read_json(root / "metrics.json") if (root / "metrics.json").is_file() else None
    infos = [read_model_info(p) for p in sorted(onnx_dir.glob("*.onnx"))]
    recorded = _recorded_sha256(root) if is_run else {}
    models = {info.name: _describe(info, root, metrics, recorded) for info in infos}
    for entry in models.values():
        if entry.get("matches_run_json") is False:  # printed even when quiet: never measure a swap silently
            print(f"[bench] WARNING {entry['warning']}", file=sys.stderr, flush=True)

    spec = {"threads": threads, "opt_level_attr": OPT_LEVELS[opt_level], "batch_sizes": list(batch_sizes)}
    baseline = _run_worker({"mode": "baseline"}, timeout=worker_timeout)
    for info in infos:
        if info.error is None:
            cold = _run_worker(dict(spec, mode="model", path=str(info.path), input_name=info.input_name,
                                    n_features=info.n_features), timeout=worker_timeout)
            if "error" in cold:
                info.error = f"{info.path}: onnxruntime cannot run it ({cold['error']}); re-export it"
            else:
                models[info.name]["cold_start"] = {k: cold[k] for k in
                                                   ("import_ms", "session_creation_ms", "first_inference_ms")}
                memory = models[info.name]["memory"] = _model_memory(cold, baseline)
                peak_text = (f"peak {memory['peak_mb']:.1f} MB (+{memory['increase_mb']:.1f})"
                             if memory["increase_mb"] is not None else f"peak unknown: {memory['error']}")
                say(f"{info.name}: session {cold['session_creation_ms']:.1f} ms, first run "
                    f"{cold['first_inference_ms']:.2f} ms, {peak_text}")
        if info.error is not None:
            models[info.name] = {"file": models[info.name]["file"], "error": info.error}
            say(f"ERROR {info.error}")

    calls_for, floor_of, sources = _build_sessions(infos, rows, threads=threads, opt_level=opt_level,
                                                   models=models, say=say)
    floors = {name: {"latency": {}} for name in set(floor_of.values())}
    for batch in batch_sizes:
        say(f"batch {batch}: timing {len(calls_for(batch))} graphs interleaved")
        stats = measure_interleaved(calls_for(batch), min_reps=rule[0], min_time=rule[1],
                                    max_time=rule[2], warmup_time=rule[3])
        for name, floor in floor_of.items():
            entry = dict(stats[name], throughput_rows_per_s=round(batch / stats[name]["mean_us"] * 1e6, 1),
                         ratio_to_floor=round(stats[name]["p50_us"] / stats[floor]["p50_us"], 3))
            models[name]["latency"][str(batch)] = entry
            say(f"  {name:<28} p50 {entry['p50_us']:>10.1f} us  p99 {entry['p99_us']:>10.1f} us  "
                f"{entry['ratio_to_floor']:>6.2f}x floor  {entry['throughput_rows_per_s']:>12.0f} rows/s")
        for floor in floors:
            floors[floor]["latency"][str(batch)] = dict(
                stats[floor], throughput_rows_per_s=round(batch / stats[floor]["mean_us"] * 1e6, 1))
    for name, floor in floor_of.items():
        models[name].update(floor=floor, input_rows=sources[name])

    report = {
        "bench_format": BENCH_FORMAT, "kdedge_version": kdedge.__version__, "target": target,
        "created": started, "seconds": round(time.perf_counter() - clock, 2),
        "source": {"path": str(Path(path).resolve()), "run_dir": is_run, "onnx_dir": str(onnx_dir.resolve()),
                   "run_id": _run_id(root, infos)},
        "machine": machine,
        "settings": {
            "batch_sizes": list(batch_sizes), "threads": threads, "inter_op_threads": threads,
            "execution_mode": "sequential", "opt_level": opt_level, "providers": ["CPUExecutionProvider"],
            "quick": quick,
            "repetition_rule": {"min_reps": rule[0], "min_time_s": rule[1], "max_time_s": rule[2],
                                "warmup_time_s": rule[3], "text": _rule_text(rule)},
            "timer": "time.perf_counter_ns around session.run(None, feed) from Python, gc paused",
            "throughput": "rows/s = batch / mean latency",
            "ratio_to_floor": "model p50 / floor p50 at the same batch size, same interleaved run",
            "cold_start": "fresh subprocess per model: InferenceSession() time, then first run at batch 1",
            "memory": "fresh subprocess per model: peak RSS = VmHWM from /proc/self/status after "
                      "creating the session and running every batch size (null with memory.error where "
                      "there is no VmHWM); increase = peak - baseline subprocess that only imported "
                      "numpy and onnxruntime",
            "matches_run_json": "model sha256 == run.json artifacts['onnx/<file>'] recorded by kdedge "
                                "export; null when run.json lists none",
        },
        "baseline": {"import_ms": baseline.get("import_ms"), "memory": baseline.get("memory"),
                     "error": baseline.get("error")},
        "floors": floors,
        "models": models,
        "errors": sum(1 for m in models.values() if "error" in m),
        "mismatched": sum(1 for m in models.values() if m.get("matches_run_json") is False),
    }
    if machine["emulated"]:
        report["warning"] = "emulated run: timings measure the qemu translator, not an ARM CPU"
    report["seconds"] = round(time.perf_counter() - clock, 2)
    write_json_atomic(out_path, report)
    say(f"wrote {out_path} in {report['seconds']:.1f} s ({report['errors']} model error(s))")
    if report["mismatched"]:
        print(f"[bench] WARNING {report['mismatched']} model(s) differ from what `kdedge export` recorded in "
              f"run.json (matches_run_json false in {out_path}); re-export before trusting their numbers",
              file=sys.stderr, flush=True)
    if is_run and (root / "run.json").is_file() and out_path.resolve().is_relative_to(root.resolve()):
        update_manifest(root, stage="bench", files=[out_path.resolve().relative_to(root.resolve()).as_posix()],
                        info={"target": target, "seconds": report["seconds"]})
    return out_path


def _check_batch_sizes(batch_sizes) -> tuple[int, ...]:
    if isinstance(batch_sizes, (int, str)) and not isinstance(batch_sizes, bool):
        batch_sizes = [batch_sizes]
    try:
        sizes = tuple(int(b) for b in batch_sizes)
    except (TypeError, ValueError):
        raise KdedgeError(f"batch_sizes must be positive integers, e.g. --batch_sizes=1,32,1024; got {batch_sizes!r}")
    if not sizes or min(sizes) < 1:
        raise KdedgeError(f"batch_sizes must be positive integers, e.g. --batch_sizes=1,32,1024; got {batch_sizes!r}")
    return sizes


def _output_path(out, root: Path, target: str) -> Path:
    if out is None:
        return root / "bench" / f"{target}.json"
    out = Path(out)
    return out if out.suffix == ".json" else out / f"{target}.json"


def _recorded_sha256(root: Path) -> dict:
    """sha256 per file that run.json's artifacts record (written by `kdedge export`); {} without one."""
    manifest = read_json(root / "run.json") if (root / "run.json").is_file() else {}
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    return artifacts if isinstance(artifacts, dict) else {}


def _describe(info: ModelInfo, root: Path, metrics: dict | None, recorded: dict) -> dict:
    """Static description of one model: file, metadata, sha256 vs run.json, graph cost, and the
    metrics.json check."""
    file = Path(os.path.relpath(info.path, root)).as_posix()  # "onnx/student.onnx", run.json's key
    entry = {"file": file, "bytes": info.path.stat().st_size}
    if info.error is not None:
        return entry
    stem_model, _, stem_variant = info.name[: -len(".onnx")].partition(".")
    kind = info.metadata.get("kdedge.model", stem_model)
    variant = info.metadata.get("kdedge.variant", stem_variant or "fp32")
    sha256, expected = sha256_file(info.path), recorded.get(file)
    entry.update(sha256=sha256, matches_run_json=None if expected is None else sha256 == expected)
    if entry["matches_run_json"] is False:
        entry["warning"] = (f"{file} differs from what `kdedge export` recorded in run.json "
                            f"(sha256 {expected[:12]}…, file has {sha256[:12]}…): changed after export; "
                            "re-export, or the numbers do not describe the exported model")
    entry.update(model=kind, variant=variant, n_features=info.n_features,
                 input=info.input_name, outputs=[o[0] for o in info.outputs],
                 feature_names=info.feature_names, class_names=info.class_names,
                 metadata=info.metadata, latency={})
    try:
        entry["cost"] = count_graph_cost(info.path).to_json()
    except Exception as exc:  # counting is informative; a graph we cannot count is still timed
        entry["cost"] = {"error": f"{type(exc).__name__}: {exc}"}
    reference = (metrics or {}).get(kind, {}).get("macs") if isinstance(metrics, dict) else None
    if variant == "fp32" and reference is not None and "macs" in entry["cost"]:
        entry["metrics_macs"] = reference
        entry["macs_match_metrics"] = entry["cost"]["macs"] == reference
    return entry


def _run_worker(spec: dict, *, timeout: float) -> dict:
    """Run `_worker.py` in a fresh interpreter; its crash or timeout becomes an error string."""
    try:
        proc = subprocess.run([sys.executable, str(_WORKER), json.dumps(spec)], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"no answer within {timeout:.0f} s (raise worker_timeout if the device is slow)"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode < 0:
        return {"error": f"the process crashed (signal {-proc.returncode}); stderr: {proc.stderr.strip()[-300:]}"}
    if not lines:
        return {"error": f"exit status {proc.returncode}, no result; stderr: {proc.stderr.strip()[-300:]}"}
    return json.loads(lines[-1])


def _model_memory(cold: dict, baseline: dict) -> dict:
    """The worker's memory readings plus peak, baseline and increase (MB); null where unknown.

    Only VmHWM counts as a peak: ru_maxrss would carry over the bench process's own peak through
    fork/exec (see `_worker._memory`), so without VmHWM the peak is null with the reason in "error".
    """
    memory = dict(cold.get("memory") or {})
    base = (baseline.get("memory") or {}).get("vmhwm_mb")
    memory.update(peak_mb=memory.get("vmhwm_mb"), baseline_mb=base, increase_mb=None)
    if memory["peak_mb"] is not None and base is not None:
        memory["increase_mb"] = round(memory["peak_mb"] - base, 2)
    elif "error" not in memory:
        reason = (baseline.get("memory") or {}).get("error") or baseline.get("error") or "no VmHWM"
        memory["error"] = f"baseline subprocess: {reason}"
    return memory


def _build_sessions(infos, rows, *, threads, opt_level, models, say):
    """In-process sessions of the models that loaded, plus one floor per input/output signature.
    Returns (batch → {name: call}, {model: floor name}, {model: where its rows come from})."""
    options = session_options(threads=threads, opt_level=opt_level)
    sessions, inputs, floor_of, sources = {}, {}, {}, {}
    for info in infos:
        if info.error is not None:
            continue
        try:
            session = ort.InferenceSession(str(info.path), sess_options=options,
                                           providers=["CPUExecutionProvider"])
        except Exception as exc:
            models[info.name] = {"file": models[info.name]["file"], "error": f"{info.path}: {exc}"}
            say(f"ERROR {models[info.name]['error']}")
            continue
        matrix, sources[info.name] = model_rows(info, rows)
        sessions[info.name], inputs[info.name] = (session, info.input_name), matrix
        floor = floor_key(n_features=info.n_features, outputs=info.outputs)
        if floor not in sessions:
            graph = build_floor_model(input_name=info.input_name, n_features=info.n_features,
                                      outputs=info.outputs)
            sessions[floor] = (ort.InferenceSession(graph.SerializeToString(), sess_options=options,
                                                    providers=["CPUExecutionProvider"]), info.input_name)
            inputs[floor] = matrix
        floor_of[info.name] = floor

    def calls_for(batch: int) -> dict:
        calls = {}
        for name, (session, input_name) in sessions.items():
            feed = {input_name: tile_rows(inputs[name], batch)}
            calls[name] = lambda session=session, feed=feed: session.run(None, feed)
        return calls

    return calls_for, floor_of, sources


def _run_id(root: Path, infos: list[ModelInfo]) -> str | None:
    ids = {i.metadata.get("kdedge.run_id") for i in infos if i.metadata.get("kdedge.run_id")}
    if len(ids) == 1:
        return ids.pop()
    manifest = root / "run.json"
    return read_json(manifest).get("run_id") if manifest.is_file() else None


def _rule_text(rule) -> str:
    min_reps, min_time, max_time, warmup = rule
    return (f"per model and batch size: {warmup} s warm-up (>= 5 calls), then round-robin blocks of "
            f"~10 ms per model until >= {min_reps} calls and >= {min_time} s of calls, at most "
            f"{max_time} s")

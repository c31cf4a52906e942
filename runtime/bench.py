"""`kdedge bench`: measure every ONNX model of a run on this machine → RUN/bench/<target>.json
(a bare folder of models → FOLDER/bench/<target>.json; one model file → <stem>.bench/<target>.json
beside it).

Per model: its sha256 against the one `kdedge export` recorded in run.json, static cost from the
graph (`graph_cost`), cold start and peak memory in a fresh subprocess (`_worker.py`), then latency
at each batch size, interleaved with the other models and with the floor graph (`floor`) so every
model's p50 is also given as a ratio to the bare call overhead. Where `kdedge export --c` wrote the
C student (RUN/c/), it is built with gcc and timed in C beside the floor (`c_bench.bench_c`). The
machine's load is read before and after (`machine.read_load`): a 1-minute load average above the
usable cores marks the JSON `overloaded` and is logged as a warning. The JSON is a
`kdedge.contract.BenchReport`. Imports only numpy, onnx, onnxruntime and the standard
library (runs on the device; the C student also needs gcc, and is skipped with the reason without).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

import kdedge
from kdedge.contract import (METRICS_JSON, MODEL_NAMES, ONNX_DIR, RUN_JSON, SPLIT_NPZ, BenchBaseline,
                             BenchedModel, BenchReport, BenchSettings, BenchSource, CBench,
                             ColdStart, Floor, GraphCost, LoadReading, Machine, Manifest, Memory,
                             Metrics, OnnxMetadata, RepetitionRule, bench_file, read_record,
                             write_record)
from kdedge.log import get_logger
from kdedge.params import Flag, OneOf, Optional, Real, Text, Whole, WholeList, check_params
from kdedge.rundir import (KdedgeError, now_iso, read_manifest, sha256_file, stage_lock,
                           update_manifest, verify_recorded)
from kdedge.runtime.c_bench import ToolchainMissing, bench_c, c_sources
from kdedge.runtime.floor import build_floor_model, floor_key
from kdedge.runtime.graph_cost import count_graph_cost
from kdedge.runtime.latency import BLOCK_TIME_S, measure_interleaved
from kdedge.runtime.machine import default_target, describe_machine, is_overloaded, read_load
from kdedge.runtime.models import (OPT_LEVELS, ModelInfo, load_rows, model_rows, read_model_info,
                                   run_model_problems,
                                   resolve_models, session_options, tile_rows)

_log = get_logger("bench")
_WORKER = Path(__file__).with_name("_worker.py")

# Calls timed per model and batch size: the default, and a tiny one for tests and smoke runs.
DEFAULT_RULE = RepetitionRule(min_reps=200, min_time_s=0.4, max_time_s=2.0, warmup_time_s=0.05)
QUICK_RULE = RepetitionRule(min_reps=20, min_time_s=0.01, max_time_s=0.1, warmup_time_s=0.002)
PROVIDERS = ["CPUExecutionProvider"]
# How each measured quantity is defined (BenchSettings.definitions; the rule's text is added).
DEFINITIONS = {
    "timer": "time.perf_counter_ns around session.run(None, feed) from Python, gc paused",
    "throughput": "rows/s = batch / p50 latency (the median call)",
    "ratio_to_floor": "model p50 / floor p50 at the same batch size, same interleaved run",
    "cold_start": "fresh subprocess per model: InferenceSession() time, then first run at batch 1",
    "memory": "fresh subprocess per model: peak RSS = VmHWM from /proc/self/status after creating "
              "the session and running every batch size (null with memory.error where there is no "
              "VmHWM); increase = peak - baseline subprocess that only imported numpy and onnxruntime",
    "cost": "counted from the ONNX graph per sample (kdedge.runtime.graph_cost); null with "
            "cost_error when the graph cannot be counted",
    "macs_match_metrics": "fp32 models: graph MACs == the model's macs in metrics.json",
    "matches_run_json": "model sha256 == run.json artifacts['onnx/<file>'] recorded by kdedge "
                        "export; null when run.json lists none",
}
EMULATED_WARNING = "emulated run: timings measure the qemu translator, not an ARM CPU"


@dataclasses.dataclass(frozen=True)
class FileName(Text):
    """A name usable as a file name: no `/`, not hidden."""

    def accepts(self, value) -> bool:
        return super().accepts(value) and "/" not in value and not value.startswith(".")

    def describe(self) -> str:
        return "a usable file name (no '/', not starting with '.'), e.g. raspberry-pi-5"


PARAMETERS = {
    "target": Optional(FileName()),
    "batch_sizes": WholeList(1),
    "threads": Whole(1),
    "opt_level": OneOf(tuple(OPT_LEVELS)),
    "force": Flag(),
    "quick": Flag(),
    "min_time": Optional(Real(0, closed="neither")),
    "min_reps": Optional(Whole(1)),
    "max_time": Optional(Real(0, closed="neither")),
    "worker_timeout": Real(0, closed="neither"),
}


def bench(path: str | os.PathLike, *, target: str | None = None,
          batch_sizes: list[int] | tuple[int, ...] = (1, 32, 1024), threads: int = 1, opt_level: str = "all",
          out: str | os.PathLike | None = None, force: bool = False, quick: bool = False,
          min_time: float | None = None, min_reps: int | None = None,
          max_time: float | None = None, worker_timeout: float = 300.0) -> Path:
    """Benchmark every .onnx model in `path` (or the one model `path` is) and write the bench
    JSON (a `BenchReport`).

    Args:
        path: A run directory (models in RUN/onnx/), a bare folder of .onnx files, or one .onnx
            file (measured alone; its JSON goes to `<stem>.bench/<target>.json` beside it).
        target: Name of this machine in the file name; default arch + CPU model, slugified.
        batch_sizes: Rows per `session.run` call; one latency table per batch size.
        threads: onnxruntime intra- and inter-op threads (execution is sequential).
        opt_level: Graph optimisation level: disable, basic, extended or all.
        out: Output .json file, or a folder for `<target>.json`; default PATH/bench/<target>.json
            (a file: FOLDER/<stem>.bench/<target>.json).
        force: Replace an existing bench JSON.
        quick: QUICK_RULE instead of DEFAULT_RULE (numbers are then not reliable).
        min_time: Seconds of timed calls per model per batch size, at least (overrides the rule).
        min_reps: Timed calls per model per batch size, at least (overrides the rule).
        max_time: Seconds of timed calls per model per batch size, at most (overrides the rule).
        worker_timeout: Seconds allowed to each model's cold-start/memory subprocess.

    Returns:
        The path of the JSON written.

    Raises:
        KdedgeError: a run directory whose models or split.npz disagree with run.json (a recorded
            model missing, an unrecorded one: an interrupted export); and, after writing the JSON
            with each model's error, when every model failed (exit status 2 from the CLI).
    """
    batch_sizes = list(batch_sizes) if isinstance(batch_sizes, tuple) else batch_sizes
    check_params(PARAMETERS, locals())
    source = resolve_source(path)
    manifest = read_manifest(source.root) if source.is_run and (source.root / RUN_JSON).is_file() else None
    settings = build_settings(batch_sizes=batch_sizes, threads=threads, opt_level=opt_level, quick=quick,
                              rule=repetition_rule(quick=quick, min_reps=min_reps, min_time=min_time,
                                                   max_time=max_time))
    target = target or default_target()
    locked = stage_lock(source.root, stage="bench") if manifest else contextlib.nullcontext()
    with locked:
        if manifest is not None:
            check_run(source.root, manifest)
        out_path = output_path(out, source, target, force=force)
        report = _measure(source, target=target, settings=settings, manifest=manifest,
                          worker_timeout=worker_timeout)
        write_record(out_path, report)
        _log_summary(report, out_path)
        root = source.root.resolve()
        if manifest is not None and out_path.resolve().is_relative_to(root):
            update_manifest(source.root, stage="bench",
                            files=[out_path.resolve().relative_to(root).as_posix()],
                            info={"target": report.target, "seconds": report.seconds})
    if report.models and report.errors == len(report.models):
        raise KdedgeError(f"every model failed ({report.errors} of {len(report.models)}), nothing "
                          f"was measured; {out_path} lists why: " + "; ".join(
                              f"{name}: {model.error}" for name, model in report.models.items()))
    return out_path


@dataclasses.dataclass(frozen=True)
class Source:
    """What one bench measures, resolved from the user's path."""

    path: Path  # as the user gave it
    models: list[Path]  # the .onnx files, sorted
    root: Path  # run dir or folder: model names in the JSON are relative to it; c/ is looked for here
    onnx_dir: Path  # the folder holding the models
    rows_dir: Path  # where split.npz (the timed rows) is looked for
    is_run: bool  # a run directory (run.json checks, the lock, the manifest)
    single: bool  # one model file: measured alone, no C student, JSON beside it


def resolve_source(path: str | os.PathLike) -> Source:
    """A run dir, a folder of .onnx files, or one .onnx file (a file in RUN/onnx/ is timed on
    RUN/split.npz's rows where there is one)."""
    path = Path(path)
    if path.is_dir() or path.suffix != ".onnx":
        onnx_dir, root, is_run = resolve_models(path)
        return Source(path=path, models=sorted(onnx_dir.glob("*.onnx")), root=root,
                      onnx_dir=onnx_dir, rows_dir=root, is_run=is_run, single=False)
    if not os.path.lexists(path):
        raise KdedgeError(f"{path} does not exist; pass an .onnx file, a run directory or a folder "
                          "of .onnx models")
    folder = path.parent
    in_run = folder.name == ONNX_DIR and (folder.parent / SPLIT_NPZ).is_file()
    return Source(path=path, models=[path], root=folder, onnx_dir=folder,
                  rows_dir=folder.parent if in_run else folder, is_run=False, single=True)


def check_run(root: Path, manifest: Manifest) -> None:
    """Before benching a run directory: every model run.json records is there and no unrecorded
    one is (an interrupted export), and split.npz (the rows timed) matches its sha256."""
    problems = run_model_problems(root, manifest)
    if problems:
        raise KdedgeError("; ".join(problems) + f"; re-export with `kdedge export {root} --force`")
    if (root / SPLIT_NPZ).exists() or SPLIT_NPZ in manifest.artifacts:
        verify_recorded(root, [SPLIT_NPZ], manifest)


def _measure(source: Source, *, target: str, settings: BenchSettings, manifest: Manifest | None,
             worker_timeout: float) -> BenchReport:
    """Describe and time every model of `source` (and the C student of a run or folder), with
    the machine's load before and after."""
    started, clock = now_iso(), time.perf_counter()
    load_start = _checked_load("start")
    machine = describe_machine()
    _log.info(f"{machine.arch} {machine.cpu_model} → {target}"
              + ("  (EMULATED: timings are the translator's, not this CPU's)" if machine.emulated else ""))
    infos = [read_model_info(p) for p in source.models]
    models = describe_models(infos, source.root, recorded=manifest.artifacts if manifest else {})
    baseline = measure_cold_starts(infos, models, settings, timeout=worker_timeout)
    floors = measure_latency(infos, models, load_rows(source.rows_dir), settings)
    c_student, c_student_error = (None, None) if source.single else measure_c_student(source.root, settings)
    bench_source = BenchSource(path=str(source.path.resolve()), run_dir=source.is_run,
                               onnx_dir=str(source.onnx_dir.resolve()), run_id=_run_id(infos, manifest))
    return build_report(target=target, created=started, seconds=round(time.perf_counter() - clock, 2),
                        source=bench_source, machine=machine, settings=settings, baseline=baseline,
                        floors=floors, models=models, c_student=c_student,
                        c_student_error=c_student_error, load=(load_start, _checked_load("end")))


def _checked_load(when: str) -> LoadReading:
    """`read_load()` now; a warning when the machine is overloaded (its timings are inflated)."""
    reading = read_load()
    if is_overloaded(reading):
        _log.warning(f"the machine is overloaded at the {when} of the bench: load average "
                     f"{reading.load_average[0]:.2f} over {reading.cores} usable core(s); other "
                     "work inflates the timings (overloaded: true in the JSON): bench an idle "
                     "machine to quote them")
    return reading


def output_path(out: str | os.PathLike | None, source: Source, target: str, *, force: bool) -> Path:
    """Where the JSON goes; refuses to replace an existing one without `force`.

    Default: ROOT/bench/<target>.json; for a single model file FOLDER/<stem>.bench/<target>.json.
    """
    if out is not None:
        path = Path(out) if Path(out).suffix == ".json" else Path(out) / f"{target}.json"
    elif source.single:
        path = source.path.parent / f"{source.path.stem}.bench" / f"{target}.json"
    else:
        path = source.root / bench_file(target)
    if path.exists() and not force:
        raise KdedgeError(f"{path} already exists; pass --force to replace it, or --target=NAME to keep both")
    return path


def repetition_rule(*, quick: bool, min_reps: int | None, min_time: float | None,
                    max_time: float | None) -> RepetitionRule:
    """QUICK_RULE or DEFAULT_RULE with the user's overrides; the cap is raised to min_time."""
    overrides = {"min_reps": min_reps,
                 "min_time_s": None if min_time is None else float(min_time),
                 "max_time_s": None if max_time is None else float(max_time)}
    rule = dataclasses.replace(QUICK_RULE if quick else DEFAULT_RULE,
                               **{k: v for k, v in overrides.items() if v is not None})
    return dataclasses.replace(rule, max_time_s=max(rule.max_time_s, rule.min_time_s))


def build_settings(*, batch_sizes: list[int], threads: int, opt_level: str, quick: bool,
                   rule: RepetitionRule) -> BenchSettings:
    """The `settings` block: how the models were run and timed, and what each quantity means."""
    text = (f"per model and batch size: {rule.warmup_time_s} s warm-up (>= 5 calls), then round-robin "
            f"blocks of ~{BLOCK_TIME_S * 1e3:.0f} ms per model until >= {rule.min_reps} calls and "
            f">= {rule.min_time_s} s of calls, at most {rule.max_time_s} s")
    return BenchSettings(batch_sizes=list(batch_sizes), threads=threads, inter_op_threads=threads,
                         execution_mode="sequential", opt_level=opt_level, providers=list(PROVIDERS),
                         quick=quick, repetition_rule=rule,
                         definitions=dict(DEFINITIONS, repetition_rule=text))


def _metadata(info: ModelInfo, field: str) -> str | None:
    """One kdedge.* metadata_props value of a graph (`OnnxMetadata` field), or None."""
    return info.metadata.get(OnnxMetadata.PREFIX + field)


def describe_models(infos: list[ModelInfo], root: Path, *, recorded: dict[str, str]
                    ) -> dict[str, BenchedModel]:
    """Static description of every model; a swapped model (sha256 ≠ run.json) is warned about."""
    macs = {}
    if (root / METRICS_JSON).is_file():
        metrics = read_record(Metrics, root / METRICS_JSON)
        macs = {name: metrics.model(name).macs for name in MODEL_NAMES}
    models = {}
    for info in infos:
        file = Path(os.path.relpath(info.path, root)).as_posix()  # "onnx/student.onnx", run.json's key
        models[info.name] = describe_model(info, file=file, recorded=recorded.get(file), metrics_macs=macs)
        if models[info.name].warning:  # always shown: never measure a swapped model silently
            _log.warning(models[info.name].warning)
        if models[info.name].error:
            _log.warning(f"not measured: {models[info.name].error}")
    return models


def describe_model(info: ModelInfo, *, file: str, recorded: str | None,
                   metrics_macs: dict[str, int]) -> BenchedModel:
    """One model's file, metadata, sha256 vs run.json, graph cost and the metrics.json MACs check.

    Args:
        info: What `read_model_info` found; a model with `info.error` gets only file, bytes, error.
        file: Its path relative to the benched folder (run.json's key in a run).
        recorded: The sha256 run.json records for it, or None.
        metrics_macs: model name → MACs metrics.json records ({} without one).
    """
    size = info.path.stat().st_size
    if info.error is not None:
        return BenchedModel(file=file, bytes=size, error=info.error)
    stem_model, _, stem_variant = info.name[: -len(".onnx")].partition(".")
    model = _metadata(info, "model") or stem_model
    variant = _metadata(info, "variant") or stem_variant or "fp32"
    sha256 = sha256_file(info.path)
    matches = None if recorded is None else sha256 == recorded
    warning = None if matches is not False else (
        f"{file} differs from what `kdedge export` recorded in run.json (sha256 {recorded[:12]}…, "
        f"file has {sha256[:12]}…): changed after export; re-export, or the numbers do not describe "
        "the exported model")
    cost, cost_error = _graph_cost(info.path)
    reference = metrics_macs.get(model) if variant == "fp32" and cost is not None else None
    return BenchedModel(
        file=file, bytes=size, sha256=sha256, matches_run_json=matches, warning=warning, model=model,
        variant=variant, n_features=info.n_features, input=info.input_name,
        outputs=[name for name, _, _ in info.outputs], feature_names=info.feature_names,
        class_names=info.class_names, metadata=dict(info.metadata), cost=cost, cost_error=cost_error,
        metrics_macs=reference, macs_match_metrics=None if reference is None else cost.macs == reference)


def _graph_cost(path: Path) -> tuple[GraphCost | None, str | None]:
    """(cost, None), or (None, why) for a graph `count_graph_cost` cannot count."""
    try:
        return count_graph_cost(path), None
    except Exception as exc:  # counting is informative; a graph we cannot count is still timed
        return None, f"{type(exc).__name__}: {exc}"


def _failed(model: BenchedModel, error: str) -> BenchedModel:
    """A model that could not be measured: its file, size and why."""
    _log.warning(f"not measured: {error}")
    return BenchedModel(file=model.file, bytes=model.bytes, error=error)


def measure_cold_starts(infos: list[ModelInfo], models: dict[str, BenchedModel],
                        settings: BenchSettings, *, timeout: float) -> BenchBaseline:
    """Cold start and peak memory of each model, each in a fresh subprocess (`_worker.py`).

    Fills `cold_start` and `memory` of the models in `models`; one onnxruntime cannot run is
    replaced by its error. Returns the baseline subprocess memory is compared with.
    """
    raw = _run_worker({"mode": "baseline"}, timeout=timeout)
    baseline = BenchBaseline(import_ms=raw.get("import_ms"), error=raw.get("error"),
                             memory=Memory.from_json(raw["memory"]) if "memory" in raw else None)
    spec = {"mode": "model", "threads": settings.threads, "batch_sizes": settings.batch_sizes,
            "opt_level_attr": OPT_LEVELS[settings.opt_level]}
    for info in (i for i in infos if models[i.name].error is None):
        cold = _run_worker(dict(spec, path=str(info.path), input_name=info.input_name,
                                n_features=info.n_features), timeout=timeout)
        if "error" in cold:
            models[info.name] = _failed(models[info.name], f"{info.path}: onnxruntime cannot run it "
                                                           f"({cold['error']}); re-export it")
            continue
        model = models[info.name]
        model.cold_start = ColdStart(**{f.name: cold[f.name] for f in dataclasses.fields(ColdStart)})
        model.memory = model_memory(Memory.from_json(cold.get("memory") or {}), baseline)
        peak = (f"peak {model.memory.peak_mb:.1f} MB (+{model.memory.increase_mb:.1f})"
                if model.memory.increase_mb is not None else f"peak unknown: {model.memory.error}")
        _log.info(f"{info.name}: session {model.cold_start.session_creation_ms:.1f} ms, first run "
                  f"{model.cold_start.first_inference_ms:.2f} ms, {peak}")
    return baseline


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


def model_memory(measured: Memory, baseline: BenchBaseline) -> Memory:
    """The worker's readings plus peak, baseline and increase (MB); null where unknown.

    Only VmHWM counts as a peak: ru_maxrss would carry over the bench process's own peak through
    fork/exec (see `_worker._memory`), so without VmHWM the peak is null with the reason in `error`.
    """
    base = baseline.memory.vmhwm_mb if baseline.memory is not None else None
    memory = dataclasses.replace(measured, peak_mb=measured.vmhwm_mb, baseline_mb=base, increase_mb=None)
    if memory.peak_mb is not None and base is not None:
        memory.increase_mb = round(memory.peak_mb - base, 2)
    elif memory.error is None:
        reason = (baseline.memory.error if baseline.memory else None) or baseline.error or "no VmHWM"
        memory.error = f"baseline subprocess: {reason}"
    return memory


@dataclasses.dataclass
class _Timed:
    """One graph of the interleaved run: its session and the rows it is fed."""

    session: ort.InferenceSession
    input_name: str
    rows: np.ndarray


def measure_latency(infos: list[ModelInfo], models: dict[str, BenchedModel], rows,
                    settings: BenchSettings) -> dict[str, Floor]:
    """Time every runnable model and its floor at each batch size, all interleaved.

    Fills `latency`, `floor` and `input_rows` of the models in `models`; returns the floors.
    """
    timed = _open_sessions([i for i in infos if models[i.name].error is None], models, rows,
                           session_options(threads=settings.threads, opt_level=settings.opt_level))
    floors = {name: Floor(latency={}) for name in timed if name not in models}
    for batch in settings.batch_sizes:
        _log.info(f"batch {batch}: timing {len(timed)} graphs interleaved")
        calls = {name: (lambda g=graph, feed={graph.input_name: tile_rows(graph.rows, batch)}:
                        g.session.run(None, feed)) for name, graph in timed.items()}
        stats = measure_interleaved(calls, rule=settings.repetition_rule, rows_per_call=batch)
        for name, timings in stats.items():
            if name in floors:
                floors[name].latency[str(batch)] = timings
                continue
            model = models[name]
            entry = model.latency[str(batch)] = dataclasses.replace(
                timings, ratio_to_floor=round(timings.p50_us / stats[model.floor].p50_us, 3))
            _log.info(f"  {name:<28} p50 {entry.p50_us:>10.1f} us  p99 {entry.p99_us:>10.1f} us  "
                      f"{entry.ratio_to_floor:>6.2f}x floor  {entry.throughput_rows_per_s:>12.0f} rows/s")
    return floors


def _open_sessions(infos: list[ModelInfo], models: dict[str, BenchedModel], rows,
                   options: ort.SessionOptions) -> dict[str, _Timed]:
    """In-process sessions of the models, plus one floor per input/output signature.

    Sets each model's `floor` and `input_rows`; a model whose session fails gets its error.
    """
    timed: dict[str, _Timed] = {}
    for info in infos:
        try:
            session = ort.InferenceSession(str(info.path), sess_options=options, providers=PROVIDERS)
        except Exception as exc:
            models[info.name] = _failed(models[info.name], f"{info.path}: {exc}")
            continue
        matrix, models[info.name].input_rows = model_rows(info, rows)
        timed[info.name] = _Timed(session, info.input_name, matrix)
        floor = models[info.name].floor = floor_key(n_features=info.n_features, outputs=info.outputs)
        if floor not in timed:
            graph = build_floor_model(input_name=info.input_name, n_features=info.n_features,
                                      outputs=info.outputs)
            timed[floor] = _Timed(ort.InferenceSession(graph.SerializeToString(), sess_options=options,
                                                       providers=PROVIDERS), info.input_name, matrix)
    return timed


def measure_c_student(root: Path, settings: BenchSettings) -> tuple[CBench | None, str | None]:
    """The C student `kdedge export --c` wrote (ROOT/c/), timed in C at batch 1 beside the
    onnxruntime floor (`bench_c`, with the bench's rule and session settings; --quick: 5 short
    blocks): (its record, None); (None, None) without a C student; (None, why) where it cannot
    be built or timed here (no gcc on a device, a c/ stale against student.onnx), the rest of the
    bench being unaffected."""
    if c_sources(root) is None:
        return None, None
    blocks = {"blocks": 5, "block_time_s": 0.002} if settings.quick else {}
    try:
        return bench_c(root, rule=settings.repetition_rule, threads=settings.threads,
                       opt_level=settings.opt_level, **blocks), None
    except ToolchainMissing as exc:  # a device without a compiler: expected, not a warning
        _log.info(f"C student not timed: {exc}")
        return None, str(exc)
    except KdedgeError as exc:
        _log.warning(f"C student not timed: {exc}")
        return None, str(exc)


def _run_id(infos: list[ModelInfo], manifest: Manifest | None) -> str | None:
    """The run the models came from: their common kdedge.run_id, else run.json's."""
    ids = {_metadata(i, "run_id") for i in infos} - {None}
    if len(ids) == 1:
        return ids.pop()
    return manifest.run_id if manifest is not None else None


def build_report(*, target: str, created: str, seconds: float, source: BenchSource, machine: Machine,
                 settings: BenchSettings, baseline: BenchBaseline, floors: dict[str, Floor],
                 models: dict[str, BenchedModel], c_student: CBench | None = None,
                 c_student_error: str | None = None,
                 load: tuple[LoadReading | None, LoadReading | None] = (None, None)) -> BenchReport:
    """The bench JSON: the parts measured above plus the error and mismatch counts, and the
    machine's load at (start, end) with `overloaded` when either exceeds the usable cores."""
    return BenchReport(
        kdedge_version=kdedge.__version__, target=target, created=created, seconds=seconds,
        source=source, machine=machine, settings=settings, baseline=baseline, floors=floors,
        models=models, errors=sum(m.error is not None for m in models.values()),
        mismatched=sum(m.matches_run_json is False for m in models.values()),
        warning=EMULATED_WARNING if machine.emulated else None, c_student=c_student,
        c_student_error=c_student_error, load_start=load[0], load_end=load[1],
        overloaded=any(is_overloaded(reading) for reading in load))


def _log_summary(report: BenchReport, out_path: Path) -> None:
    _log.info(f"wrote {out_path} in {report.seconds:.1f} s ({report.errors} model error(s))")
    if report.mismatched:
        _log.warning(f"{report.mismatched} model(s) differ from what `kdedge export` recorded in run.json "
                     f"(matches_run_json false in {out_path}); re-export before trusting their numbers")

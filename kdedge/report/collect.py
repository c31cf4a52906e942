"""Read everything a report needs from a run directory into one `Facts` object.

Distill output is required (run.json, metrics.json, ...); export.json and bench/*.json are
optional: a stage that has not run is recorded in `Facts.missing` with the command that produces
it. All knowledge of the bench JSON format (runtime/bench.py, `bench_format` 1) lives in
`_read_bench`, and all knowledge of export.json in `_read_export`, so a format change is one edit.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

from kdedge import rundir
from kdedge.rundir import KdedgeError

EXPORT_COMMAND = "kdedge export {run} --quantize all"
BENCH_COMMAND = "kdedge bench {run}"


@dataclass
class BenchModel:
    """One model's measurements on one target; times in microseconds, memory in MB."""

    name: str  # e.g. "student.int8" (the ONNX file name without .onnx)
    error: str | None = None
    model: str | None = None  # teacher / student
    variant: str | None = None  # fp32 / int8 / int8-static / fp16
    file_bytes: int | None = None
    latency: dict[int, dict] = field(default_factory=dict)  # batch → p50, p99, ..., ratio_to_floor
    session_ms: float | None = None
    first_inference_ms: float | None = None
    peak_mb: float | None = None  # measured peak RSS of a fresh process holding the model
    increase_mb: float | None = None  # peak minus a process that only imported onnxruntime
    macs: int | None = None
    flops: int | None = None
    params: int | None = None
    weight_bytes: int | None = None
    samples_batch1_us: list[float] | None = None  # raw batch-1 timings when the bench kept them
    sha256: str | None = None  # of the .onnx file the bench measured


@dataclass
class Bench:
    """One bench JSON: a target machine and its per-model measurements."""

    path: Path
    target: str
    emulated: bool
    machine: dict
    batch_sizes: list[int]
    models: dict[str, BenchModel]
    floor_p50_us: dict[int, float]  # batch → p50 of the cheapest floor graph measured
    quick: bool = False
    # models whose measured file's sha256 differs from what export recorded in run.json
    # (an older export, another run's file, or a file changed after export)
    stale: list[str] = field(default_factory=list)


@dataclass
class Facts:
    """The run as the report sees it."""

    run: object  # kdedge.artifacts.Run
    generated: str
    history: dict | None
    export: dict | None  # {"opset", "models": {name: {...}}} or None when export has not run
    benches: list[Bench]
    missing: dict[str, str]  # stage → command that produces its output

    @property
    def metrics(self) -> dict:
        return self.run.metrics

    @property
    def k(self) -> int:
        return len(self.run.selected_features)

    @property
    def n(self) -> int:
        return len(self.run.feature_names)

    @property
    def n_classes(self) -> int:
        return len(self.run.class_names)


def collect(run_dir: str | Path, *, bench_files=()) -> Facts:
    """Read the run directory, its export.json and every bench JSON (RUN/bench/*.json + extras).

    Raises:
        KdedgeError: no run.json (not a run directory), a corrupt distill output, an unreadable
            export.json or bench JSON (the message names the file).
    """
    from kdedge.artifacts import load_run  # imports torch; kept out of module import

    run_dir = Path(run_dir)
    rundir.read_manifest(run_dir)  # a clear error for a folder that is not a run
    run = load_run(run_dir)
    history_path = run_dir / "history.json"
    history = rundir.read_json(history_path) if history_path.is_file() else None
    missing = {}
    export = None
    if (run_dir / "export.json").is_file():
        export = _read_export(run_dir / "export.json")
    else:
        missing["export"] = EXPORT_COMMAND.format(run=run_dir)
    paths = sorted((run_dir / "bench").glob("*.json")) if (run_dir / "bench").is_dir() else []
    for extra in _split_paths(bench_files):
        if not extra.is_file():
            raise KdedgeError(f"--bench {extra} does not exist; give the path of a JSON written by "
                              "`kdedge bench`")
        paths.append(extra)
    seen, benches = set(), []
    for path in paths:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            benches.append(_read_bench(path))
    if not benches:
        missing["bench"] = BENCH_COMMAND.format(run=run_dir)
    current = {name[len("onnx/"):-len(".onnx")]: digest
               for name, digest in run.manifest.get("artifacts", {}).items()
               if name.startswith("onnx/") and name.endswith(".onnx")}
    for bench in benches:  # re-exported after this bench, another run's files, a file swapped after export
        bench.stale = sorted(name for name, model in bench.models.items()
                             if model.sha256 and current.get(name, model.sha256) != model.sha256)
    generated = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return Facts(run=run, generated=generated, history=history, export=export, benches=benches,
                 missing=missing)


def _split_paths(bench_files) -> list[Path]:
    """`--bench` values as paths: the CLI (python-fire) hands over `a.json,b.json` or
    `[a.json,b.json]` as one string, which is split here unless it names an existing file."""
    if isinstance(bench_files, (str, Path)):
        bench_files = [bench_files]
    paths = []
    for entry in bench_files:
        text = str(entry)
        if not Path(text).exists() and ("," in text or text.startswith("[")):
            paths += [Path(p.strip(" '\"")) for p in text.strip("[]()").split(",") if p.strip(" '\"")]
        else:
            paths.append(Path(text))
    return paths


def _read_export(path: Path) -> dict:
    data = rundir.read_json(path)
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise KdedgeError(f"{path} has no \"models\" object; re-run `kdedge export` on this run")
    return data


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _read_bench(path: Path) -> Bench:
    """Normalise one bench JSON (format of runtime/bench.py) into a `Bench`."""
    try:
        data = rundir.read_json(path)
        if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
            raise ValueError('no "models" object')
        machine = data.get("machine") or {}
        settings = data.get("settings") or {}
        models = {}
        for key, entry in data["models"].items():
            name = key[:-5] if key.endswith(".onnx") else key
            models[name] = _read_bench_model(name, entry)
        floor = {}
        for fl in (data.get("floors") or {}).values():
            for batch, stats in (fl.get("latency") or {}).items():
                p50 = _number(stats.get("p50_us"))
                if p50 is not None:
                    floor[int(batch)] = min(p50, floor.get(int(batch), p50))
        batches = settings.get("batch_sizes") or sorted({b for m in models.values() for b in m.latency})
        return Bench(path=path, target=str(data.get("target") or path.stem),
                     emulated=bool(machine.get("emulated", False)), machine=machine,
                     batch_sizes=[int(b) for b in batches], models=models, floor_p50_us=floor,
                     quick=bool(settings.get("quick", False)))
    except KdedgeError as exc:
        raise KdedgeError(f"bench JSON {path} cannot be read: {exc}") from exc
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise KdedgeError(f"bench JSON {path} is not in the format `kdedge bench` writes "
                          f"({type(exc).__name__}: {exc}); re-run `kdedge bench` or drop the file"
                          ) from exc


def _read_bench_model(name: str, entry: dict) -> BenchModel:
    if not isinstance(entry, dict):
        raise ValueError(f"models[{name!r}] is not an object")
    model = BenchModel(name=name, error=entry.get("error"), model=entry.get("model"),
                       variant=entry.get("variant"), file_bytes=_number(entry.get("bytes")),
                       sha256=entry.get("sha256"))
    for batch, stats in (entry.get("latency") or {}).items():
        model.latency[int(batch)] = {
            "p50": stats["p50_us"], "p90": stats.get("p90_us"), "p95": stats.get("p95_us"),
            "p99": stats["p99_us"], "mean": stats.get("mean_us"), "min": stats.get("min_us"),
            "max": stats.get("max_us"), "reps": stats.get("reps"),
            "ratio_to_floor": stats.get("ratio_to_floor"),
            "throughput_rps": stats.get("throughput_rows_per_s")}
    cold = entry.get("cold_start") or {}
    model.session_ms = _number(cold.get("session_creation_ms"))
    model.first_inference_ms = _number(cold.get("first_inference_ms"))
    memory = entry.get("memory") or {}
    model.peak_mb = _number(memory.get("peak_mb"))
    model.increase_mb = _number(memory.get("increase_mb"))
    cost = entry.get("cost") or {}
    for attr in ("macs", "flops", "params", "weight_bytes"):
        setattr(model, attr, _number(cost.get(attr)))
    samples = entry.get("samples_us_batch1")
    if isinstance(samples, list) and samples:
        model.samples_batch1_us = [float(s) for s in samples]
    return model


def reference_bench(facts: Facts) -> Bench | None:
    """The bench whose timings the report quotes first: the first non-emulated one, else the first."""
    real = [b for b in facts.benches if not b.emulated]
    return (real or facts.benches or [None])[0]


def model_label(name: str) -> str:
    """Display name of a model key: student.int8 → student (int8)."""
    base, _, variant = name.partition(".")
    return f"{base} ({variant})" if variant else base

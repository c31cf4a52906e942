"""Read everything a report needs from a run directory into one `Facts` object.

Every file is read through its record in `kdedge.contract` (the run through
`kdedge.artifacts.load_run`), so the report sees the same fields the stages write and a file in
another format stops the report with an error naming the file and the field. Distill output is
required; export.json and bench/*.json are optional: a stage that has not run is recorded in
`Facts.missing` with the command that produces it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

from kdedge import contract
from kdedge.artifacts import Run, load_run
from kdedge.contract import (BenchedModel, BenchReport, ExportSummary, LatencyStats, Machine,
                             Search, read_record)
from kdedge.rundir import KdedgeError, recorded_files, verify_recorded

EXPORT_COMMAND = "kdedge export {run} --quantize all"
BENCH_COMMAND = "kdedge bench {run}"


@dataclass
class Bench:
    """One bench JSON as the report shows it: the record, where it was read from, and which of
    its models are stale (measured from a file whose sha256 differs from what export recorded in
    run.json: an older export, another run's file, or a file changed after export)."""

    path: Path
    record: BenchReport
    stale: list[str] = field(default_factory=list)

    @property
    def target(self) -> str:
        return self.record.target

    @property
    def emulated(self) -> bool:
        return self.record.machine.emulated

    @property
    def machine(self) -> Machine:
        return self.record.machine

    @property
    def quick(self) -> bool:
        return self.record.settings.quick

    @property
    def overloaded(self) -> bool:
        """Other work loaded the machine beyond its usable cores during the bench."""
        return self.record.overloaded

    @property
    def batch_sizes(self) -> list[int]:
        return list(self.record.settings.batch_sizes)

    @property
    def models(self) -> dict[str, BenchedModel]:
        """Measured models by stem (`student.int8`), the name export.json uses."""
        return {Path(file_name).stem: model for file_name, model in self.record.models.items()}

    def floor_p50_us(self, batch: int) -> float | None:
        """p50 of the cheapest floor graph measured at `batch`, or None."""
        values = [stats.p50_us for floor in self.record.floors.values()
                  if (stats := floor.latency.get(str(batch))) is not None]
        return min(values, default=None)


@dataclass
class Facts:
    """The run as the report sees it."""

    run: Run
    generated: str
    export: ExportSummary | None  # None when export has not run
    benches: list[Bench]
    missing: dict[str, str]  # stage → command that produces its output
    # models run.json records (onnx/<file>) that are no longer on disk: the report warns
    missing_models: list[str] = field(default_factory=list)
    search: Search | None = None  # search.json; None for a run made before the size search

    @property
    def gbdt_teacher(self) -> bool:
        """The teacher is a gradient-boosted tree ensemble (--teacher gbdt): it has no MACs."""
        return self.metrics.teacher.family == "gbdt"

    @property
    def metrics(self) -> contract.Metrics:
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

    @property
    def positive_class(self) -> str | None:
        """Binary data: the class metrics.json calls positive (data.positive_class); None for
        multi-class data."""
        return self.metrics.data.positive_class

    @property
    def positive_index(self) -> int | None:
        """Column of the positive class in the probability arrays; None for multi-class data."""
        name = self.positive_class
        if name is None:
            return None
        if name not in self.run.class_names:
            raise KdedgeError(f"{self.run.path / contract.METRICS_JSON}: positive_class {name!r} "
                              f"is not one of the classes {self.run.class_names}; re-run "
                              "`kdedge distill`")
        return self.run.class_names.index(name)


def collect(run_dir: str | Path, *, bench_files=()) -> Facts:
    """Read the run directory, its export.json and every bench JSON (RUN/bench/*.json + extras).

    Args:
        run_dir: A run directory written by `kdedge distill`.
        bench_files: Paths of extra bench JSONs (another device's); one read twice counts once.

    Raises:
        KdedgeError: no run.json (not a run directory), a corrupt distill output, an export.json
            or bench JSON that does not match the contract (the message names the file).
    """
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    missing = {}
    export = None
    if (run_dir / contract.EXPORT_JSON).exists():
        verify_recorded(run_dir, [contract.EXPORT_JSON], run.manifest,
                        fix=f"re-export with `kdedge export {run_dir} --force`")
        export = read_record(ExportSummary, run_dir / contract.EXPORT_JSON)
    else:
        missing["export"] = EXPORT_COMMAND.format(run=run_dir)
    benches = [read_bench(path, run=run) for path in _bench_paths(run_dir, bench_files)]
    if not benches:
        missing["bench"] = BENCH_COMMAND.format(run=run_dir)
    for bench in benches:
        bench.stale = stale_models(run, bench)
    generated = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    gone = [name for name in recorded_files(run.manifest, contract.ONNX_DIR)
            if name.endswith(".onnx") and not (run_dir / name).is_file()]
    return Facts(run=run, generated=generated, export=export, benches=benches, missing=missing,
                 missing_models=gone, search=read_search(run))


def read_search(run: Run) -> Search | None:
    """search.json through `contract.Search`, checked against run.json's sha256; None for a run
    distill made before it wrote one (run.json does not record it)."""
    if contract.SEARCH_JSON not in run.manifest.artifacts:
        return None
    path = verify_recorded(run.path, [contract.SEARCH_JSON], run.manifest)[contract.SEARCH_JSON]
    return read_record(Search, path)


def _bench_paths(run_dir: Path, extras) -> list[Path]:
    """RUN/bench/*.json, then the extra files, each file once."""
    bench_dir = run_dir / contract.BENCH_DIR
    paths = sorted(bench_dir.glob("*.json")) if bench_dir.is_dir() else []
    for extra in map(Path, extras):
        if not extra.is_file():
            raise KdedgeError(f"--bench {extra} does not exist; give the path of a JSON written "
                              "by `kdedge bench`")
        paths.append(extra)
    unique: dict[Path, Path] = {}
    for path in paths:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def read_bench(path: Path, *, run: Run | None = None) -> Bench:
    """One bench JSON through `contract.BenchReport`: a file of another format (an older
    bench_format) raises a `ContractError` naming it and saying to re-run `kdedge bench`. One in
    RUN/bench/ of `run` is first checked against the sha256 run.json records (a file passed with
    --bench from elsewhere is not recorded there, and is not checked)."""
    path = Path(path)
    if run is not None and path.resolve().parent == (run.path / contract.BENCH_DIR).resolve():
        verify_recorded(run.path, [f"{contract.BENCH_DIR}/{path.name}"], run.manifest,
                        fix=f"re-run `kdedge bench {run.path} --force`")
    return Bench(path=path, record=read_record(BenchReport, path))


def stale_models(run: Run, bench: Bench) -> list[str]:
    """Stems of the bench's models whose measured sha256 differs from run.json's entry for
    onnx/<file>; a model without either sha256 cannot be judged and is not called stale."""
    stale = []
    for file_name, model in bench.record.models.items():
        recorded = run.manifest.artifacts.get(f"{contract.ONNX_DIR}/{file_name}")
        if model.sha256 and recorded and recorded != model.sha256:
            stale.append(Path(file_name).stem)
    return sorted(stale)


def reference_bench(facts: Facts) -> Bench | None:
    """The bench whose timings the report quotes first: the first non-emulated one, else the first."""
    real = [b for b in facts.benches if not b.emulated]
    return (real or facts.benches or [None])[0]


def usable(bench: Bench | None, name: str) -> BenchedModel | None:
    """Model `name` (a stem) of `bench` when it was measured without error, else None."""
    model = bench.models.get(name) if bench else None
    return None if model is None or model.error else model


def latency(model: BenchedModel | None, batch: int) -> LatencyStats | None:
    """A measured model's timings at `batch`, or None."""
    return None if model is None else model.latency.get(str(batch))


def p50_us(bench: Bench | None, name: str, batch: int = 1) -> float | None:
    """Model `name`'s p50 at `batch` fit to compare models by: None when the bench is missing,
    did not measure it, failed on it, or measured another file than export recorded (stale)."""
    if bench is None or name in bench.stale:
        return None
    stats = latency(usable(bench, name), batch)
    return None if stats is None else stats.p50_us


def model_label(name: str) -> str:
    """Display name of a model key: student.int8 → student (int8)."""
    base, _, variant = name.partition(".")
    return f"{base} ({variant})" if variant else base

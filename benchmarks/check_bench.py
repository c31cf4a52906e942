"""Measure the bench stage's "what must hold" figures (medians of repeated benches, one machine).

    python benchmarks/check_bench.py [RUN_DIR] [--repeats 3] [--arm] [--write docs/results-bench.md]

Without RUN_DIR it makes a default run (distill + export --quantize all) in a temp folder. Each
repeat is a full default `kdedge bench` (models interleaved with the floor graph); the script
quotes the median over repeats of each ratio, so a noisy neighbour moves all models alike.
--arm also runs scripts/arm_check.sh (root, qemu) on the run. Exit 1 if a requirement fails.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from results import Check, finish, requirement_table

from kdedge.contract import EXPORTED_MODELS, METRICS_JSON, BenchReport, Metrics, read_record
from kdedge.runtime.bench import bench


def _mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"  # null where the platform has no VmHWM


def make_run(root: Path) -> Path:
    from kdedge.distill import distill
    from kdedge.export import export_run

    run = distill(out=str(root / "default"), force=True)
    export_run(run, quantize="all")
    return run


def repeated_benches(run: Path, repeats: int) -> tuple[list[BenchReport], list[float]]:
    """`repeats` default benches of `run` and their wall times.

    The JSONs are scratch, written outside the run, so run.json records none of them.
    """
    reports, seconds = [], []
    with tempfile.TemporaryDirectory(prefix="kdedge-check-bench-") as scratch:
        for i in range(repeats):
            started = time.perf_counter()
            path = bench(run, target=f"check-{i}", out=scratch)
            seconds.append(time.perf_counter() - started)
            reports.append(read_record(BenchReport, path))
    return reports, seconds


def requirements(reports: list[BenchReport], seconds: list[float], metrics: Metrics) -> list[Check]:
    """The bench stage's requirements, each as (requirement, measured value, holds)."""
    def median(fn: Callable[[BenchReport], float]) -> float:
        return statistics.median(fn(r) for r in reports)

    ratio_b1 = median(lambda r: r.models["student.onnx"].latency["1"].ratio_to_floor)
    teacher_b1 = median(lambda r: r.models["teacher.onnx"].latency["1"].ratio_to_floor)
    speedup = median(lambda r: r.models["student.onnx"].latency["1024"].throughput_rows_per_s
                     / r.models["teacher.onnx"].latency["1024"].throughput_rows_per_s)
    graph_macs = {name: reports[0].models[f"{name}.onnx"].cost.macs for name in EXPORTED_MODELS}
    recorded = {name: metrics.model(name).macs for name in EXPORTED_MODELS}
    return [
        ("student batch-1 p50 <= 1.2x the floor (median of repeats)", f"{ratio_b1:.3f}x "
         f"(teacher {teacher_b1:.3f}x)", ratio_b1 <= 1.2),
        ("student throughput at batch 1024 >= 3x the teacher's", f"{speedup:.1f}x", speedup >= 3),
        ("graph-counted MACs equal metrics.json",
         ", ".join(f"{n} {graph_macs[n]:,} vs {recorded[n]:,}" for n in graph_macs),
         graph_macs == recorded),
        ("every model measured without error", f"{reports[0].errors} errors", reports[0].errors == 0),
        ("default bench wall time (median)", f"{statistics.median(seconds):.1f} s", True),
    ]


def model_table(reports: list[BenchReport]) -> list[str]:
    """Markdown rows per model: MACs, batch-1 latency, batch-1024 throughput, memory (medians)."""
    lines = ["| model | MACs | p50 µs (b1) | × floor (b1) | p99 µs (b1) | rows/s (b1024) | peak RSS MB (+ over baseline) |",
             "|---|---|---|---|---|---|---|"]
    for name, entry in reports[0].models.items():
        if entry.error is not None:
            lines.append(f"| {name} | error: {entry.error} | | | | | |")
            continue

        def lat(batch: str, key: str, name: str = name) -> float:
            return statistics.median(getattr(r.models[name].latency[batch], key) for r in reports)

        memory = entry.memory
        macs = f"{entry.cost.macs:,}" if entry.cost is not None else f"n/a ({entry.cost_error})"
        lines.append(f"| {name} | {macs} | {lat('1', 'p50_us'):.2f} | "
                     f"{lat('1', 'ratio_to_floor'):.3f} | {lat('1', 'p99_us'):.2f} | "
                     f"{lat('1024', 'throughput_rows_per_s'):,.0f} | "
                     f"{_mb(memory.peak_mb if memory else None)} "
                     f"(+{_mb(memory.increase_mb if memory else None)}) |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("run", nargs="?")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--arm", action="store_true", help="also run scripts/arm_check.sh")
    parser.add_argument("--write", help="also write the results as markdown to this file")
    args = parser.parse_args()
    run = Path(args.run) if args.run else make_run(Path(tempfile.mkdtemp(prefix="kdedge-bench-")))
    reports, seconds = repeated_benches(run, args.repeats)
    checks = requirements(reports, seconds, read_record(Metrics, run / METRICS_JSON))
    if args.arm:
        started = time.perf_counter()
        rc = subprocess.run(["bash", str(Path(__file__).parents[1] / "scripts" / "arm_check.sh"),
                             str(run)]).returncode
        checks.append(("make arm-check passes (aarch64 under qemu = x86 outputs)",
                       f"exit {rc} in {time.perf_counter() - started:.0f} s", rc == 0))
    machine = reports[0].machine
    lines = [f"Measured {time.strftime('%Y-%m-%d')} on {machine.cpu_model} ({machine.cores} cores), "
             f"{args.repeats} repeats of the default bench, by `python benchmarks/check_bench.py`.", "",
             *requirement_table(checks), "", "Medians over repeats, batch 1 and batch 1024:", "",
             *model_table(reports)]
    return finish("bench", lines, checks, args.write)


if __name__ == "__main__":
    sys.exit(main())

"""Measure the bench stage's "what must hold" figures (medians of repeated benches, one machine).

    python benchmarks/check_bench.py [RUN_DIR] [--repeats 3] [--arm] [--write docs/results-bench.md]

Without RUN_DIR it makes a default run (distill + export --quantize all) in a temp folder. Each
repeat is a full default `kdedge bench` (models interleaved with the floor graph); the script
quotes the median over repeats of each ratio, so a noisy neighbour moves all models alike.
--arm also runs scripts/arm_check.sh (root, qemu) on the run. Exit 1 if a requirement fails.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import finish, requirement_table

from kdedge.runtime.bench import bench


def _mb(value) -> str:
    return "n/a" if value is None else f"{value:.1f}"  # null where the platform has no VmHWM


def make_run(root: Path) -> Path:
    from kdedge.distill import distill
    from kdedge.export import export_run

    run = distill(out=str(root / "default"), force=True, quiet=True)
    export_run(run, quantize="all", quiet=True)
    return run


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("run", nargs="?")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--arm", action="store_true", help="also run scripts/arm_check.sh")
    parser.add_argument("--write", help="also write the results as markdown to this file")
    args = parser.parse_args()
    run = Path(args.run) if args.run else make_run(Path(tempfile.mkdtemp(prefix="kdedge-bench-")))
    metrics = json.loads((run / "metrics.json").read_text())

    reports, seconds = [], []
    for i in range(args.repeats):
        started = time.perf_counter()
        path = bench(run, target=f"check-{i}", out=run / "bench" / f"check-{i}.json", force=True,
                     quiet=True)
        seconds.append(time.perf_counter() - started)
        reports.append(json.loads(path.read_text()))
        path.unlink()  # repeats are scratch; the run keeps its own bench/<target>.json

    def median(fn):
        return statistics.median(fn(r) for r in reports)

    models = reports[0]["models"]
    ratio_b1 = median(lambda r: r["models"]["student.onnx"]["latency"]["1"]["ratio_to_floor"])
    teacher_b1 = median(lambda r: r["models"]["teacher.onnx"]["latency"]["1"]["ratio_to_floor"])
    speedup = median(lambda r: r["models"]["student.onnx"]["latency"]["1024"]["throughput_rows_per_s"]
                     / r["models"]["teacher.onnx"]["latency"]["1024"]["throughput_rows_per_s"])
    graph_macs = {name: models[f"{name}.onnx"]["cost"]["macs"] for name in ("teacher", "student")}
    checks = [
        ("student batch-1 p50 <= 1.2x the floor (median of repeats)", f"{ratio_b1:.3f}x "
         f"(teacher {teacher_b1:.3f}x)", ratio_b1 <= 1.2),
        ("student throughput at batch 1024 >= 3x the teacher's", f"{speedup:.1f}x", speedup >= 3),
        ("graph-counted MACs equal metrics.json",
         ", ".join(f"{n} {graph_macs[n]:,} vs {metrics[n]['macs']:,}" for n in graph_macs),
         all(graph_macs[n] == metrics[n]["macs"] for n in graph_macs)),
        ("every model measured without error", f"{reports[0]['errors']} errors",
         reports[0]["errors"] == 0),
        ("default bench wall time (median)", f"{statistics.median(seconds):.1f} s", True),
    ]
    if args.arm:
        started = time.perf_counter()
        rc = subprocess.run(["bash", str(Path(__file__).parents[1] / "scripts" / "arm_check.sh"),
                             str(run)]).returncode
        checks.append(("make arm-check passes (aarch64 under qemu = x86 outputs)",
                       f"exit {rc} in {time.perf_counter() - started:.0f} s", rc == 0))

    lines = [f"Measured {time.strftime('%Y-%m-%d')} on {reports[0]['machine']['cpu_model']} "
             f"({reports[0]['machine']['cores']} cores), {args.repeats} repeats of the default bench, "
             "by `python benchmarks/check_bench.py`.", "",
             *requirement_table(checks)]
    lines += ["", "Medians over repeats, batch 1 and batch 1024:", "",
              "| model | MACs | p50 µs (b1) | × floor (b1) | p99 µs (b1) | rows/s (b1024) | peak RSS MB (+ over baseline) |",
              "|---|---|---|---|---|---|---|"]
    for name, entry in models.items():
        if "error" in entry:
            lines.append(f"| {name} | error: {entry['error']} | | | | | |")
            continue
        lat = lambda b, key: median(lambda r: r["models"][name]["latency"][b][key])  # noqa: E731
        memory = entry.get("memory", {})
        lines.append(f"| {name} | {entry['cost']['macs']:,} | {lat('1', 'p50_us'):.2f} | "
                     f"{lat('1', 'ratio_to_floor'):.3f} | {lat('1', 'p99_us'):.2f} | "
                     f"{lat('1024', 'throughput_rows_per_s'):,.0f} | "
                     f"{_mb(memory.get('peak_mb'))} (+{_mb(memory.get('increase_mb'))}) |")
    return finish("bench", lines, checks, args.write)


if __name__ == "__main__":
    sys.exit(main())

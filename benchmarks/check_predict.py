"""Measure `kdedge predict`'s "what must hold" figure: peak memory does not grow with the rows.

    python benchmarks/check_predict.py [RUN_DIR] [--rows 100000,1000000,10000000]
                                       [--chunk_rows 16384] [--write FILE]

Without RUN_DIR it makes a default run (distill + export) in a temp folder. For each row count it
generates a CSV of the student's input columns plus an `id` column (raw values drawn around the
run's training means and scales, written with numpy in chunks of 1M rows) in a temp folder, then
runs `kdedge predict RUN DATA --keep id` in a fresh subprocess (the CLI itself, `kdedge.cli.main`)
that reports its VmHWM (peak RSS, /proc/self/status) and wall time. A subprocess importing the same
modules and loading the model without reading data gives the baseline. Required: peak at the largest count <= 1.2x the peak at
the smallest. If the temp folder has too little space for the largest file and its output, the
largest count is halved until it fits (printed). Exit 1 if a requirement fails.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from results import Check, finish, requirement_table

from kdedge.contract import PREPROCESSING_JSON, Preprocessing, read_record
from kdedge.runtime.predict import CHUNK_ROWS

DEFAULT_ROWS = (100_000, 1_000_000, 10_000_000)
GENERATE_ROWS = 1_000_000  # rows formatted per numpy call while generating
BYTES_PER_ROW = 200  # generous: ~75 bytes of input and ~40 of output per row, twice over
RATIO_LIMIT = 1.2

MEASURE = """
import json, sys, time
from kdedge.cli import main

def vmhwm_mb():
    with open("/proc/self/status") as status:
        line = next(l for l in status if l.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024

run, data, out, chunk_rows = sys.argv[1:5]
started, cpu = time.perf_counter(), time.process_time()
if data == "-":  # the baseline: the model loaded in its session, nothing read or scored
    from kdedge.runtime.predict import load_scorer
    load_scorer(run)
else:
    main(["predict", run, data, "--out", out, "--keep", "id", "--chunk_rows", chunk_rows, "--quiet"])
print(json.dumps({"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu,
                  "peak_mb": vmhwm_mb()}))
"""


def make_run(root: Path) -> Path:
    from kdedge.distill import distill
    from kdedge.export import export_run

    run = distill(out=str(root / "default"), force=True)
    export_run(run)
    return run


def generate_csv(path: Path, rows: int, preprocessing: Preprocessing, *, seed: int = 0) -> Path:
    """`rows` rows of the student's raw inputs (normal around the training mean and scale) and
    an integer `id`, written GENERATE_ROWS at a time."""
    index = preprocessing.selected_index
    mean = np.asarray(preprocessing.scaler.mean)[index]
    scale = np.asarray(preprocessing.scaler.scale)[index]
    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(",".join(["id"] + preprocessing.selected_features) + "\n")
        for start in range(0, rows, GENERATE_ROWS):
            n = min(GENERATE_ROWS, rows - start)
            block = np.empty((n, len(index) + 1))
            block[:, 0] = np.arange(start, start + n)
            block[:, 1:] = mean + scale * rng.standard_normal((n, len(index)))
            np.savetxt(handle, block, fmt=["%d"] + ["%.7g"] * len(index), delimiter=",")
    return path


def measure(run: Path, data: Path | None, out: Path, chunk_rows: int) -> dict:
    """Peak RSS (MB) and seconds of one `kdedge predict` in a fresh process (data None: baseline)."""
    proc = subprocess.run([sys.executable, "-c", MEASURE, str(run), str(data or "-"), str(out),
                           str(chunk_rows)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"kdedge predict failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fitting_rows(counts: list[int], folder: Path) -> tuple[list[int], str | None]:
    """The row counts, the largest halved until its files fit in `folder` (and why)."""
    free = shutil.disk_usage(folder).free
    largest, note = counts[-1], None
    while largest * BYTES_PER_ROW > free and largest > counts[0]:
        largest //= 2
        note = (f"only {free / 1e9:.1f} GB free in {folder}: largest count cut from "
                f"{counts[-1]:,} to {largest:,} rows")
    return counts[:-1] + [largest], note


def run_counts(run: Path, counts: list[int], chunk_rows: int, folder: Path) -> list[dict]:
    """One measurement per row count; each CSV and its output deleted after use."""
    preprocessing = read_record(Preprocessing, run / PREPROCESSING_JSON)
    results = []
    for rows in counts:
        data = generate_csv(folder / f"rows-{rows}.csv", rows, preprocessing)
        out = folder / f"rows-{rows}.predictions.csv"
        result = measure(run, data, out, chunk_rows)
        with open(out, "rb") as handle:
            written = sum(1 for _ in handle) - 1
        result.update(rows=rows, data_mb=data.stat().st_size / 1e6, written=written,
                      rows_per_s=rows / result["seconds"],
                      rows_per_cpu_s=rows / result["cpu_seconds"])
        print(f"{rows:>12,} rows: peak {result['peak_mb']:.1f} MB, "
              f"{result['rows_per_s']:,.0f} rows/s ({result['rows_per_cpu_s']:,.0f} per CPU s)",
              file=sys.stderr)
        data.unlink()
        out.unlink()
        results.append(result)
    return results


def report(results: list[dict], baseline: dict, chunk_rows: int, note: str | None) -> tuple[list[str], list[Check]]:
    small, large = results[0], results[-1]
    ratio = large["peak_mb"] / small["peak_mb"]
    checks: list[Check] = [
        (f"peak RSS at {large['rows']:,} rows <= {RATIO_LIMIT}x the peak at {small['rows']:,}",
         f"{large['peak_mb']:.1f} MB vs {small['peak_mb']:.1f} MB = {ratio:.3f}x",
         ratio <= RATIO_LIMIT),
        ("every row written", ", ".join(f"{r['written']:,}/{r['rows']:,}" for r in results),
         all(r["written"] == r["rows"] for r in results)),
    ]
    lines = ["| rows | CSV MB | peak RSS MB | over baseline MB | seconds | rows/s | rows per CPU s |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['rows']:,} | {r['data_mb']:.0f} | {r['peak_mb']:.1f} | "
              f"{r['peak_mb'] - baseline['peak_mb']:.1f} | {r['seconds']:.1f} | "
              f"{r['rows_per_s']:,.0f} | {r['rows_per_cpu_s']:,.0f} |" for r in results]
    lines += ["", f"Baseline (the model loaded, nothing read): {baseline['peak_mb']:.1f} MB. "
              f"chunk_rows {chunk_rows:,}; one onnxruntime thread; columns `id` + the student's "
              "inputs, `--keep id`.", ""]
    if note:
        lines += [f"Note: {note}.", ""]
    return lines + requirement_table(checks), checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?")
    parser.add_argument("--rows", default=",".join(str(r) for r in DEFAULT_ROWS))
    parser.add_argument("--chunk_rows", type=int, default=CHUNK_ROWS)
    parser.add_argument("--write", default=None, help="also save the table as markdown")
    args = parser.parse_args()
    counts = sorted(int(r) for r in args.rows.split(","))
    with tempfile.TemporaryDirectory(prefix="kdedge-check-predict-") as scratch:
        folder = Path(scratch)
        run = Path(args.run_dir) if args.run_dir else make_run(folder)
        counts, note = fitting_rows(counts, folder)
        if note:
            print(note, file=sys.stderr)
        baseline = measure(run, None, folder / "unused.csv", args.chunk_rows)
        results = run_counts(run, counts, args.chunk_rows, folder)
    lines, checks = report(results, baseline, args.chunk_rows, note)
    return finish("predict", lines, checks, args.write)


if __name__ == "__main__":
    sys.exit(main())

"""Streamed data and several processes: memory and CPU per row at 10M rows, 2 processes vs 1,
and a bad CSV row refused before training.

    python benchmarks/check_stream.py [--quick] [--only big|ddp|csv|noise] [--data_dir DIR]
                                      [--timeout S] [--keep DIR] [--write docs/results-stream.md]

big: a seeded synthetic table (13 float32 features f0…f12, binary `label`, ~26% positives:
logits from a fixed linear map of f0…f5 plus f6·f7 and sin(2·f8), 2% of labels flipped) is
written once, chunk by chunk, under --data_dir as a folder of 10 Parquet files (10M rows, row
groups of 131,072) and as one-file tables of its first 100k and 1M rows. `kdedge distill
--max_epochs 1` (search student, --stream auto) runs on 100k (read in memory) and on the folder
(streamed); 100k and 1M with --stream on show whether the streamed path's CPU per row is flat.
ddp: --nproc 1 and 2 on the default data (default flags) and on the 1M table (--max_epochs 5
--student fixed); same selected features and no paired accuracy difference on the same test
rows; teacher throughput = training rows × epochs run / teacher seconds (its last progress line).
csv: a 7,000,100-row CSV whose data row 7,000,001 has `oops` in f5; distill --stream on must
exit 2 naming the row, column and line, before any training, writing nothing.
noise: for scale, one process at 1 and at 2 torch threads on the 1M table (the same arithmetic
summed in another order), judged by the same paired test as 2 processes vs 1.

Each distill is a fresh process tree under a small wrapper (OMP_NUM_THREADS=1, gloo on the
loopback) that reports its wall time, CPU (user + system of every waited-for descendant:
launcher, torchrun, ranks) and peak RSS (ru_maxrss of RUSAGE_CHILDREN: the largest single
process, so at --nproc 2 the largest rank, not the sum). Teacher seconds come from its progress
line (0.1 s resolution). --quick: sizes ÷ 100 and the default data at --max_epochs 5 (a smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from results import Check, finish, requirement_table

from kdedge.contract import (HISTORY_JSON, METRICS_JSON, PREDICTIONS_NPZ, RUN_JSON, SPLIT_NPZ,
                             History, Manifest, Metrics, read_record)
from kdedge.distributed import LOOPBACK
from kdedge.verdicts import bootstrap_weights, paired_accuracy

SEED = 14
N_FEATURES = 13
NAMES = [f"f{j}" for j in range(N_FEATURES)]
WEIGHTS = np.array([0.7, -1.0, -1.5, 2.0, -0.5, 1.2])  # the linear part, on f0…f5
THRESHOLD = 2.31  # the 75% quantile of the noise-free logit (2M seeded rows): ~25% positives
NOISE = 0.02  # fraction of labels flipped
GEN_ROWS = 10_000  # rows generated at once; chunk c always holds global rows c·GEN_ROWS…
BAD_COLUMN = "f5"
FULL = dict(folder=10_000_000, small=100_000, medium=1_000_000, row_group=131_072,
            csv_rows=7_000_100, bad_row=7_000_001, default_epochs=None)
QUICK = dict(folder=100_000, small=1_000, medium=10_000, row_group=1_311,
             csv_rows=70_100, bad_row=70_001, default_epochs=5)
TEACHER_LINE = re.compile(r"teacher\s+epoch\s+(\d+)/(\d+).*best@\d+\s+([\d.]+)s")
# Runs one command as its own child; prints wall, CPU and peak RSS of that child tree as JSON.
_WRAP = """
import json, os, resource, signal, subprocess, sys, time
command, log, timeout = json.loads(sys.argv[1]), sys.argv[2], float(sys.argv[3])
with open(log, "w") as output:
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=output, stderr=output, start_new_session=True)
    try:
        rc = child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:  # SIGINT: kdedge's launcher then stops torchrun's ranks
        rc = None
        os.killpg(child.pid, signal.SIGINT)
        try:
            child.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                  "peak_mib": usage.ru_maxrss / 1024}))
"""


# ---------------------------------------------------------------------------------------------
# data

def synthetic(start: int, stop: int):
    """Global rows start…stop-1 as (X float32 [n, 13], y int64), GEN_ROWS-aligned chunks."""
    for chunk in range(start // GEN_ROWS, -(-stop // GEN_ROWS)):
        rng = np.random.default_rng([SEED, chunk])
        X = rng.standard_normal((GEN_ROWS, N_FEATURES)).astype(np.float32)
        logit = X[:, :6] @ WEIGHTS + 1.5 * X[:, 6] * X[:, 7] + np.sin(2 * X[:, 8])
        y = (logit > THRESHOLD) ^ (rng.random(GEN_ROWS) < NOISE)
        first = chunk * GEN_ROWS
        keep = slice(max(start - first, 0), min(stop - first, GEN_ROWS))
        yield X[keep], y[keep].astype(np.int64)


def _arrow(X: np.ndarray, y: np.ndarray):
    import pyarrow as pa

    return pa.table({**{name: X[:, j] for j, name in enumerate(NAMES)}, "label": y})


def write_parquet(path: Path, *, start: int, stop: int, row_group: int) -> None:
    """Rows start…stop-1 as one Parquet file, in row groups of `row_group` rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    partial = path.with_suffix(".partial")
    pending = []
    with pq.ParquetWriter(partial, _arrow(*next(synthetic(0, 1))).schema) as writer:
        for X, y in synthetic(start, stop):
            pending.append(_arrow(X, y))
            if sum(t.num_rows for t in pending) >= row_group:
                joined = pa.concat_tables(pending)
                writer.write_table(joined.slice(0, row_group), row_group_size=row_group)
                pending = [joined.slice(row_group)]
        if pending:
            writer.write_table(pa.concat_tables(pending), row_group_size=row_group)
    partial.rename(path)  # a killed generation leaves no file that looks complete


def parquet_rows(path: Path) -> int:
    """Rows of a Parquet file, or of every file of a folder; 0 when missing."""
    import pyarrow.parquet as pq

    files = sorted(path.glob("*.parquet")) if path.is_dir() else [p for p in [path] if p.is_file()]
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def cached_parquet(path: Path, rows: int, *, files: int, row_group: int) -> Path:
    """`path` holding the first `rows` rows (a folder of `files` files when files > 1)."""
    if parquet_rows(path) == rows:
        return path
    print(f"writing {path} ({rows:,} rows)", file=sys.stderr)
    if path.is_dir():
        shutil.rmtree(path)
    path.unlink(missing_ok=True)
    if files == 1:
        write_parquet(path, start=0, stop=rows, row_group=row_group)
        return path
    path.mkdir(parents=True)
    per_file = rows // files
    for i in range(files):
        write_parquet(path / f"part-{i:02d}.parquet", start=i * per_file,
                      stop=(i + 1) * per_file, row_group=row_group)
    return path


def cached_bad_csv(path: Path, rows: int, *, bad_row: int) -> Path:
    """A CSV of `rows` data rows whose 1-based data row `bad_row` has `oops` in BAD_COLUMN."""
    if path.is_file() and _count_lines(path) == rows + 1:
        return path
    import pandas as pd

    print(f"writing {path} ({rows:,} rows)", file=sys.stderr)
    partial, start = path.with_suffix(".partial"), 0
    with open(partial, "w") as out:
        for X, y in synthetic(0, rows):
            frame = pd.DataFrame(X, columns=NAMES).assign(label=y)
            if start < bad_row <= start + len(y):
                frame[BAD_COLUMN] = frame[BAD_COLUMN].astype(object)
                frame.loc[bad_row - 1 - start, BAD_COLUMN] = "oops"
            frame.to_csv(out, header=start == 0, index=False, float_format="%.5g")
            start += len(y)
    partial.rename(path)
    return path


def _count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b""))


# ---------------------------------------------------------------------------------------------
# one measured distill

def measure(name: str, flags: list[str], out: Path, *, timeout: float) -> dict:
    """`kdedge distill --out out *flags` in a fresh process tree: its usage, log and results."""
    command = [sys.executable, "-m", "kdedge", "distill", "--out", str(out), *flags]
    env = dict(os.environ, OMP_NUM_THREADS="1", GLOO_SOCKET_IFNAME=LOOPBACK)
    log = out.with_name(out.name + ".log")
    load = os.getloadavg()[0]
    print(f"{name}: load {load:.2f}, kdedge distill {' '.join(flags)}", file=sys.stderr)
    wrapper = subprocess.run([sys.executable, "-c", _WRAP, json.dumps(command), str(log),
                              str(timeout)], env=env, capture_output=True, text=True, check=True)
    run = dict(json.loads(wrapper.stdout), name=name, load=load, out=out, log=log.read_text())
    print(f"  exit {run['rc']}, {run['wall']:.1f} s wall, {run['cpu']:.1f} s CPU, "
          f"peak {run['peak_mib']:.0f} MiB", file=sys.stderr)
    if run["rc"] == 0:
        run.update(_results(out, run["log"]))
    return run


def _results(out: Path, log: str) -> dict:
    """What a finished run reports: mode, rows, accuracies, teacher throughput."""
    metrics = read_record(Metrics, out / METRICS_JSON)
    reading = read_record(Manifest, out / RUN_JSON).data_reading
    epochs = read_record(History, out / HISTORY_JSON).teacher.epochs_run
    teacher_lines = TEACHER_LINE.findall(log)
    seconds = float(teacher_lines[-1][2]) if teacher_lines else 0.0
    rows_per_s = metrics.data.split.train * epochs / seconds if seconds > 0 else float("nan")
    return dict(mode=reading.mode, world=reading.world_size, rows=metrics.data.rows,
                teacher=metrics.teacher.accuracy, student=metrics.student.accuracy,
                selected=metrics.selected_features, epochs=epochs, teacher_s=seconds,
                rows_per_s=rows_per_s)


def _failed(runs: list[dict]) -> list[Check]:
    """A failing check for each run that did not finish, with the end of its output."""
    return [(f"{r['name']} finished", f"{_exit(r)}: {r['log'].strip()[-300:]!r}", False)
            for r in runs if r["rc"] != 0]


def _exit(run: dict) -> str:
    return "stopped at --timeout" if run["rc"] is None else f"exit {run['rc']}"


# ---------------------------------------------------------------------------------------------
# the three parts

def big_tables(sizes: dict, data_dir: Path) -> dict[str, Path]:
    """The folder and the one-file tables of its first rows (written once, then reused)."""
    group = sizes["row_group"]
    return {"folder": cached_parquet(data_dir / f"rows{sizes['folder']}", sizes["folder"],
                                     files=10, row_group=group),
            **{size: cached_parquet(data_dir / f"rows{sizes[size]}.parquet", sizes[size],
                                    files=1, row_group=group) for size in ("small", "medium")}}


def check_big(sizes: dict, data_dir: Path, root: Path, timeout: float) -> tuple[list, list]:
    """Peak RSS and CPU per row: in memory at `small` rows vs streamed at `folder` rows."""
    tables = big_tables(sizes, data_dir)
    plan = [("small", "auto"), ("small", "on"), ("medium", "on"), ("folder", "auto")]
    runs = [measure(f"{sizes[size]:,} rows{' (folder)' * (size == 'folder')}, --stream {stream}",
                    ["--data", str(tables[size]), "--target", "label", "--max_epochs", "1",
                     "--stream", stream], root / f"big-{i}", timeout=timeout)
            for i, (size, stream) in enumerate(plan)]
    lines = ["| run | read | rows | wall s | CPU s | CPU µs/row | peak RSS MiB | teacher acc | "
             "student acc | load |", "|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['name']} | {r['mode']} | {r['rows']:,} | {r['wall']:.1f} | {r['cpu']:.1f} | "
              f"{_per_row(r):.1f} | {r['peak_mib']:.0f} | {r['teacher']:.4f} | "
              f"{r['student']:.4f} | {r['load']:.2f} |" for r in runs if r["rc"] == 0]
    return lines, _failed(runs) or _big_checks(memory=runs[0], big=runs[3])


def _per_row(run: dict) -> float:
    """CPU microseconds per row read."""
    return 1e6 * run["cpu"] / run["rows"]


def _big_checks(*, memory: dict, big: dict) -> list[Check]:
    rss, cpu = big["peak_mib"] / memory["peak_mib"], _per_row(big) / _per_row(memory)
    modes = (memory["mode"], big["mode"])
    return [("--stream auto: the small table in memory, the folder streamed", ", ".join(modes),
             modes == ("memory", "streamed")),
            (f"peak RSS at {big['rows']:,} rows ≤ 1.5 × at {memory['rows']:,}",
             f"{big['peak_mib']:.0f} / {memory['peak_mib']:.0f} MiB = {rss:.2f}×", rss <= 1.5),
            (f"CPU per row at {big['rows']:,} rows ≤ 1.3 × at {memory['rows']:,}",
             f"{_per_row(big):.1f} / {_per_row(memory):.1f} µs = {cpu:.2f}×", cpu <= 1.3)]


def check_ddp(sizes: dict, data_dir: Path, root: Path, timeout: float) -> tuple[list, list]:
    """--nproc 1 vs 2: same features, no paired accuracy difference, throughput ratio."""
    medium = big_tables(sizes, data_dir)["medium"]
    epochs = sizes["default_epochs"]
    table = ["--data", str(medium), "--target", "label", "--max_epochs", "5",
             "--student", "fixed"]
    # the same table at 16x fewer, larger steps: one gradient all-reduce per 2,048 rows
    cases = {"default data": ["--max_epochs", str(epochs)] if epochs else [],
             f"{sizes['medium']:,} rows": table,
             f"{sizes['medium']:,} rows, --batch_size 2048": [*table, "--batch_size", "2048"]}
    lines = ["| data | processes | read | wall s | CPU s (all processes) | peak RSS MiB (largest "
             "process) | teacher s | teacher epochs | teacher rows/s | teacher acc | student acc "
             "| load |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    checks: list[Check] = []
    for c, (case, flags) in enumerate(cases.items()):
        pair = [measure(f"{case}, --nproc {n}", [*flags, "--nproc", str(n)],
                        root / f"ddp-{c}-{n}", timeout=timeout) for n in (1, 2)]
        lines += [_ddp_row(case, run) for run in pair if run["rc"] == 0]
        checks += _failed(pair) or _ddp_checks(case, *pair)
    return lines, checks


def _ddp_row(case: str, run: dict) -> str:
    return (f"| {case} | {run['world']} | {run['mode']} | {run['wall']:.1f} | {run['cpu']:.1f} | "
            f"{run['peak_mib']:.0f} | {run['teacher_s']:.1f} | {run['epochs']} | "
            f"{run['rows_per_s']:,.0f} | {run['teacher']:.4f} | {run['student']:.4f} | "
            f"{run['load']:.2f} |")


def _ddp_checks(case: str, one: dict, two: dict) -> list[Check]:
    splits = [np.load(r["out"] / SPLIT_NPZ)["y_test"] for r in (one, two)]
    if not np.array_equal(*splits):
        return [(f"{case}: the same test rows at 1 and 2 processes", "different y_test", False)]
    y, weights = splits[0], bootstrap_weights(len(splits[0]), seed=0)
    # the student reads a set of columns; their order (the ranking's) is reported, not required
    same = set(one["selected"]) == set(two["selected"])
    order = "" if one["selected"] == two["selected"] else (
        f" vs {', '.join(two['selected'])}" + (" (same set, another order)" if same else ""))
    found = [(f"{case}: same selected features", ", ".join(one["selected"]) + order, same)]
    for model in ("teacher", "student"):
        labels = [np.load(r["out"] / PREDICTIONS_NPZ)[model].argmax(axis=1) for r in (one, two)]
        verdict = paired_accuracy(y, *labels, a="1 process", b="2 processes", weights=weights)
        found.append((f"{case}: no paired {model} accuracy difference, 2 processes vs 1",
                      f"{verdict.value_a:.4f} vs {verdict.value_b:.4f}, 95% CI "
                      f"[{verdict.ci_low:+.4f}, {verdict.ci_high:+.4f}], {verdict.verdict}",
                      verdict.verdict == "no_difference"))
    return found + [
        (f"{case}: teacher training rows/s, 2 processes vs 1 (reported)",
         f"{two['rows_per_s']:,.0f} / {one['rows_per_s']:,.0f} = "
         f"{two['rows_per_s'] / one['rows_per_s']:.2f}×", True),
        (f"{case}: whole distill wall time, 2 processes vs 1 (reported)",
         f"{two['wall']:.1f} / {one['wall']:.1f} s = {two['wall'] / one['wall']:.2f}×", True)]


def check_csv(sizes: dict, data_dir: Path, root: Path, timeout: float) -> tuple[list, list]:
    """A text cell deep in a streamed CSV: exit 2 before training, naming row, column, line."""
    rows, bad = sizes["csv_rows"], sizes["bad_row"]
    csv = cached_bad_csv(data_dir / f"bad_row_{rows}.csv", rows, bad_row=bad)
    out = root / "csv-run"
    run = measure(f"{rows:,}-row CSV, bad row {bad:,}", ["--data", str(csv), "--target", "label",
                                                        "--stream", "on"], out, timeout=timeout)
    error = run["log"].strip()
    named = {f"row {bad:,}": f"row {bad:,}" in error, BAD_COLUMN: BAD_COLUMN in error,
             f"line {bad + 1:,}": f"line {bad + 1:,}" in error}
    lines = [f"Refused in {run['wall']:.1f} s wall ({run['cpu']:.1f} s CPU, peak "
             f"{run['peak_mib']:.0f} MiB, load {run['load']:.2f}); its last line:", "",
             f"    {error.splitlines()[-1] if error else '(no output)'}"]
    return lines, [
        ("bad CSV row: exit status 2", _exit(run), run["rc"] == 2),
        ("the error names the row, the column and the line",
         ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in named.items()), all(named.values())),
        ("refused before training (no teacher epoch line)", f"{run['wall']:.1f} s to refuse",
         not TEACHER_LINE.search(error)),
        ("nothing written at --out", "absent" if not out.exists() else "EXISTS", not out.exists())]


def check_noise(sizes: dict, data_dir: Path, root: Path, timeout: float) -> tuple[list, list]:
    """How far the float summation order alone moves a model on the same rows: one process at
    1 and at 2 torch threads (the same arithmetic, summed in another order), judged by the same
    paired test as 2 processes vs 1."""
    medium = big_tables(sizes, data_dir)["medium"]
    flags = ["--data", str(medium), "--target", "label", "--max_epochs", "5",
             "--student", "fixed"]
    pair = [measure(f"{sizes['medium']:,} rows, --threads {n}", [*flags, "--threads", str(n)],
                    root / f"noise-{n}", timeout=timeout) for n in (1, 2)]
    failed = _failed(pair)
    if failed:
        return [], failed
    splits = [np.load(r["out"] / SPLIT_NPZ)["y_test"] for r in pair]
    y, weights = splits[0], bootstrap_weights(len(splits[0]), seed=0)
    found = []
    for model in ("teacher", "student"):
        labels = [np.load(r["out"] / PREDICTIONS_NPZ)[model].argmax(axis=1) for r in pair]
        verdict = paired_accuracy(y, *labels, a="1 thread", b="2 threads", weights=weights)
        found.append((f"{sizes['medium']:,} rows, one process: {model} at 2 torch threads vs 1 "
                      "(reported: float order alone)",
                      f"{verdict.value_a:.4f} vs {verdict.value_b:.4f}, 95% CI "
                      f"[{verdict.ci_low:+.4f}, {verdict.ci_high:+.4f}], {verdict.verdict}; "
                      f"{np.mean(labels[0] != labels[1]):.4f} of test labels differ", True))
    return [], found


# ---------------------------------------------------------------------------------------------

PARTS = {"big": ("10M rows: memory and CPU per row", check_big),
         "ddp": ("2 processes vs 1", check_ddp),
         "csv": ("bad CSV row", check_csv),
         "noise": ("float order alone, for scale", check_noise)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="sizes ÷ 100: a smoke run")
    parser.add_argument("--only", choices=sorted(PARTS), help="run one part only")
    parser.add_argument("--data_dir", default="/tmp/kdedge-stream-data",
                        help="where the generated tables are kept between runs")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per distill")
    parser.add_argument("--keep", help="keep the run directories here (default: removed)")
    parser.add_argument("--write", help="also write the results as markdown to this file")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    data_dir = Path(args.data_dir) / ("quick" if args.quick else "full")
    data_dir.mkdir(parents=True, exist_ok=True)
    root = Path(args.keep or tempfile.mkdtemp(prefix="kdedge-stream-"))
    root.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python benchmarks/check_stream.py", *sys.argv[1:]])
    lines = [f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} ({os.cpu_count()} "
             f"cores, {len(os.sched_getaffinity(0))} usable), Python {platform.python_version()}, "
             f"by `{command}`; each distill a fresh process tree, OMP_NUM_THREADS=1; CPU is "
             "user + system of every process; peak RSS is the largest single process's.", ""]
    checks: list[Check] = []
    try:
        for key in [args.only] if args.only else list(PARTS):
            title, part = PARTS[key]
            table, found = part(sizes, data_dir, root, args.timeout)
            lines += [f"## {title}", "", *table, ""]
            checks += found
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return finish("streaming and processes", [*lines, *requirement_table(checks)], checks,
                  args.write)


if __name__ == "__main__":
    sys.exit(main())

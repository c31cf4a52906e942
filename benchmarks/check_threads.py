"""Does distill gain from a second torch thread? CPU and wall time at 1 and 2 threads, idle and busy.

    python benchmarks/check_threads.py [--quick | --max_epochs N] [--repeats R] [--timeout S]
                                       [--write docs/results-threads.md] [--keep DIR]

Each measurement is one `kdedge.distill.distill(threads=N)` on the default data in a fresh
interpreter: wall time around the subprocess, CPU time (user + system) from
`resource.getrusage(RUSAGE_CHILDREN)` before and after it. The child runs with
OMP_NUM_THREADS=1, so the `threads` argument (torch intra-op threads) is the only difference
between the two columns; the rest of distill (scikit-learn baselines, numpy) stays on one
thread in both. "busy" runs the same beside two CPU-burning processes (`while True: pass`) on
this machine's cores; "idle" has none of ours (other work on the machine shows in the load
average, printed per row). The student is the fixed default one (`student="fixed"`) where
distill has a size search, so the figures measure training, not the search. Accuracy and
agreement should be equal at both thread counts and in both conditions: distill is seeded and
deterministic, and a second thread only splits the same arithmetic (it could still move the last
bits of a reduction; the check says when that changes a score). The load column is the 1-minute
load average when a run starts, so it includes the run before it. The default is the real default distill (150 epochs,
patience 15); --quick caps the epochs at 5 for a smoke run. A distill still running after
--timeout seconds (default 1800) is killed and its row says so: its wall time is then a lower bound.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import Check, finish, requirement_table

from kdedge.distill import distill

THREADS = (1, 2)
BURNERS = 2  # CPU-burning processes beside the "busy" runs
# One distill in a fresh interpreter; prints its metrics as one JSON line.
_CHILD = """
import json, sys
from kdedge.contract import METRICS_JSON, Metrics, read_record
from kdedge.distill import distill
kwargs = json.loads(sys.argv[1])
run = distill(**kwargs)
m = read_record(Metrics, run / METRICS_JSON)
print(json.dumps({"teacher": m.teacher.accuracy, "student": m.student.accuracy,
                  "agreement": m.agreement}))
"""


def distill_kwargs(out: Path, *, threads: int, max_epochs: int | None) -> dict:
    """distill's arguments: the default run at `threads`, a fixed student where there is a choice."""
    kwargs: dict = {"out": str(out), "force": True, "threads": threads}
    if "student" in inspect.signature(distill).parameters:
        kwargs["student"] = "fixed"
    if max_epochs is not None:
        kwargs["max_epochs"] = max_epochs
    return kwargs


def measure_distill(kwargs: dict, *, timeout: float) -> dict:
    """Wall and CPU seconds of one distill in a fresh process, with its accuracies; a run still
    going after `timeout` seconds is killed and recorded as stopped (no accuracies)."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(kwargs)], env=env,
                              capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:  # run() killed and reaped it: its CPU is in the delta
        proc = None
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc is None:
        return {"wall": wall, "cpu": cpu, "load": load, "stopped": True}
    if proc.returncode != 0:
        raise SystemExit(f"distill failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return dict(result, wall=wall, cpu=cpu, load=load, stopped=False)


def start_burners(count: int) -> list[subprocess.Popen]:
    """`count` processes that each keep one core busy until terminated."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def stop_burners(burners: list[subprocess.Popen]) -> None:
    """Terminate the burners (after the measurements: their CPU never enters a delta)."""
    for proc in burners:
        proc.terminate()
    for proc in burners:
        proc.wait()


def measure_all(root: Path, *, repeats: int, max_epochs: int | None,
                timeout: float) -> dict[tuple[str, int], list[dict]]:
    """(condition, threads) → one result per repeat, threads alternating within each repeat."""
    results: dict[tuple[str, int], list[dict]] = {}
    for condition in ("idle", "busy"):
        burners = start_burners(BURNERS) if condition == "busy" else []
        try:
            time.sleep(1.0 if burners else 0.0)  # let the burners reach full speed
            for repeat in range(repeats):
                for threads in THREADS:
                    kwargs = distill_kwargs(root / f"{condition}-{threads}-{repeat}", threads=threads,
                                            max_epochs=max_epochs)
                    result = measure_distill(kwargs, timeout=timeout)
                    print(f"{condition} threads={threads} #{repeat}: {result['wall']:.1f} s wall, "
                          f"{result['cpu']:.1f} s CPU", file=sys.stderr)
                    results.setdefault((condition, threads), []).append(result)
        finally:
            stop_burners(burners)
    return results


def table(results: dict[tuple[str, int], list[dict]]) -> list[str]:
    """One markdown row per condition and thread count (medians over repeats)."""
    lines = ["| machine | torch threads | wall s | CPU s | CPU / wall | load (1 min) at start | "
             "teacher acc | student acc | agreement |", "|---|---|---|---|---|---|---|---|---|"]
    for (condition, threads), runs in results.items():
        wall, at_least = _wall(runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        loads = ", ".join(f"{r['load']:.2f}" for r in runs)
        done = [r for r in runs if not r["stopped"]]
        scores = (" | ".join(f"{done[0][k]:.4f}" for k in ("teacher", "student", "agreement"))
                  if done else "– | – | –")
        stopped = f" ({len(runs) - len(done)} stopped at the timeout)" if len(done) < len(runs) else ""
        lines.append(f"| {condition} | {threads} | {at_least}{wall:.1f}{stopped} | {cpu:.1f} | "
                     f"{cpu / wall:.2f} | {loads} | {scores} |")
    return lines


def _wall(runs: list[dict]) -> tuple[float, str]:
    """Median wall seconds, and "≥ " when a run was stopped (the median is then a lower bound)."""
    return statistics.median(r["wall"] for r in runs), "≥ " if any(r["stopped"] for r in runs) else ""


def checks(results: dict[tuple[str, int], list[dict]]) -> list[Check]:
    """Same accuracies at both thread counts (and in both conditions); what a thread buys."""
    keys = ("teacher", "student", "agreement")
    outcomes = {tuple(r[k] for k in keys) for runs in results.values() for r in runs if not r["stopped"]}
    found = []
    for condition in ("idle", "busy"):
        one, two = (_wall(results[(condition, t)]) for t in THREADS)
        ratio = ("" if one[1] else f" ({two[1]}{100 * (two[0] / one[0] - 1):+.0f}%)")
        found.append((f"{condition}: wall time at 2 threads vs 1 (reported, not required)",
                      f"{two[1]}{two[0]:.1f} s vs {one[1]}{one[0]:.1f} s{ratio}", True))
    found.append(("teacher/student accuracy and agreement equal at 1 and 2 threads, idle and busy",
                  {0: "no run finished", 1: "equal"}.get(len(outcomes), f"DIFFERENT: {sorted(outcomes)}"),
                  len(outcomes) == 1))
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="max_epochs=5: a smoke run")
    parser.add_argument("--max_epochs", type=int, help="cap distill's epochs (default: distill's)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per condition and thread count")
    parser.add_argument("--write", help="also write the results as markdown to this file")
    parser.add_argument("--keep", help="keep the runs in this folder (default: a temp folder)")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds after which one distill is stopped and recorded as such")
    args = parser.parse_args()
    max_epochs = 5 if args.quick and args.max_epochs is None else args.max_epochs
    root = Path(args.keep or tempfile.mkdtemp(prefix="kdedge-threads-"))
    root.mkdir(parents=True, exist_ok=True)
    results = measure_all(root, repeats=args.repeats, max_epochs=max_epochs, timeout=args.timeout)
    student = ('student="fixed"' if "student" in inspect.signature(distill).parameters
               else "distill without a size search (no student= argument)")
    found = checks(results)
    lines = [f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} "
             f"({os.cpu_count()} cores, {len(os.sched_getaffinity(0))} usable), Python "
             f"{platform.python_version()}, by `python benchmarks/check_threads.py"
             f"{' --quick' if args.quick else ''}`: default data, "
             f"{'max_epochs=' + str(max_epochs) if max_epochs else 'default epochs'}, "
             f"{student}, "
             f"{args.repeats} run(s) per row (medians), child OMP_NUM_THREADS=1; busy = beside "
             f"{BURNERS} CPU-burning processes.", "", *table(results), "", *requirement_table(found)]
    return finish("distill threads", lines, found, args.write)


if __name__ == "__main__":
    sys.exit(main())

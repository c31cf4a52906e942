"""Measure the size search's "what must hold" figures (issue 10) and print them as markdown.

    python benchmarks/check_search.py [--write docs/results-search.md] [--scale] [--keep DIR]

Every distill runs in a fresh process with one torch thread (`kdedge.distill.distill`, so the
figures do not depend on the CLI). Data sets, written as CSV files:

- nonlinear13: 13 standard-normal features, 6 of them (columns 1, 4, 6, 8, 10, 12) matter
  through products, squares and a sine (no label noise); 6,000 rows (1,200 test);
- hastie: sklearn's make_hastie_10_2 (12,000 rows, 2,400 test), `--features 10`;
- steps: 10 uniform features, the label a union of axis-aligned boxes with 3% of labels flipped,
  where trees beat an MLP; 8,000 rows;
- default: the built-in default data; digits: sklearn's digits (10 classes, 61 pixels).

Checks: the searched student against the fixed one (agreement, paired accuracy verdict vs the
teacher), the accuracy gap on hastie, the default data's size and time, the GBDT teacher's
student against the MLP teacher's (paired, same test rows), and the transfer-set ablation (fixed
student with and without MUNGE rows). `--scale` adds the 500,000-row cost and memory check
(about half an hour on 2 cores). Exit 1 if a requirement fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from results import Check, finish, requirement_table

from kdedge.contract import METRICS_JSON, PREDICTIONS_NPZ, SEARCH_JSON, Metrics, Search, \
    read_record
from kdedge.verdicts import bootstrap_weights, paired_accuracy

RUNNER = ("import json, resource, sys; from kdedge.distill import distill; "
          "distill(**json.loads(sys.argv[1])); u = resource.getrusage(resource.RUSAGE_SELF); "
          "print(json.dumps({'cpu': u.ru_utime + u.ru_stime, 'peak_kb': u.ru_maxrss}))")


def nonlinear13(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, 13))
    f = X[:, 1] * X[:, 4] + X[:, 6] ** 2 - 1 + np.sin(2 * X[:, 8]) + X[:, 10] * X[:, 12]
    return X, (f > 0).astype(int)


def steps(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((rows, 10))
    y = (((X[:, 0] > 0.3) & (X[:, 2] < 0.6)) | ((X[:, 5] > 0.8) ^ (X[:, 7] > 0.5))
         | ((X[:, 1] > 0.9) & (X[:, 3] > 0.2)))
    flip = rng.random(rows) < 0.03
    return X, (y ^ flip).astype(int)


def hastie(rows: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_hastie_10_2

    X, y = make_hastie_10_2(n_samples=rows, random_state=0)
    return X, (y > 0).astype(int)


def write_csv(path: Path, X: np.ndarray, y: np.ndarray) -> str:
    names = [f"x{i}" for i in range(X.shape[1])]
    np.savetxt(path, np.c_[X, y], delimiter=",", header=",".join(names + ["label"]),
               comments="", fmt=["%.7g"] * X.shape[1] + ["%d"])
    return str(path)


def distill_run(out: Path, **kwargs) -> dict:
    """One distill in a fresh process: metrics, search.json, wall and CPU seconds, peak RSS."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUNNER,
                           json.dumps(dict(out=str(out), force=True, **kwargs))],
                          check=True, env={**_env(), "OMP_NUM_THREADS": "1"},
                          stdout=subprocess.PIPE, text=True)
    usage = json.loads(done.stdout.strip().splitlines()[-1])
    return dict(metrics=read_record(Metrics, out / METRICS_JSON),
                search=read_record(Search, out / SEARCH_JSON), out=out,
                wall=time.perf_counter() - started, cpu=usage["cpu"],
                peak_mb=usage["peak_kb"] / 1024)


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}


def verdict(m: Metrics, a: str = "teacher", b: str = "student") -> str:
    c = m.comparison(a, b)
    return (f"{c.verdict} ({100 * c.difference:+.2f} pt, [{100 * c.ci_low:+.2f}, "
            f"{100 * c.ci_high:+.2f}], p={c.p_value:.2g})")


def describe(run: dict) -> str:
    m, s = run["metrics"], run["metrics"].student
    return (f"k={s.n_features}, {s.macs} MACs, acc {s.accuracy:.4f} (teacher "
            f"{m.teacher.accuracy:.4f}), agreement {m.agreement:.4f}, {verdict(m)}")


def search_checks(name: str, fixed: dict, searched: dict) -> list[Check]:
    """nonlinear13: the searched student keeps the teacher where the fixed one does not."""
    m, f = searched["metrics"], fixed["metrics"]
    no_loss = m.comparison("teacher", "student").verdict != "b_worse"
    fixed_short = f.agreement < 0.97 or f.comparison("teacher", "student").verdict == "b_worse"
    return [(f"{name}: fixed student (reported)", describe(fixed), True),
            (f"{name}: searched student: no detectable accuracy loss and agreement >= 0.97",
             describe(searched), no_loss and m.agreement >= 0.97),
            (f"{name}: the fixed student falls short of that", describe(fixed), fixed_short)]


def paired_students(a: dict, b: dict) -> str:
    """The two runs' students on the same test rows (same data and seed → same split)."""
    y = np.load(a["out"] / "split.npz")["y_test"]
    pa = np.load(a["out"] / PREDICTIONS_NPZ)["student"].argmax(1)
    pb = np.load(b["out"] / PREDICTIONS_NPZ)["student"].argmax(1)
    c = paired_accuracy(y, pa, pb, a="mlp", b="gbdt", weights=bootstrap_weights(len(y), seed=0))
    return c.verdict, (f"{c.value_b:.4f} vs {c.value_a:.4f}: {c.verdict} "
                       f"({100 * c.difference:+.2f} pt, [{100 * c.ci_low:+.2f}, "
                       f"{100 * c.ci_high:+.2f}], p={c.p_value:.2g})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write")
    parser.add_argument("--scale", action="store_true")
    parser.add_argument("--keep")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="kdedge-search-"))
    root.mkdir(parents=True, exist_ok=True)
    data = {"nonlinear13": write_csv(root / "nonlinear13.csv", *nonlinear13(6000)),
            "hastie": write_csv(root / "hastie.csv", *hastie(12000)),
            "steps": write_csv(root / "steps.csv", *steps(8000))}
    sets = {"default": dict(data=None), "nonlinear13": dict(data=data["nonlinear13"],
                                                            target="label"),
            "hastie": dict(data=data["hastie"], target="label", features=10),
            "steps": dict(data=data["steps"], target="label"), "digits": dict(data="digits")}
    checks, ablation = [], ["| data | transfer | student acc | teacher acc | agreement | "
                            "paired vs teacher |", "|---|---|---|---|---|---|"]
    runs = {}
    for name, kwargs in sets.items():
        for transfer in ("none", "munge"):
            run = distill_run(root / f"{name}-fixed-{transfer}", student="fixed",
                              transfer=transfer, **kwargs)
            runs[name, "fixed", transfer] = run
            m = run["metrics"]
            ablation.append(f"| {name} | {transfer} | {m.student.accuracy:.4f} | "
                            f"{m.teacher.accuracy:.4f} | {m.agreement:.4f} | {verdict(m)} |")
        runs[name, "search"] = distill_run(root / f"{name}-search", **kwargs)
        print(f"{name}: searched {describe(runs[name, 'search'])}", flush=True)
    checks += search_checks("nonlinear13", runs["nonlinear13", "fixed", "munge"],
                            runs["nonlinear13", "search"])
    checks += default_and_hastie(runs)
    checks += gbdt_checks(root, sets["steps"], runs["steps", "search"])
    for name in sets:
        checks.append((f"{name}: search outcome (reported)",
                       runs[name, "search"]["search"].message, True))
    if args.scale:
        checks += scale_checks(root)
    lines = requirement_table(checks) + ["", "Transfer-set ablation (fixed-size student, "
                                         "same seed):", ""] + ablation
    return finish("size search", lines, checks, args.write)


def default_and_hastie(runs: dict) -> list[Check]:
    d, h = runs["default", "search"], runs["hastie", "search"]
    m, t = d["metrics"], d["metrics"].teacher
    hm = h["metrics"]
    gap = hm.teacher.accuracy - hm.student.accuracy
    return [
        ("hastie --features 10: accuracy gap <= 3 points", f"{100 * gap:.2f} pt ({describe(h)})",
         gap <= 0.03),
        ("default: student MACs >= 70% below the teacher's",
         f"{m.student.macs} vs {t.macs}", m.student.macs <= 0.3 * t.macs),
        ("default: student params >= 70% below the teacher's",
         f"{m.student.params} vs {t.params}", m.student.params <= 0.3 * t.params),
        ("default: agreement >= 0.98", f"{m.agreement:.4f}", m.agreement >= 0.98),
        ("default: distill wall time (kdedge run adds export, bench, report)",
         f"{d['wall']:.1f} s wall, {d['cpu']:.1f} s CPU", True),
    ]


def gbdt_checks(root: Path, kwargs: dict, mlp: dict) -> list[Check]:
    """steps: a GBDT teacher beats the MLP teacher (paired); the GBDT teacher's student of the
    MLP-teacher student's size is more accurate than it (paired, same rows, same MACs); the
    GBDT teacher's own searched student is reported."""
    size = json.loads((mlp["out"] / "models.json").read_text())["student"]
    same = distill_run(root / "steps-gbdt-same-size", teacher="gbdt", features=size["n_features"],
                       rank=size["rank"], student_hidden=size["hidden"], **kwargs)
    searched = distill_run(root / "steps-gbdt", teacher="gbdt", **kwargs)
    y = np.load(same["out"] / "split.npz")["y_test"]
    teachers = [np.load(r["out"] / PREDICTIONS_NPZ)["teacher"].argmax(1) for r in (mlp, same)]
    c = paired_accuracy(y, *teachers, a="mlp", b="gbdt", weights=bootstrap_weights(len(y), seed=0))
    student_verdict, text = paired_students(mlp, same)
    macs = (same["metrics"].student.macs, mlp["metrics"].student.macs)
    return [
        ("steps: GBDT teacher significantly more accurate than the MLP teacher (paired)",
         f"{c.value_b:.4f} vs {c.value_a:.4f}: {c.verdict}", c.verdict == "b_better"),
        ("steps: GBDT-teacher student more accurate than the MLP-teacher student (paired), "
         "same architecture", text, student_verdict == "b_better"),
        ("steps: ... at the same or fewer MACs", f"{macs[0]} vs {macs[1]}", macs[0] <= macs[1]),
        ("steps: the GBDT teacher's searched student (reported)", describe(searched), True),
    ]


def scale_checks(root: Path) -> list[Check]:
    """500,000 rows: the search costs at most 2x a fixed-size distill (CPU seconds), and peak
    memory at 500k rows is at most 1.2x that at 50k."""
    path = {n: write_csv(root / f"big{n}.csv", *nonlinear13(n, seed=1)) for n in (50_000, 500_000)}
    fixed = distill_run(root / "big-fixed", data=path[500_000], target="label", student="fixed")
    searched = distill_run(root / "big-search", data=path[500_000], target="label")
    small = distill_run(root / "small-search", data=path[50_000], target="label")
    ratio, memory = searched["cpu"] / fixed["cpu"], searched["peak_mb"] / small["peak_mb"]
    return [
        ("500k rows: search CPU <= 2x a fixed-size distill",
         f"{searched['cpu']:.0f} s vs {fixed['cpu']:.0f} s = {ratio:.2f}x", ratio <= 2),
        ("500k rows: peak RSS <= 1.2x that at 50k",
         f"{searched['peak_mb']:.0f} MB vs {small['peak_mb']:.0f} MB = {memory:.2f}x",
         memory <= 1.2),
    ]


if __name__ == "__main__":
    sys.exit(main())

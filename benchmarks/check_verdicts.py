"""What issue 9's verdicts cost and what they say: distill CPU time against the code before them,
and the paired verdicts on three data sets.

    python benchmarks/check_verdicts.py [--old-commit 79b1d43] [--rounds 3] [--write FILE]

1. CPU time. The pre-issue-9 kdedge is unpacked from git (`git archive OLD | tar -x`, no change
   to the working tree) into a temporary folder, and `distill()` on the default data runs in a
   fresh process per run, OMP_NUM_THREADS=1, alternating old and new `--rounds` times. Each
   child reports time.process_time() and wall time of the distill call and of its whole
   process; the medians are compared. Required: new ≤ 1.5 × old in process CPU time (what
   `kdedge distill` costs a user); the distill() call alone (imports, the same for both, left
   out: a stricter ratio) is reported beside it. Each child prints the file its kdedge came
   from, so the old run provably ran the old code.
2. Verdicts. metrics.json of the new code on the default data, breast_cancer and wine: the
   accuracy of the teacher, the students and the baselines, and every paired comparison.

With --write FILE the results are appended to FILE as a section (replacing an earlier one), so
`check_distill.py --write docs/results-distill.md` then this script complete one page.
Exit 1 if the ratio is over 1.5.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import Check, requirement_table

from kdedge.contract import (BASELINES, METRICS_JSON, MODEL_NAMES, STUDENT_ALL_FEATURES, Metrics,
                             read_record)

REPO = Path(__file__).resolve().parents[1]
MAX_RATIO = 1.5
OTHER_DATA = ("breast_cancer", "wine")
SECTION = "## Paired verdicts and the cost of computing them"
NOTES = [
    "What distill now computes besides the three trained models (metrics.json, format 2):",
    "",
    "- `student_all_features`: the KD student's architecture and training settings on every "
    "feature, rank ⌈2n/3⌉ (or `--rank` when given), scored only (its weights are not saved). "
    "It is the third student fit and most of the extra CPU time.",
    "- baselines fitted on the training split and scored on the same float32 test rows: "
    "`majority` (DummyClassifier, strategy \"prior\": the labels of \"most_frequent\", with "
    "the training class frequencies as probabilities, so its log-loss is finite), `logreg_k` "
    "and `logreg_all` (StandardScaler + LogisticRegression(max_iter=1000) on the k selected "
    "/ all features), `hgb_all` (HistGradientBoostingClassifier(random_state=seed)); all "
    "single-threaded under threadpoolctl, about 0.25 s together on the default data.",
    "- paired comparisons on one set of 2,000 bootstrap resamples seeded with the run's seed; "
    "a is the reference and b the model judged, so `b_worse` always reads \"b is "
    "significantly worse than a\". `teacher_useful` is (majority, teacher) = b_better.",
]
CHILD = """
import json, sys, time
started = time.process_time()
import kdedge, kdedge.distill
from kdedge.distill import distill
cpu, wall = time.process_time(), time.perf_counter()
distill(out=sys.argv[1], **json.loads(sys.argv[2]))
print(json.dumps({"file": kdedge.distill.__file__, "cpu": time.process_time() - cpu,
                  "wall": time.perf_counter() - wall, "cpu_process": time.process_time()}))
"""


def unpack(commit: str, folder: Path) -> Path:
    """The repository at `commit`, as files in `folder` (git archive: no working-tree change)."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def distill_child(code_root: Path, out: Path, **arguments) -> dict:
    """distill() in a fresh process importing kdedge from `code_root`: its timings."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(code_root)}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", CHILD, str(out), json.dumps(arguments)],
                            cwd=code_root, env=env, check=True, capture_output=True, text=True)
    timing = json.loads(result.stdout.strip().splitlines()[-1])
    timing["wall_process"] = time.perf_counter() - started
    if not timing["file"].startswith(str(code_root)):
        raise SystemExit(f"the child imported {timing['file']}, not kdedge from {code_root}")
    return timing


def time_rounds(old_root: Path, root: Path, rounds: int) -> dict[str, list[dict]]:
    """Old and new distill on the default data, alternating, `rounds` times each."""
    timings: dict[str, list[dict]] = {"old": [], "new": []}
    for number in range(rounds):
        for label, code in (("old", old_root), ("new", REPO)):
            timing = distill_child(code, root / f"{label}-{number}")
            print(f"round {number + 1} {label}: distill CPU {timing['cpu']:.2f} s, wall "
                  f"{timing['wall']:.2f} s ({timing['file']})", file=sys.stderr)
            timings[label].append(timing)
    return timings


def timing_lines(timings: dict[str, list[dict]]) -> tuple[list[str], list[Check]]:
    def median(label: str, key: str) -> float:
        return statistics.median(t[key] for t in timings[label])

    lines = ["| measure (median of the runs) | before issue 9 | with issue 9 | ratio |",
             "|---|---|---|---|"]
    for key, name in (("cpu", "distill() CPU time (process_time)"),
                      ("wall", "distill() wall time"),
                      ("cpu_process", "whole process CPU time (imports included)"),
                      ("wall_process", "whole process wall time")):
        old, new = median("old", key), median("new", key)
        lines.append(f"| {name} | {old:.2f} s | {new:.2f} s | {new / old:.2f}× |")
    def runs(key: str) -> str:
        return "; ".join(f"{label} " + ", ".join(f"{t[key]:.2f}" for t in timings[label]) + " s"
                         for label in ("old", "new"))

    process = median("new", "cpu_process") / median("old", "cpu_process")
    call = median("new", "cpu") / median("old", "cpu")
    checks = [(f"`kdedge distill` process CPU time on the default data ≤ {MAX_RATIO}× before "
               "issue 9", f"{process:.2f}× ({runs('cpu_process')})", process <= MAX_RATIO),
              ("the distill() call alone, imports left out (reported: the stricter ratio)",
               f"{call:.2f}× ({runs('cpu')})", True)]
    return lines, checks


def verdict_lines(data: str, m: Metrics) -> list[str]:
    """One data set: accuracy of every model and baseline, then every paired comparison."""
    names = [*MODEL_NAMES, STUDENT_ALL_FEATURES, *BASELINES]
    positive = (f"; positive class {m.data.positive_class!r} ({m.data.positive_rule})"
                if m.data.positive_class is not None else "")
    lines = [f"### {data}", "",
             f"{m.data.classes} classes, test rows per class {m.data.split_class_counts.test}"
             f"{positive}; teacher_useful {m.teacher_useful}; warnings: "
             f"{'; '.join(m.warnings) or 'none'}", "",
             "| model | accuracy | balanced accuracy | F1 macro | PR-AUC |",
             "|---|---|---|---|---|"]
    for name in names:
        s = m.model(name)
        pr_auc = "n/a" if s.pr_auc is None else f"{s.pr_auc:.4f}"
        lines.append(f"| {name} | {s.accuracy:.4f} | {s.balanced_accuracy:.4f} | "
                     f"{s.f1_macro:.4f} | {pr_auc} |")
    lines += ["", "| a (reference) | b (judged) | metric | a | b | b − a | 95% interval | "
              "only a / only b | McNemar p | verdict |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for c in m.comparisons:
        only = "" if c.only_a is None else f"{c.only_a} / {c.only_b}"
        p_value = "" if c.p_value is None else f"{c.p_value:.2g}"
        lines.append(f"| {c.a} | {c.b} | {c.metric} | {c.value_a:.4f} | {c.value_b:.4f} | "
                     f"{100 * c.difference:+.2f} pt | [{100 * c.ci_low:+.2f}, "
                     f"{100 * c.ci_high:+.2f}] pt | {only} | {p_value} | {c.verdict} |")
    return lines + [""]


def write_section(path: Path, lines: list[str]) -> None:
    """Append the section to `path`, replacing an earlier one (from SECTION to the end)."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    head = text.split(SECTION, 1)[0].rstrip()
    path.write_text((head + "\n\n" if head else "") + "\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--old-commit", default="79b1d43", help="the code before issue 9")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", help="append the results to this markdown file")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="kdedge-verdicts-"))
    old_root = unpack(args.old_commit, Path(tempfile.mkdtemp(prefix="kdedge-old-")))
    load_before = os.getloadavg()[0]
    timings = time_rounds(old_root, root, args.rounds)
    load_after = os.getloadavg()[0]
    table, checks = timing_lines(timings)
    for data in OTHER_DATA:
        distill_child(REPO, root / data, data=data)
    lines = [SECTION, "", *NOTES, "",
             f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, "
             f"{platform.python_version()}, {os.cpu_count()} cores, OMP_NUM_THREADS=1, by "
             f"`python benchmarks/check_verdicts.py` (old code: commit {args.old_commit}, "
             f"unpacked with git archive; {args.rounds} interleaved runs each; 1-minute load "
             f"average {load_before:.1f} before, {load_after:.1f} after).", "",
             *requirement_table(checks), "", *table, "",
             "Paired comparisons: a is the reference, b the model judged; b − a and its paired "
             "bootstrap 95% interval; the verdict follows the interval.", ""]
    runs = [("default", root / "new-0")] + [(data, root / data) for data in OTHER_DATA]
    for data, run in runs:
        lines += verdict_lines(data, read_record(Metrics, run / METRICS_JSON))
    print("\n".join(lines))
    if args.write:
        write_section(Path(args.write), lines)
    return 0 if all(ok for _, _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())

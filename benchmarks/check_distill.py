"""Measure the distill stage's "what must hold" figures and print them (optionally as markdown).

    python benchmarks/check_distill.py [--write docs/results-distill.md] [--keep DIR]

Runs `kdedge distill` on the default data (twice: wall time and determinism; the size search
on, as by default), then on breast_cancer, wine (3 classes) and digits (10 classes). Reads metrics.json through
`kdedge.contract`; the paired verdicts are metrics.json's own (a = reference, b = judged).
Exit 1 if a requirement fails. `check_verdicts.py --write` appends the CPU-time comparison and
every verdict to the same page.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import Check, finish, requirement_table

from kdedge.contract import METRICS_JSON, Metrics, read_record

OTHER_DATA = ("breast_cancer", "wine", "digits")


def distill_cli(out: Path, *args: str) -> tuple[Metrics, float]:
    """Run `kdedge distill --out OUT --force ARGS` in a fresh process: its metrics, wall time."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kdedge.cli", "distill", "--out", str(out), "--quiet",
                    "--force", *args], check=True)
    seconds = time.perf_counter() - started
    return read_record(Metrics, out / METRICS_JSON), seconds


def default_checks(m: Metrics, again: Metrics, seconds: float) -> list[Check]:
    """The requirements on the default data (the seed report's figures)."""
    t, s = m.teacher, m.student
    return [
        ("teacher params = 37,506", f"{t.params:,}", t.params == 37_506),
        ("teacher MACs = 36,352", f"{t.macs:,}", t.macs == 36_352),
        ("teacher test accuracy in [0.95, 0.99]", f"{t.accuracy:.4f}", 0.95 <= t.accuracy <= 0.99),
        ("student agreement with teacher >= 0.98", f"{m.agreement:.4f}", m.agreement >= 0.98),
        ("student accuracy within 1.0 point of teacher",
         f"{s.accuracy:.4f} vs {t.accuracy:.4f} ({100 * (s.accuracy - t.accuracy):+.2f} pt)",
         s.accuracy >= t.accuracy - 0.01),
        ("student params >= 70% below teacher",
         f"{s.params:,} ({100 * (1 - s.params / t.params):.1f}% below)",
         s.params <= 0.3 * t.params),
        ("student MACs >= 70% below teacher",
         f"{s.macs:,} ({100 * (1 - s.macs / t.macs):.1f}% below)", s.macs <= 0.3 * t.macs),
        ("student's k, rank, head and the search's outcome (reported: the size search picks "
         "them)", f"k = {s.n_features}; {m.student_search or 'fixed size'}", True),
        ("KD vs no-KD student accuracy (reported, not required)",
         f"{s.accuracy:.4f} vs {m.student_no_kd.accuracy:.4f} (kd_gain {m.kd_gain:+.4f}; "
         f"paired: {_verdict(m, 'student_no_kd', 'student')})", True),
        ("teacher significantly more accurate than the majority class (paired)",
         _verdict(m, "majority", "teacher"), m.teacher_useful),
        ("distill's warnings (reported, not required)", "; ".join(m.warnings) or "none", True),
        ("student not significantly less accurate than the teacher (paired)",
         _verdict(m, "teacher", "student"),
         m.comparison("teacher", "student").verdict != "b_worse"),
        ("student positive-class recall and PR-AUC not significantly below the teacher's",
         f"recall {_verdict(m, 'teacher', 'student', 'positive_recall')}; PR-AUC "
         f"{_verdict(m, 'teacher', 'student', 'pr_auc')}",
         all(m.comparison("teacher", "student", metric).verdict != "b_worse"
             for metric in ("positive_recall", "pr_auc"))),
        ("best baseline vs teacher (reported, not required)", _best_baseline(m), True),
        ("same command twice gives the same metrics.json",
         "identical" if m == again else "DIFFERENT", m == again),
        ("distill on the default data < 60 s (CLI wall time)", f"{seconds:.1f} s", seconds < 60),
    ]


def _verdict(m: Metrics, a: str, b: str, metric: str = "accuracy") -> str:
    """`b − a` of one paired comparison, its interval and verdict, in one phrase."""
    c = m.comparison(a, b, metric)
    p_value = "" if c.p_value is None else f", p = {c.p_value:.2g}"
    return (f"{b} − {a} {100 * c.difference:+.2f} pt [{100 * c.ci_low:+.2f}, "
            f"{100 * c.ci_high:+.2f}]{p_value}: {c.verdict}")


def _best_baseline(m: Metrics) -> str:
    name = max(m.baselines, key=lambda n: m.baselines[n].accuracy)
    return f"{name} {m.baselines[name].accuracy:.4f}; {_verdict(m, name, 'teacher')}"


def other_check(data: str, m: Metrics, seconds: float) -> Check:
    """Another data set completes with a teacher above 0.8 and a student above chance × 1.5."""
    sensible = (m.teacher.accuracy > 0.8 and m.student.accuracy > 1.5 / m.data.classes
                and m.teacher_useful)
    return (f"--data {data} completes with sensible metrics",
            f"{m.data.classes} classes, teacher {m.teacher.accuracy:.3f} (useful: "
            f"{m.teacher_useful}), student {m.student.accuracy:.3f}, agreement "
            f"{m.agreement:.3f}, {seconds:.0f} s; warnings: {'; '.join(m.warnings) or 'none'}",
            sensible)


SUMMARY_HEADER = ["| data | classes | features | teacher acc | student acc (KD) | no-KD acc | "
                  "all-features student acc | balanced acc teacher / student | best baseline | "
                  "agreement | student params / MACs | seconds |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]


def summary_row(data: str, m: Metrics, seconds: float) -> str:
    """One data set's line of the summary table."""
    best = max(m.baselines, key=lambda n: m.baselines[n].accuracy)
    return (f"| {data} | {m.data.classes} | {m.student.n_features} of {m.data.features} | "
            f"{m.teacher.accuracy:.4f} | {m.student.accuracy:.4f} | "
            f"{m.student_no_kd.accuracy:.4f} | {m.student_all_features.accuracy:.4f} | "
            f"{m.teacher.balanced_accuracy:.4f} / {m.student.balanced_accuracy:.4f} | "
            f"{best} {m.baselines[best].accuracy:.4f} | {m.agreement:.4f} | "
            f"{m.student.params:,} / {m.student.macs:,} | {seconds:.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", help="also write the results as markdown to this file")
    parser.add_argument("--keep", help="keep the runs in this folder (default: a temp folder)")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="kdedge-check-"))
    root.mkdir(parents=True, exist_ok=True)

    m, seconds = distill_cli(root / "default")
    again, _ = distill_cli(root / "default-again")
    runs = [("default", m, seconds)] + [(data, *distill_cli(root / data, "--data", data))
                                        for data in OTHER_DATA]
    checks = default_checks(m, again, seconds) + [other_check(*run) for run in runs[1:]]
    lines = [f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, "
             f"{platform.python_version()}, by `python benchmarks/check_distill.py`.", "",
             *requirement_table(checks), "", *SUMMARY_HEADER, *(summary_row(*run) for run in runs)]
    return finish("distill", lines, checks, args.write)


if __name__ == "__main__":
    sys.exit(main())

"""Measure the distill stage's "what must hold" figures and print them (optionally as markdown).

    python benchmarks/check_distill.py [--write docs/results-distill.md] [--keep DIR]

Runs `kdedge distill` on the default data (twice: wall time and determinism), then on
breast_cancer, wine (3 classes) and digits (10 classes). Exit 1 if a requirement fails.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import finish, requirement_table


def distill_cli(out: Path, *args: str) -> tuple[dict, float]:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "kdedge.cli", "distill", "--out", str(out), "--quiet",
                    *args], check=True)
    seconds = time.perf_counter() - started
    return json.loads((out / "metrics.json").read_text()), seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", help="also write the results as markdown to this file")
    parser.add_argument("--keep", help="keep the runs in this folder (default: a temp folder)")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="kdedge-check-"))
    root.mkdir(parents=True, exist_ok=True)

    checks: list[tuple[str, str, bool]] = []
    m, seconds = distill_cli(root / "default", "--force")
    m2, _ = distill_cli(root / "default-again", "--force")
    t, s = m["teacher"], m["student"]
    checks += [
        ("teacher params = 37,506", f"{t['params']:,}", t["params"] == 37_506),
        ("teacher MACs = 36,352", f"{t['macs']:,}", t["macs"] == 36_352),
        ("teacher test accuracy in [0.95, 0.99]", f"{t['accuracy']:.4f}", 0.95 <= t["accuracy"] <= 0.99),
        ("student agreement with teacher >= 0.98", f"{m['agreement']:.4f}", m["agreement"] >= 0.98),
        ("student accuracy within 1.0 point of teacher",
         f"{s['accuracy']:.4f} vs {t['accuracy']:.4f} ({100 * (s['accuracy'] - t['accuracy']):+.2f} pt)",
         s["accuracy"] >= t["accuracy"] - 0.01),
        ("student params >= 70% below teacher",
         f"{s['params']:,} ({100 * (1 - s['params'] / t['params']):.1f}% below)",
         s["params"] <= 0.3 * t["params"]),
        ("student MACs >= 70% below teacher",
         f"{s['macs']:,} ({100 * (1 - s['macs'] / t['macs']):.1f}% below)", s["macs"] <= 0.3 * t["macs"]),
        ("student reads k = 6 features", str(s["n_features"]), s["n_features"] == 6),
        ("KD vs no-KD student accuracy (reported, not required)",
         f"{s['accuracy']:.4f} vs {m['student_no_kd']['accuracy']:.4f} (kd_gain {m['kd_gain']:+.4f})",
         True),
        ("same command twice gives the same metrics.json", "identical" if m == m2 else "DIFFERENT",
         m == m2),
        ("distill on the default data < 60 s (CLI wall time)", f"{seconds:.1f} s", seconds < 60),
    ]
    others = []
    for data in ("breast_cancer", "wine", "digits"):
        md, sec = distill_cli(root / data, "--data", data, "--force")
        others.append((data, md, sec))
        sensible = (md["teacher"]["accuracy"] > 0.8 and md["student"]["accuracy"] > 1.5 / md["data"]["classes"])
        checks.append((f"--data {data} completes with sensible metrics",
                       f"{md['data']['classes']} classes, teacher {md['teacher']['accuracy']:.3f}, "
                       f"student {md['student']['accuracy']:.3f}, agreement {md['agreement']:.3f}, {sec:.0f} s",
                       sensible))

    lines = [f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, "
             f"{platform.python_version()}, by `python benchmarks/check_distill.py`.", "",
             *requirement_table(checks)]
    lines += ["", "| data | classes | features | teacher acc | student acc (KD) | no-KD acc | "
              "agreement | student params / MACs | seconds |", "|---|---|---|---|---|---|---|---|---|"]
    for data, md, sec in [("default", m, seconds)] + others:
        lines.append(f"| {data} | {md['data']['classes']} | {md['student']['n_features']} of "
                     f"{md['data']['features']} | {md['teacher']['accuracy']:.4f} | "
                     f"{md['student']['accuracy']:.4f} | {md['student_no_kd']['accuracy']:.4f} | "
                     f"{md['agreement']:.4f} | {md['student']['params']:,} / {md['student']['macs']:,} | "
                     f"{sec:.1f} |")
    return finish("distill", lines, checks, args.write)


if __name__ == "__main__":
    sys.exit(main())

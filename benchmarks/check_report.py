"""Check `kdedge report` end to end: sections, plots, links and a self-contained HTML page.

    python benchmarks/check_report.py [RUN_DIR ...] [--max-epochs N] [--keep]

With run directories: reports each as it is (whatever stages it has). Without: makes a default,
a wine and a random-labels run (600 rows of noise: a teacher that learns nothing) in a temporary
folder, runs export (`--quantize all`) and bench on them when those stages are importable (else
distill only), then reports them. Each run is reported in English and then in Chinese (the
default, left in place). Prints one PASS/FAIL line per check; exits 1 on any FAIL. Reporting
given run directories also checks that the report imported no torch.

Besides the sections, plots and links, it checks the verdicts: every paired comparison of
metrics.json and export.json is in the verdicts table, the teacher-vs-student accuracy verdict is
a conclusion, the positive class (binary data) is named in the performance table, and a run
whose teacher learned nothing (teacher_useful false) says so in its first conclusion.
"""

from __future__ import annotations

import argparse
import base64
import io
import re
import sys
import tempfile
import time
from pathlib import Path

from kdedge import contract, rundir
from kdedge.report import make_report
from kdedge.report.make import BENCH_PLOTS, DISTILL_PLOTS
from kdedge.report.text import tr

SECTIONS = ("s_features", "s_performance", "s_structure", "s_dataviews", "s_compression",
            "s_export", "s_bench", "s_verdicts", "s_conclusions")
BOUNDARIES = ("decision_boundary_teacher", "decision_boundary_student")  # need the ONNX graphs
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|<script|<link|@import|url\(""", re.I)

failures = 0


def check(ok: bool, what: str) -> None:
    global failures
    failures += not ok
    print(f"{'PASS' if ok else 'FAIL'}  {what}")


def decodes_as_png(data: bytes) -> bool:
    import matplotlib.image as mpimg

    try:
        return data.startswith(b"\x89PNG\r\n\x1a\n") and mpimg.imread(io.BytesIO(data), format="png").size > 0
    except Exception:
        return False


def random_labels_csv(path: Path, rows: int = 600) -> Path:
    """Five columns of noise and a random 0/1 label: nothing to learn."""
    import numpy as np

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(rows, 5)), rng.integers(0, 2, size=rows)
    lines = ["a,b,c,d,e,label"] + [",".join(f"{v:.4f}" for v in x) + f",{label}"
                                   for x, label in zip(X, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


def make_runs(root: Path, max_epochs: int) -> list[Path]:
    from kdedge.distill import distill

    noise = random_labels_csv(root / "random-labels.csv")
    runs = [distill(out=str(root / "default"), max_epochs=max_epochs),
            distill(data="wine", out=str(root / "wine"), max_epochs=max_epochs),
            distill(data=str(noise), target="label", out=str(root / "random-labels"),
                    max_epochs=max_epochs)]
    try:
        from kdedge.export import export_run
    except ImportError as exc:
        print(f"note: export not importable ({exc}); distill-only runs")
        return runs
    try:
        from kdedge.runtime.bench import bench
    except ImportError as exc:
        bench = None
        print(f"note: bench not importable ({exc}); no bench results")
    for run in runs:
        export_run(run, quantize="all")
        if bench is not None:
            bench(run, quick=True)
    return runs


def expected_plots(run: Path) -> tuple[bool, bool, list[str]]:
    """Whether the run has export.json and bench JSONs, and the plots its report must draw."""
    has_export = (run / contract.EXPORT_JSON).is_file()
    has_bench = any((run / contract.BENCH_DIR).glob("*.json"))
    plots = [p for p in DISTILL_PLOTS if has_export or p not in BOUNDARIES]
    return has_export, has_bench, plots + (list(BENCH_PLOTS) if has_bench else [])


def check_run(run: Path, lang: str) -> None:
    torch_before = "torch" in sys.modules
    started = time.perf_counter()
    make_report(run, lang=lang)
    seconds = time.perf_counter() - started
    name = f"{run.name} [{lang}]"
    has_export, has_bench, expected = expected_plots(run)
    print(f"--- {run} ({lang}): report in {seconds:.1f} s; export: {has_export}, bench: {has_bench}")
    if not torch_before:
        check("torch" not in sys.modules, f"{name}: the report imported no torch")
    markdown = (run / contract.REPORT_MD).read_text(encoding="utf-8")
    page = (run / contract.REPORT_HTML).read_text(encoding="utf-8")
    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    check(headings == [f"## {i}. {tr(lang, key)}" for i, key in enumerate(SECTIONS, 1)],
          f"{name}: all {len(SECTIONS)} sections in order")
    check(("kdedge export" in markdown) != has_export, f"{name}: export section or the command that makes it")
    check(("kdedge bench" in markdown) != has_bench, f"{name}: bench section or the command that makes it")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    check(sorted(links) == sorted(f"{contract.PLOTS_DIR}/{p}.png" for p in expected),
          f"{name}: {len(expected)} plots linked as plots/<name>.png ({len(links)} found)")
    check(all((run / link).is_file() and decodes_as_png((run / link).read_bytes()) for link in links),
          f"{name}: every linked plot exists and decodes as PNG")
    stage = rundir.read_manifest(run).stages["report"]
    check(stage["plots"] == len(expected) and stage["lang"] == lang,
          f"{name}: run.json records the report stage ({stage['plots']} plots, skipped: "
          f"{sorted(stage['skipped_plots']) or 'none'})")
    check(not EXTERNAL.search(page), f"{name}: HTML has no external references")
    sources = re.findall(r"<img [^>]*src=\"([^\"]+)\"", page)
    check(len(sources) == len(expected) and all(
        s.startswith("data:image/png;base64,") and decodes_as_png(base64.b64decode(s.split(",", 1)[1]))
        for s in sources), f"{name}: {len(sources)} embedded images, all PNG data URIs that decode")
    check("FLOPS" not in markdown, f"{name}: no 'FLOPS' label (MACs and FLOPs = 2 x MACs only)")
    check_verdicts(run, lang, markdown)


def check_verdicts(run: Path, lang: str, markdown: str) -> None:
    """The paired verdicts, the positive class and a useless teacher, as the report shows them."""
    from kdedge.report.collect import collect
    from kdedge.report.paired import metrics_sentence, oriented
    from kdedge.report.text import fmt_interval

    facts = collect(run)
    m, name = facts.metrics, f"{run.name} [{lang}]"
    recorded = list(m.comparisons) + [e.paired_vs_fp32 for e in (facts.export.models.values()
                                                                 if facts.export else ())
                                      if e.paired_vs_fp32 is not None]
    verdicts = markdown.split(f"## {SECTIONS.index('s_verdicts') + 1}. ")[1].split("\n## ")[0]
    check(all(fmt_interval(c.ci_low, c.ci_high) in verdicts for c in recorded),
          f"{name}: all {len(recorded)} paired comparisons in the verdicts table")
    lost = oriented(m, "teacher", "student")
    check(lost is not None and metrics_sentence(lang, m, lost) in markdown,
          f"{name}: teacher-vs-student accuracy verdict "
          f"({lost.verdict if lost else 'not recorded'}) is a conclusion")
    if m.data.positive_class is not None:
        label = tr(lang, "r_recall_positive", c=m.data.positive_class)
        check(f"| {label} |" in markdown, f"{name}: performance table names the positive class "
                                          f"{m.data.positive_class!r} ({m.data.positive_rule})")
    bullets = markdown.split(f"## {len(SECTIONS)}. ")[1].splitlines()
    first = next((line for line in bullets if line.startswith("- ")), "")
    useless = tr(lang, "finding.teacher_useless", c="\0", t="", m="", evidence="").split("\0")[0]
    check(first.startswith(f"- {useless}") == (not m.teacher_useful),
          f"{name}: first conclusion says the teacher learned nothing useful exactly when "
          f"teacher_useful is false ({m.teacher_useful})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path, help="run directories (default: make two)")
    parser.add_argument("--max-epochs", type=int, default=30, help="epochs for the runs made here")
    parser.add_argument("--keep", action="store_true", help="keep the runs made here")
    args = parser.parse_args(argv)
    tmp = None
    runs = args.runs
    if not runs:
        root = Path(tempfile.mkdtemp(prefix="kdedge-check-report-")) if args.keep else None
        tmp = None if root else tempfile.TemporaryDirectory(prefix="kdedge-check-report-")
        root = root or Path(tmp.name)
        runs = make_runs(root, args.max_epochs)
        print(f"runs in {root}")
    for run in runs:
        for lang in ("en", "zh"):
            check_run(Path(run), lang)
    if tmp is not None:
        tmp.cleanup()
    print(f"{'FAIL' if failures else 'PASS'}: {failures} failed check(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

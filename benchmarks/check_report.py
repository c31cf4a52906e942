"""Check `kdedge report` end to end: sections, plots, links and a self-contained HTML page.

    python benchmarks/check_report.py [RUN_DIR ...] [--max-epochs N] [--keep]

With run directories: reports each as it is (whatever stages it has). Without: makes a default
and a wine run in a temporary folder, runs export (`--quantize all`) and bench on them when those
stages are importable (else distill only), then reports both. Each run is reported in English
and then in Chinese (the default, left in place). Prints one PASS/FAIL line per check; exits 1 on
any FAIL. Reporting given run directories also checks that the report imported no torch.
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
            "s_export", "s_bench", "s_conclusions")
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


def make_runs(root: Path, max_epochs: int) -> list[Path]:
    from kdedge.distill import distill

    runs = [distill(out=str(root / "default"), max_epochs=max_epochs),
            distill(data="wine", out=str(root / "wine"), max_epochs=max_epochs)]
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
          f"{name}: all 8 sections in order")
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

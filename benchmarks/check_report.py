"""Check `kdedge report` end to end: sections, plots, links and a self-contained HTML page.

    python benchmarks/check_report.py [RUN_DIR ...] [--max-epochs N] [--keep]

With run directories: reports each as it is (whatever stages it has). Without: makes a default
and a wine run in a temporary folder, runs export (`--quantize all`) and bench on them when those
stages are importable (else distill only), then reports both. Each run is reported in English
and then in Chinese (the default, left in place). Prints one PASS/FAIL line per check; exits 1 on
any FAIL.
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

from kdedge.report import make_report
from kdedge.report.make import ALL_PLOTS, DISTILL_PLOTS
from kdedge.report.text import STRINGS

SECTIONS = ("s_features", "s_performance", "s_structure", "s_dataviews", "s_compression",
            "s_export", "s_bench", "s_conclusions")
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

    runs = [distill(out=str(root / "default"), max_epochs=max_epochs, quiet=True),
            distill(data="wine", out=str(root / "wine"), max_epochs=max_epochs, quiet=True)]
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
        export_run(run, quantize="all", quiet=True)
        if bench is not None:
            bench(run, quiet=True, quick=True)
    return runs


def check_run(run: Path, lang: str) -> None:
    started = time.perf_counter()
    make_report(run, lang=lang, quiet=True)
    seconds = time.perf_counter() - started
    name = f"{run.name} [{lang}]"
    has_bench = any((run / "bench").glob("*.json")) if (run / "bench").is_dir() else False
    has_export = (run / "export.json").is_file()
    expected = ALL_PLOTS if has_bench else DISTILL_PLOTS
    print(f"--- {run} ({lang}): report in {seconds:.1f} s; export: {has_export}, bench: {has_bench}")
    markdown = (run / "report.md").read_text(encoding="utf-8")
    page = (run / "report.html").read_text(encoding="utf-8")
    titles = [STRINGS[key][1 if lang == "zh" else 0] for key in SECTIONS]
    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    check(headings == [f"## {i}. {t}" for i, t in enumerate(titles, 1)], f"{name}: all 8 sections in order")
    check(("kdedge export" in markdown) != has_export, f"{name}: export section or the command that makes it")
    check(("kdedge bench" in markdown) != has_bench, f"{name}: bench section or the command that makes it")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    check(sorted(links) == sorted(f"plots/{p}.png" for p in expected),
          f"{name}: {len(expected)} plots linked as plots/<name>.png ({len(links)} found)")
    check(all((run / link).is_file() and decodes_as_png((run / link).read_bytes()) for link in links),
          f"{name}: every linked plot exists and decodes as PNG")
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

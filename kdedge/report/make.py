"""`kdedge report`: run directory → RUN/report.md, RUN/report.html and RUN/plots/*.png.

Reads whatever stages have run (distill is required; export and bench are optional), draws the
plots the data allows (a plot of too few rows is skipped and its section says why), builds one
list of blocks and renders it twice: Markdown linking plots/<name>.png, and a
self-contained HTML page with the same plots embedded. Every file is written atomically and
recorded in run.json under the "report" stage.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kdedge import rundir
from kdedge.report.render import image_path
from kdedge.report.text import LANGS, tr

DISTILL_PLOTS = ("correlation_matrix", "decision_boundary_teacher", "decision_boundary_student",
                 "factor_feature_heatmap", "factor_gates", "feature_distributions",
                 "feature_importance", "importance_distribution", "pca_scatter", "pca_variance",
                 "precision_recall", "prediction_comparison", "tsne")
BENCH_PLOTS = ("latency_distribution", "accuracy_vs_cost")
ALL_PLOTS = DISTILL_PLOTS + BENCH_PLOTS


def draw_plots(facts) -> tuple[dict[str, bytes], dict]:
    """Every plot the run's data allows, as {name: PNG bytes}, and the skipped ones as
    {name: PlotSkipped}: the 13 distill plots (fewer on a tiny split), the two bench plots when at
    least one bench JSON was read."""
    from kdedge.report import plots_cost, plots_data, plots_models
    from kdedge.report.figure import PlotSkipped, png_bytes

    preds = plots_models.predictions(facts)
    makers = {
        "correlation_matrix": lambda: plots_data.correlation_matrix(facts),
        "decision_boundary_teacher": lambda: plots_models.decision_boundary(facts, "teacher"),
        "decision_boundary_student": lambda: plots_models.decision_boundary(facts, "student"),
        "factor_feature_heatmap": lambda: plots_models.factor_feature_heatmap(facts),
        "factor_gates": lambda: plots_models.factor_gates(facts),
        "feature_distributions": lambda: plots_data.feature_distributions(facts),
        "feature_importance": lambda: plots_data.feature_importance(facts),
        "importance_distribution": lambda: plots_data.importance_distribution(facts),
        "pca_scatter": lambda: plots_data.pca_scatter(facts),
        "pca_variance": lambda: plots_data.pca_variance(facts),
        "precision_recall": lambda: plots_models.precision_recall(facts, preds),
        "prediction_comparison": lambda: plots_models.prediction_comparison(facts, preds),
        "tsne": lambda: plots_data.tsne(facts),
    }
    if facts.benches:
        makers["latency_distribution"] = lambda: plots_cost.latency_distribution(facts)
        makers["accuracy_vs_cost"] = lambda: plots_cost.accuracy_vs_cost(facts)
    images, skipped = {}, {}
    for name, make in makers.items():
        try:
            images[name] = png_bytes(make())
        except PlotSkipped as reason:
            skipped[name] = reason
    return images, skipped


def _remove_stale_plots(run_dir: Path, stale: list[str]) -> None:
    """Delete plots an earlier report drew but this one has no data for (e.g. the bench JSONs are
    gone), and their entries in run.json, so the run directory does not show outdated figures."""
    present = [name for name in stale if (run_dir / name).exists()]
    if not present:
        return
    manifest = rundir.read_manifest(run_dir)
    for name in present:
        (run_dir / name).unlink()
        manifest.get("artifacts", {}).pop(name, None)
    rundir.write_json_atomic(run_dir / rundir.MANIFEST, manifest)


def make_report(run_dir: str | Path, *, lang: str = "zh", bench_files=(), quiet: bool = False) -> Path:
    """Write the report of a run directory from whatever stages have run.

    Args:
        run_dir: A run directory written by `kdedge distill` (export and bench optional).
        lang: "zh" (default, as the seed report) or "en"; the numbers are the same in both.
        bench_files: Extra bench JSONs (e.g. from other devices), beside RUN/bench/*.json.
        quiet: No progress line on stderr.

    Returns:
        The path of RUN/report.md (RUN/report.html and RUN/plots/*.png are written beside it).

    Raises:
        KdedgeError: `lang` unknown; not a run directory (no run.json); an unreadable
            export.json or bench JSON (named in the message).
    """
    from kdedge.report.collect import collect
    from kdedge.report.render import render_html, render_markdown
    from kdedge.report.sections import build_document
    from kdedge.report.text import skip_reason

    if lang not in LANGS:
        raise rundir.KdedgeError(f"--lang must be one of {', '.join(LANGS)}, got {lang!r}")
    started = time.perf_counter()
    run_dir = Path(run_dir)
    facts = collect(run_dir, bench_files=bench_files)
    images, skipped = draw_plots(facts)
    blocks = build_document(facts, lang=lang, plots=set(images), skipped=skipped)
    written = []
    for name, data in images.items():
        rundir.write_bytes_atomic(run_dir / image_path(name), data)
        written.append(image_path(name))
    _remove_stale_plots(run_dir, [image_path(n) for n in sorted(set(ALL_PLOTS) - set(images))])
    markdown = render_markdown(blocks)
    page = render_html(blocks, title=f"{tr(lang, 'title')} — {run_dir.name}", images=images, lang=lang)
    rundir.write_bytes_atomic(run_dir / "report.md", markdown.encode("utf-8"))
    rundir.write_bytes_atomic(run_dir / "report.html", page.encode("utf-8"))
    written += ["report.md", "report.html"]
    seconds = round(time.perf_counter() - started, 2)
    rundir.update_manifest(run_dir, stage="report", files=written,
                           info={"lang": lang, "seconds": seconds, "plots": len(images),
                                 "bench_files": [str(b.path) for b in facts.benches],
                                 "skipped_plots": {name: skip_reason("en", reason)
                                                   for name, reason in sorted(skipped.items())},
                                 "missing_stages": sorted(facts.missing)})
    if not quiet:
        print(f"[report] wrote {run_dir / 'report.md'}, report.html and {len(images)} plots "
              f"in {seconds:.1f} s", file=sys.stderr)
    return run_dir / "report.md"

"""`kdedge report`: run directory → RUN/report.md, RUN/report.html and RUN/plots/*.png.

Reads whatever stages have run (distill is required; export and bench are optional), draws the
plots the data allows (a plot it cannot draw is skipped and its section says why), builds one
list of blocks and renders it twice: Markdown linking plots/<name>.png, and a self-contained HTML
page with the same plots embedded. Every file is written atomically and recorded in run.json
under the "report" stage. Imports no torch: models are seen through what distill stored
(predictions.npz, safetensors) and the exported ONNX graphs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from kdedge import contract, rundir
from kdedge.log import get_logger
from kdedge.params import OneOf, check_params
from kdedge.report.deploy import BENCH_PLOTS
from kdedge.report.render import image_path, render_html, render_markdown
from kdedge.report.text import LANGS, skip_reason, tr

if TYPE_CHECKING:  # matplotlib is imported when a report is made, not with kdedge.report
    from kdedge.report.fonts import PlotFonts

PARAMETERS = {"lang": OneOf(LANGS)}
_log = get_logger("report")

DISTILL_PLOTS = ("correlation_matrix", "decision_boundary_teacher", "decision_boundary_student",
                 "factor_feature_heatmap", "factor_gates", "feature_distributions",
                 "feature_importance", "importance_distribution", "pca_scatter", "pca_variance",
                 "precision_recall", "prediction_comparison", "tsne")
ALL_PLOTS = DISTILL_PLOTS + BENCH_PLOTS


def plotted_names(facts) -> list[str]:
    """The names from the user's data the plots show: features, classes, bench targets."""
    return facts.run.feature_names + facts.run.class_names + [b.target for b in facts.benches]


def draw_plots(facts, fonts: PlotFonts | None = None) -> tuple[dict[str, bytes], dict]:
    """Every plot the run's data allows, as {name: PNG bytes}, and the skipped ones as
    {name: PlotSkipped}: the 13 distill plots (fewer on a tiny split, and no decision boundaries
    before `kdedge export`), the three bench plots when at least one bench JSON was read. `fonts`
    (a `fonts.PlotFonts`) defaults to those `fonts.choose_plot_fonts` picks for the run's names."""
    from kdedge.report import pareto, plots_cost, plots_data, plots_models
    from kdedge.report.figure import PlotSkipped, render_png
    from kdedge.report.fonts import choose_plot_fonts

    fonts = fonts or choose_plot_fonts(plotted_names(facts))

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
        makers["pareto"] = lambda: pareto.pareto(facts)
    images, skipped = {}, {}
    for name, make in makers.items():
        try:
            images[name] = render_png(make, fonts)
        except PlotSkipped as reason:
            skipped[name] = reason
    return images, skipped


def _remove_stale_plots(run_dir: Path, drawn: set[str]) -> list[str]:
    """Delete plots an earlier report drew but this one has no data for (e.g. the bench JSONs are
    gone), so the run directory does not show outdated figures; returns their RUN-relative paths
    for run.json to forget."""
    removed = [image_path(name) for name in sorted(set(ALL_PLOTS) - drawn)
               if (run_dir / image_path(name)).exists()]
    for name in removed:
        (run_dir / name).unlink()
    return removed


def _write_report(run_dir: Path, blocks: list, images: dict[str, bytes], lang: str) -> list[str]:
    """Write the plots, report.md and report.html; returns their RUN-relative paths."""
    written = []
    for name, data in images.items():
        rundir.write_bytes_atomic(run_dir / image_path(name), data)
        written.append(image_path(name))
    page = render_html(blocks, title=f"{tr(lang, 'title')} — {run_dir.name}", images=images, lang=lang)
    rundir.write_bytes_atomic(run_dir / contract.REPORT_MD, render_markdown(blocks).encode("utf-8"))
    rundir.write_bytes_atomic(run_dir / contract.REPORT_HTML, page.encode("utf-8"))
    return written + [contract.REPORT_MD, contract.REPORT_HTML]


def make_report(run_dir: str | Path, *, lang: str = "zh", bench_files=()) -> Path:
    """Write the report of a run directory from whatever stages have run.

    Args:
        run_dir: A run directory written by `kdedge distill` (export and bench optional).
        lang: "zh" (default, as the seed report) or "en"; the numbers are the same in both.
        bench_files: Paths of extra bench JSONs (e.g. from other devices), beside
            RUN/bench/*.json.

    Returns:
        The path of RUN/report.md (RUN/report.html and RUN/plots/*.png are written beside it).

    Raises:
        KdedgeError: `lang` unknown; not a run directory (no run.json); an export.json or bench
            JSON that does not match the contract (named in the message).
    """
    check_params(PARAMETERS, locals())
    from kdedge.report.collect import collect
    from kdedge.report.fonts import choose_plot_fonts
    from kdedge.report.sections import build_document

    started = time.perf_counter()
    run_dir = Path(run_dir)
    with rundir.stage_lock(run_dir, stage="report"):
        facts = collect(run_dir, bench_files=bench_files)
        _log.info("drawing the plots of %s", run_dir)
        fonts = choose_plot_fonts(plotted_names(facts))
        images, skipped = draw_plots(facts, fonts)
        blocks = build_document(facts, lang=lang, plots=set(images), skipped=skipped,
                                lacking_glyphs=fonts.lacking)
        written = _write_report(run_dir, blocks, images, lang)
        removed = _remove_stale_plots(run_dir, set(images))
        seconds = round(time.perf_counter() - started, 2)
        rundir.update_manifest(run_dir, stage="report", files=written, removed=removed,
                               info={"lang": lang, "seconds": seconds, "plots": len(images),
                                     "bench_files": [str(b.path) for b in facts.benches],
                                     "skipped_plots": {name: skip_reason("en", reason)
                                                       for name, reason in sorted(skipped.items())},
                                     "missing_stages": sorted(facts.missing)})
    _log.info("wrote %s, %s and %d plots in %.1f s", run_dir / contract.REPORT_MD,
              contract.REPORT_HTML, len(images), seconds)
    return run_dir / contract.REPORT_MD

"""Figure helpers shared by the plot modules: a pyplot-free Agg figure, class colours, PNG bytes.

`matplotlib.figure.Figure` renders through the Agg canvas without touching pyplot's global state,
so plots need no display and no backend switch, and figures are freed when they go out of scope.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable

import matplotlib
import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter

from kdedge.report.fonts import PlotFonts

DPI = 100  # 10×6 inch figures → 1000×600 px: readable at report width
MIN_ROWS = 5  # a scatter, histogram, correlation or curve of fewer rows shows nothing


class PlotSkipped(Exception):
    """A plot this run's data cannot show meaningfully (too few rows, a class absent, ...).

    `reason` names the entry `skip.<reason>` of `kdedge.report.text.TEXT`; `values` fill its
    placeholders.
    The report draws no figure and the plot's section says why, in the report's language.
    """

    def __init__(self, reason: str, **values):
        super().__init__(reason)
        self.reason = reason
        self.values = values


def require_rows(n_rows: int, rows: str) -> None:
    """Raise `PlotSkipped` when fewer than `MIN_ROWS` rows of `rows` ("test" / "val_test") exist."""
    if n_rows < MIN_ROWS:
        raise PlotSkipped(f"too_few_{rows}_rows", n=n_rows, min=MIN_ROWS)


def new_figure(width: float = 8.0, height: float = 5.5) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes; no timestamp/software metadata, so equal plots give equal bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def render_png(make: Callable[[], Figure], fonts: PlotFonts = PlotFonts()) -> bytes:
    """`make()`'s figure as PNG bytes, with every text drawn literally and in `fonts`.

    Names from the user's data reach titles, labels, ticks and legends, and matplotlib would
    parse a column named `x_$^$` as mathtext (and fail); no plot uses mathtext on purpose.
    `fonts.families` is a fallback chain (DejaVu Sans, then a CJK font for `温度`). Both
    settings are read when each text is made and drawn, so the context covers both, and nothing
    outlives it. Characters no installed font has were reported once already
    (`fonts.choose_plot_fonts`): matplotlib's warning per glyph and plot is silenced for them."""
    settings = {"text.parse_math": False, "text.usetex": False, "font.family": list(fonts.families)}
    with matplotlib.rc_context(settings), warnings.catch_warnings():
        if fonts.lacking:
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")
        return png_bytes(make())


def class_colors(n_classes: int) -> list:
    """One distinct colour per class (tab10 up to 10 classes, tab20 beyond)."""
    cmap = colormaps["tab10" if n_classes <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n_classes)]


def feature_ticks(ax, names: list[str], *, axis: str = "x", max_labels: int = 30) -> None:
    """Label every feature when there are few, else about `max_labels` of them."""
    step = max(1, int(np.ceil(len(names) / max_labels)))
    positions = list(range(0, len(names), step))
    labels = [names[i] for i in positions]
    if axis == "x":
        ax.set_xticks(positions, labels, rotation=60, ha="right", fontsize=8)
    else:
        ax.set_yticks(positions, labels, fontsize=8)


def plain_log_axis(axis) -> None:
    """Log axis labelled 50, 60, 100 rather than 5×10¹ (minor ticks labelled on short ranges);
    the report draws text literally (no mathtext), so the default labels would show as markup."""
    axis.set_major_formatter(LogFormatter())
    axis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)))

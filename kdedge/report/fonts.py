"""The plots' fonts: matplotlib's DejaVu Sans, then an installed CJK font for the names it lacks.

Names from the user's data (columns, classes, bench targets) reach titles, ticks and legends;
DejaVu Sans has no Chinese, Japanese or Korean glyphs, so `温度` would be drawn as boxes. Since
matplotlib 3.6 a list of families is a per-glyph fallback chain, so the plots are drawn with
["DejaVu Sans", <a CJK font>] inside `figure.render_png`'s rc_context only: nothing global is
left changed. With no CJK font installed the report says so once (logger `kdedge.report`), the
page says how to install one, and the plots are drawn anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from matplotlib import font_manager

from kdedge.log import get_logger

BASE_FAMILY = "DejaVu Sans"  # matplotlib's own default, shipped with it
# Installed CJK families matplotlib can draw, best first (sans-serif faces covering Simplified
# Chinese first); after them any family whose name contains "CJK".
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
                "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans CJK KR", "Source Han Sans",
                "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC",
                "Hiragino Sans GB", "SimHei", "Heiti SC", "Noto Serif CJK SC", "AR PL UMing CN")
# File names of those fonts, for files installed after matplotlib built its font cache
CJK_FILE_HINTS = ("cjk", "sourcehan", "wqy", "wenquanyi", "msyh", "yahei", "pingfang", "simhei",
                  "notosanssc", "hiragino", "stheiti", "uming")
INSTALL_PACKAGE = "fonts-noto-cjk"  # Debian/Ubuntu; the report's hint names it

_log = get_logger("report")


@dataclass(frozen=True)
class PlotFonts:
    """The font families the plots are drawn with, and the characters of the names none of them
    has (drawn as boxes; empty when every character is covered)."""

    families: tuple[str, ...] = (BASE_FAMILY,)
    lacking: str = ""


def _family_names() -> set[str]:
    return {entry.name for entry in font_manager.fontManager.ttflist}


def _installed_cjk_family() -> str | None:
    names = _family_names()
    preferred = next((family for family in CJK_FAMILIES if family in names), None)
    return preferred or next((name for name in sorted(names) if "CJK" in name), None)


def _register_system_cjk_files() -> bool:
    """Register CJK font files the system has but matplotlib's font list lacks: that list is
    cached (~/.cache/matplotlib/fontlist-*.json) when matplotlib first runs, and a font
    installed later stays unknown to it until the cache is deleted. True when one was added."""
    added = False
    for path in font_manager.findSystemFonts():
        if any(hint in Path(path).name.lower() for hint in CJK_FILE_HINTS):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # unreadable or not a font: try the next
                continue
            added = True
    return added


def find_cjk_font() -> str | None:
    """The family name of an installed CJK font matplotlib can draw with, or None."""
    family = _installed_cjk_family()
    if family is None and _register_system_cjk_files():
        family = _installed_cjk_family()
    return family


def lacking_glyphs(texts: Iterable[str], family: str = BASE_FAMILY) -> str:
    """The distinct characters of `texts` (in first-seen order) that font `family` has no glyph
    for; whitespace and control characters are never drawn and not counted."""
    font = font_manager.get_font(font_manager.findfont(family, fallback_to_default=False))
    seen = dict.fromkeys(char for text in texts for char in str(text) if char.isprintable()
                         and not char.isspace())
    return "".join(char for char in seen if font.get_char_index(ord(char)) == 0)


def choose_plot_fonts(texts: Iterable[str]) -> PlotFonts:
    """Fonts for plots that show `texts` (the run's feature, class and target names): DejaVu
    Sans alone when it draws them all, else DejaVu Sans then an installed CJK font. Warns once
    (logger kdedge.report) when no installed font draws some of the characters."""
    lacking = lacking_glyphs(texts)
    if not lacking:
        return PlotFonts()
    family = find_cjk_font()
    if family is not None:
        lacking = lacking_glyphs(lacking, family)
    if lacking:
        _log.warning("the plots show names with characters no installed font has (%s): they are "
                     "drawn as boxes. For Chinese, Japanese or Korean names install a CJK font "
                     "(Debian/Ubuntu: apt-get install %s) and make the report again",
                     lacking[:20], INSTALL_PACKAGE)
    families = (BASE_FAMILY,) if family is None else (BASE_FAMILY, family)
    return PlotFonts(families=families, lacking=lacking)

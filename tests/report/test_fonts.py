"""Tests of kdedge/report/fonts.py: the plots' CJK fallback font, found or missing."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import pytest
from matplotlib import font_manager

from kdedge.report import fonts
from kdedge.report.fonts import BASE_FAMILY, PlotFonts, choose_plot_fonts, lacking_glyphs

CJK_FONT = fonts.find_cjk_font()
needs_cjk_font = pytest.mark.skipif(CJK_FONT is None, reason="no CJK font installed (CI installs "
                                    "fonts-noto-cjk: apt-get install fonts-noto-cjk)")


@pytest.fixture()
def warnings_logged():
    """The messages of every warning logger kdedge.report emits during the test."""
    messages: list[str] = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger("kdedge.report")
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)


def test_lacking_glyphs_of_dejavu_sans_are_the_cjk_ones():
    names = ["温度_10", "class 正常", "µs – ×2 †", "x\ty"]  # the plots' own symbols are in DejaVu
    assert lacking_glyphs(names) == "温度正常"
    assert lacking_glyphs(["plain", "ascii_names"]) == ""


def test_choose_plot_fonts_plain_names_need_no_search(monkeypatch, warnings_logged):
    monkeypatch.setattr(fonts, "find_cjk_font", lambda: pytest.fail("searched for a CJK font"))
    assert choose_plot_fonts(["alcohol", "class 0"]) == PlotFonts((BASE_FAMILY,), "")
    assert warnings_logged == []


@needs_cjk_font
def test_choose_plot_fonts_cjk_names_fall_back_to_installed_cjk_font(warnings_logged):
    chosen = choose_plot_fonts(["温度", "class 故障"])
    assert chosen == PlotFonts((BASE_FAMILY, CJK_FONT), "")
    assert warnings_logged == []


def test_choose_plot_fonts_no_cjk_font_warns_once(monkeypatch, warnings_logged):
    monkeypatch.setattr(fonts, "find_cjk_font", lambda: None)
    chosen = choose_plot_fonts(["温度", "湿度", "class 故障"])
    assert chosen == PlotFonts((BASE_FAMILY,), "温度湿故障")
    assert len(warnings_logged) == 1
    assert "温度湿故障" in warnings_logged[0] and "apt-get install fonts-noto-cjk" in warnings_logged[0]


def test_find_cjk_font_registers_a_font_installed_after_the_cache(monkeypatch):
    """matplotlib's cached font list predates a CJK font installed later (the state this machine
    was found in); find_cjk_font registers the file and finds it anyway."""
    files = [path for path in font_manager.findSystemFonts()
             if any(hint in Path(path).name.lower() for hint in fonts.CJK_FILE_HINTS)]
    if not files:
        pytest.skip("no CJK font file on this system (apt-get install fonts-noto-cjk)")
    stale = copy.copy(font_manager.fontManager)
    stale.ttflist = [entry for entry in stale.ttflist
                     if not any(hint in Path(entry.fname).name.lower() for hint in fonts.CJK_FILE_HINTS)]
    monkeypatch.setattr(font_manager, "fontManager", stale)
    assert fonts._installed_cjk_family() is None  # what the plain lookup finds in a stale cache
    family = fonts.find_cjk_font()
    assert family is not None and family in {entry.name for entry in stale.ttflist}

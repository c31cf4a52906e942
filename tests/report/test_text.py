"""Tests of kdedge/report/text.py: the two languages and the number formats."""

from __future__ import annotations

import string

import pytest

from kdedge.report.conclusions import SENTENCES
from kdedge.report.text import (CAPTIONS, SKIP_REASONS, STRINGS, fmt_change, fmt_int, fmt_pct,
                                fmt_points, fmt_ratio, tr)


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("table", [STRINGS, SENTENCES, SKIP_REASONS], ids=["strings", "sentences", "skip"])
def test_strings_same_placeholders_in_both_languages(table):
    for key, (en, zh) in table.items():
        assert _fields(en) == _fields(zh), key


def test_captions_every_plot_in_both_languages():
    assert len(CAPTIONS) == 15
    assert all(en and zh and en != zh for en, zh in CAPTIONS.values())


def test_fmt_pct_feature_usage():
    assert fmt_pct(6 / 13) == "46.15%"
    assert fmt_pct(-0.5385, signed=True) == "-53.85%"


def test_fmt_change_and_ratio():
    assert fmt_change(258, 37506) == "-99.31%"
    assert fmt_ratio(37506, 258) == "145.4×"
    assert fmt_int(36352) == "36,352"
    assert fmt_change(None, 3) == "—" and fmt_ratio(3, 0) == "—"


def test_tr_languages_differ_numbers_equal():
    en = tr("en", "selected", k=6, n=13, pct="46.15%")
    zh = tr("zh", "selected", k=6, n=13, pct="46.15%")
    assert en != zh and "6 / 13" in en and "6 / 13" in zh and "46.15%" in zh


def test_fmt_points_signed_and_magnitude():
    assert fmt_points(-0.0167) == "-1.67 pt" and fmt_points(0.0083) == "+0.83 pt"
    assert fmt_points(-0.0167, signed=False) == "1.67 pt"  # for "… 1.67 pt below"

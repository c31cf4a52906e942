"""Tests of kdedge/report/text.py: the one translation table and the number formats."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from kdedge.contract import PREDICTION_KEYS, PairedComparison
from kdedge.report import make
from kdedge.report.figure import PlotSkipped
from kdedge.report.text import (LANGS, TEXT, caption, fmt_change, fmt_int, fmt_interval, fmt_p,
                                fmt_pct, fmt_points, fmt_ratio, skip_reason, tr)

REPORT_PACKAGE = Path(make.__file__).parent


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(TEXT))
def test_text_same_placeholders_in_both_languages(key):
    en, zh = TEXT[key]
    assert en and zh and _fields(en) == _fields(zh)


def _nodes():
    for path in sorted(REPORT_PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            yield path.name, node


def _namespace(prefix: str) -> set[str]:
    return {key[len(prefix) + 1:] for key in TEXT if key.startswith(prefix + ".")}


def test_text_holds_every_caption_skip_reason_and_finding():
    namespaces = {key.split(".")[0] for key in TEXT if "." in key}
    assert namespaces == {"caption", "skip", "finding", "model", "metric", "verdict"}
    assert _namespace("caption") == set(make.ALL_PLOTS)


def test_text_names_every_model_metric_and_verdict_a_comparison_can_hold():
    """Keys built at run time (`model.<name>`, `metric.<metric>`, `verdict.<verdict>`,
    `finding.paired_<verdict>`) exist for every value the contract allows."""
    assert _namespace("model") == set(PREDICTION_KEYS) | {"graph"}
    verdicts = {"b_worse", "b_better", "no_difference"}
    assert _namespace("verdict") == verdicts
    assert {f"paired_{v}" for v in verdicts} | {"paired_identical"} <= _namespace("finding")
    assert _namespace("metric") == {"accuracy", "positive_recall", "pr_auc"}
    allowed = PairedComparison.__dataclass_fields__["metric"].metadata["doc"]
    assert all(metric in allowed for metric in _namespace("metric"))


def test_every_key_looked_up_is_in_text():
    """Each literal key passed to `tr` (or to `finding`, which adds `finding.`) and each
    PlotSkipped reason is an entry of TEXT, so the placeholder test above covers it."""
    looked_up = []
    for name, node in _nodes():
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        literal = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        prefix = {"tr": "", "finding": "finding.", "PlotSkipped": "skip."}.get(node.func.id)
        if prefix is not None and literal:
            key = literal[-1] if node.func.id != "PlotSkipped" else literal[0]
            looked_up.append((name, node.lineno, prefix + key))
    assert len(looked_up) > 50  # the walk finds the lookups (76 when written)
    assert [entry for entry in looked_up if entry[2] not in TEXT] == []


def test_report_package_dispatches_on_lang_only_in_tr():
    """No module picks a language itself: every word comes from TEXT through `tr`."""
    for name, node in _nodes():
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) and node.left.id == "lang":
            pytest.fail(f"{name}:{node.lineno} compares lang itself")


def test_captions_every_plot_in_both_languages():
    for plot in make.ALL_PLOTS:
        en, zh = caption("en", plot), caption("zh", plot)
        assert en and zh and en != zh


def test_skip_reason_fills_placeholders_in_both_languages():
    skipped = PlotSkipped("needs_export", cmd="kdedge export RUN --quantize all")
    for lang in LANGS:
        assert "`kdedge export RUN --quantize all`" in skip_reason(lang, skipped)


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


def test_fmt_interval_and_p():
    assert fmt_interval(-0.0375, -0.0083) == "[-3.75, -0.83] pt"
    assert fmt_p(0.006123) == "0.0061" and fmt_p(0.006123, relation=True) == "= 0.0061"
    assert fmt_p(3e-37) == fmt_p(3e-37, relation=True) == "< 0.0001" and fmt_p(None) == "—"


def test_fmt_points_signed_and_magnitude():
    assert fmt_points(-0.0167) == "-1.67 pt" and fmt_points(0.0083) == "+0.83 pt"
    assert fmt_points(-0.0167, signed=False) == "1.67 pt"  # for "… 1.67 pt below"

"""Tests of kdedge/report/figure.py: deterministic PNG bytes."""

from __future__ import annotations

from kdedge.report.figure import class_colors, new_figure, png_bytes


def _figure():
    fig = new_figure(3, 2)
    fig.add_subplot().plot([0, 1], [1, 0])
    return fig


def test_png_bytes_deterministic_png():
    first, second = png_bytes(_figure()), png_bytes(_figure())
    assert first.startswith(b"\x89PNG\r\n\x1a\n") and first == second


def test_class_colors_distinct():
    assert len(set(class_colors(10))) == 10 and len(set(class_colors(12))) == 12

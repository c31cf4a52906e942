"""Tests of kdedge/report/labels.py: one label per spot, and labels stacked a line apart."""

from __future__ import annotations

import pytest

from kdedge.report.figure import new_figure
from kdedge.report.labels import LINE, label_points, panel_fractions, spot_groups, stack_labels


@pytest.mark.parametrize("fx, fy, groups", [
    ([0.05, 0.05, 0.95], [0.10, 0.12, 0.95], [[0, 1], [2]]),  # same parameters, accuracies 2% apart
    ([0.05, 0.05, 0.95], [0.10, 0.50, 0.95], [[0], [1], [2]]),  # same parameters, far apart
    ([0.05, 0.07, 0.05], [0.10, 0.10, 0.11], [[0, 1, 2]]),
    ([0.1, 0.5, 0.9], [0.1, 0.1, 0.1], [[0], [1], [2]]),  # one accuracy, costs apart
])
def test_spot_groups_points_whose_markers_overlap(fx, fy, groups):
    assert spot_groups(fx, fy) == groups


def test_stack_labels_moves_up_only_labels_that_would_collide():
    # two labels near each other (x 0.05 and 0.10, heights 0.10 and 0.12): the upper moves up a
    # line; a third at the same height but far to the right stays; a fourth high up stays
    heights = stack_labels([0.05, 0.10, 0.9, 0.05], [0.10, 0.12, 0.10, 0.80])
    assert heights == pytest.approx([0.10, 0.10 + LINE, 0.10, 0.80])
    chain = stack_labels([0.0, 0.0, 0.0], [0.5, 0.5, 0.5])  # one spot's labels stack
    assert chain == pytest.approx([0.5, 0.5 + LINE, 0.5 + 2 * LINE])


def test_label_points_log_panel():
    fig = new_figure(5, 5)
    ax = fig.add_subplot()
    xs, ys = [258, 258, 37506], [0.973, 0.9729, 0.969]
    ax.scatter(xs, ys)
    ax.set_xscale("log")
    fx, _ = panel_fractions(ax, xs, ys)
    assert fx[0] == fx[1] and 0 < fx[0] < 0.2 and 0.8 < fx[2] < 1
    label_points(ax, xs, ys, ["student", "student_no_kd", "teacher"])
    texts = {t.get_text(): t for t in ax.texts}
    assert set(texts) == {"student, student_no_kd", "teacher"}
    assert texts["teacher"].get_horizontalalignment() == "right"  # near the right edge: flipped


def test_stack_labels_ends_when_rounding_puts_a_label_just_under_a_line_apart():
    """The params panel of a real GBDT-teacher run: a label moved up to 0.202 + LINE sat
    0.04999999… above the one below (float rounding), was "blocked" again and moved to the same
    height forever; a label a line apart (within rounding) no longer collides."""
    fx = [0.9545454545454518, 0.19368059258455753, 0.19368059258455753, 0.04545454545454579]
    fy = [0.9712121212121223, 0.20198135198135125, 0.062121212121211064, 0.20198135198135125]
    heights = stack_labels(fx, fy)
    assert heights == pytest.approx([fy[0], fy[1], fy[2], fy[3] + LINE])

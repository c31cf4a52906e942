"""Name labels for the points of a scatter panel that never print over each other.

Points at the same spot (the student and the no-KD student share their parameter count; a
quantized variant often keeps the fp32 accuracy) get one label naming them all; labels that
would still overlap are stacked one line apart, each tied to its point by a thin line. Positions
are shares of the panel (matplotlib's "axes fraction"), taken from its autoscaled limits, so the
rules hold whatever the data's range. matplotlib places no labels itself; adjustText would, but
a handful of labels do not warrant the dependency.
"""

from __future__ import annotations

import numpy as np

SAME_SPOT = 0.03  # points closer than this share of the panel on both axes overlap as markers
LINE = 0.05  # a 7-pt label's height, as a share of a panel about 4 inches tall, with spacing
WIDTH = 0.35  # labels whose points are closer than this share of the width may collide
OFFSET = 0.02  # from the point to its label's near end
FLIP_AT = 0.6  # a point right of this share of the width gets its label on its left


def panel_fractions(ax, xs, ys) -> tuple[np.ndarray, np.ndarray]:
    """Where points (x on the panel's scale, linear or log) lie as shares of the panel, from its
    current limits (reading them makes matplotlib autoscale to the points drawn)."""
    x, (x_low, x_high) = np.asarray(xs, dtype=float), ax.get_xlim()
    if ax.get_xscale() == "log":
        x, x_low, x_high = np.log10(x), np.log10(x_low), np.log10(x_high)
    y_low, y_high = ax.get_ylim()
    return (x - x_low) / (x_high - x_low), (np.asarray(ys, dtype=float) - y_low) / (y_high - y_low)


def spot_groups(fx, fy, *, near: float = SAME_SPOT) -> list[list[int]]:
    """Indices of the points grouped by spot: a point joins the first group whose first point is
    within `near` of it on both axes, else it starts a group."""
    groups: list[list[int]] = []
    for i in range(len(fx)):
        group = next((g for g in groups if abs(fx[i] - fx[g[0]]) <= near
                      and abs(fy[i] - fy[g[0]]) <= near), None)
        if group is None:
            groups.append([i])
        else:
            group.append(i)
    return groups


def stack_labels(fx, fy, *, line: float = LINE, width: float = WIDTH) -> list[float]:
    """Heights (shares of the panel) of labels wanted at heights `fy` beside points at `fx`:
    from the lowest up, a label that would be within `line` of one already placed whose point is
    within `width` horizontally moves up past it. (A label exactly `line` above another does
    not collide with it: the tolerance keeps rounding from moving it again and again.)"""
    heights: dict[int, float] = {}
    for i in sorted(range(len(fy)), key=lambda i: (fy[i], i)):
        height = fy[i]
        while True:
            blocking = [heights[j] for j in heights if abs(fx[j] - fx[i]) < width
                        and abs(heights[j] - height) < line - 1e-9]
            if not blocking:
                break
            height = max(blocking) + line
        heights[i] = height
    return [heights[i] for i in range(len(fy))]


def label_points(ax, xs, ys, names: list[str], *, fontsize: float = 7) -> None:
    """Write `names` beside the points (xs, ys) already drawn on `ax`: one label per spot, none
    over another; a label moved off its point is tied to it by a thin grey line."""
    fx, fy = panel_fractions(ax, xs, ys)
    groups = spot_groups(fx, fy)
    anchors_x = [fx[g[0]] for g in groups]
    heights = stack_labels(anchors_x, [fy[g[0]] + LINE / 3 for g in groups])
    for group, height in zip(groups, heights):
        left = fx[group[0]] > FLIP_AT
        moved = height - (fy[group[0]] + LINE / 3) > 1e-9
        ax.annotate(", ".join(names[i] for i in group), (xs[group[0]], ys[group[0]]),
                    xytext=(fx[group[0]] + (-OFFSET if left else OFFSET), height),
                    textcoords="axes fraction", fontsize=fontsize, va="center",
                    ha="right" if left else "left", annotation_clip=False,
                    arrowprops=dict(arrowstyle="-", color="gray", lw=0.5) if moved else None)

"""Tests of kdedge/report/plots_data.py: data and ranking plots."""

from __future__ import annotations

from matplotlib.colors import to_rgba

from kdedge.report import plots_data


def test_correlation_matrix_is_n_by_n(facts):
    image = plots_data.correlation_matrix(facts).axes[0].images[0].get_array()
    assert image.shape == (facts.n, facts.n)


def test_feature_importance_descending_selected_highlighted(facts):
    ax = plots_data.feature_importance(facts).axes[0]
    widths = [bar.get_width() for bar in ax.patches]
    assert widths[0] == 1.0 and widths == sorted(widths, reverse=True)
    blue = to_rgba("tab:blue")
    colors = [bar.get_facecolor() for bar in ax.patches]
    assert all(c == blue for c in colors[:facts.k]) and all(c != blue for c in colors[facts.k:])

def test_tsne_bounded_sample(facts, monkeypatch):
    monkeypatch.setattr(plots_data, "TSNE_ROWS", 120)
    ax = plots_data.tsne(facts).axes[0]
    assert sum(len(c.get_offsets()) for c in ax.collections) == 120
    assert "t-SNE of 120 test rows" in ax.get_title()

"""Tests of kdedge/report/plots_data.py: data and ranking plots."""

from __future__ import annotations

import pytest
from matplotlib.colors import to_rgba

from kdedge.report import plots_data
from kdedge.report.figure import MIN_ROWS, PlotSkipped


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


def test_pca_scatter_of_standardised_test_rows(facts):
    """PCA sees the test rows standardised by the run's scaler: every row is plotted, and the
    first component's variance share is what sklearn finds on those rows (raw rows give another)."""
    from sklearn.decomposition import PCA

    ax = plots_data.pca_scatter(facts).axes[0]
    assert sum(len(c.get_offsets()) for c in ax.collections) == len(facts.run.split["X_test"])
    X = facts.run.scaler("teacher").transform(facts.run.split["X_test"])
    share = PCA(n_components=2, random_state=0).fit(X).explained_variance_ratio_[0]
    assert ax.get_xlabel() == f"PC1 ({share * 100:.1f}% variance)"


def test_tsne_bounded_sample(facts, monkeypatch):
    monkeypatch.setattr(plots_data, "TSNE_ROWS", 120)
    ax = plots_data.tsne(facts).axes[0]
    assert sum(len(c.get_offsets()) for c in ax.collections) == 120
    assert "t-SNE of 120 test rows" in ax.get_title()


@pytest.mark.parametrize("rows, expected", [(5, 4 / 3), (10, 3.0), (91, 30.0), (1000, 30.0)])
def test_tsne_perplexity_below_rows(rows, expected):
    assert plots_data.tsne_perplexity(rows) == pytest.approx(expected)
    assert plots_data.tsne_perplexity(rows) < rows


def test_tsne_five_rows_drawn(facts, cut_split):
    cut_split(facts, 5)
    ax = plots_data.tsne(facts).axes[0]
    assert "t-SNE of 5 test rows (perplexity 1.33" in ax.get_title()


@pytest.mark.parametrize("plot, reason", [("tsne", "too_few_test_rows"), ("pca_scatter", "too_few_test_rows"),
                                          ("pca_variance", "too_few_val_test_rows"),
                                          ("correlation_matrix", "too_few_val_test_rows"),
                                          ("feature_distributions", "too_few_val_test_rows")])
def test_plots_data_tiny_split_skipped_with_reason(facts, cut_split, plot, reason):
    cut_split(facts, 2)  # a 10-row CSV's split: 2 test rows, 2 validation rows
    with pytest.raises(PlotSkipped) as skipped:
        getattr(plots_data, plot)(facts)
    assert skipped.value.reason == reason and skipped.value.values["min"] == MIN_ROWS


def test_feature_distributions_x_axes_say_raw_units(facts):
    """The histograms are of the raw columns as read, so every x-axis says so."""
    fig = plots_data.feature_distributions(facts)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == min(facts.k, plots_data.MAX_DISTRIBUTIONS)
    assert {ax.get_xlabel() for ax in shown} == {"value (raw units, as in the data)"}

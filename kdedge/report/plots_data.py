"""Plots of the data and the feature ranking (no model needed): correlation, importance,
class-wise distributions, PCA and t-SNE. Each function takes `Facts` and returns a Figure, or
raises `PlotSkipped` when the run has too few rows (or components) to show anything. PCA and
t-SNE see the rows as the teacher does: standardised by the run's train-fitted scaler.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits

from kdedge.report.figure import PlotSkipped, class_colors, feature_ticks, new_figure, require_rows

TSNE_ROWS = 1000  # t-SNE is O(n log n) per iteration; a bounded sample keeps the report fast
MAX_DISTRIBUTIONS = 9
# the histograms are of the raw column as read (not standardised), in the data's own units
RAW_VALUE_LABEL = "value (raw units, as in the data)"


def _all_rows(facts) -> tuple[np.ndarray, np.ndarray]:
    """Every labelled raw row split.npz holds (validation + test); at least `MIN_ROWS` of them."""
    split = facts.run.split
    X = np.concatenate([split["X_val"], split["X_test"]])
    require_rows(len(X), "val_test")
    return X, np.concatenate([split["y_val"], split["y_test"]])


def _test_rows(facts) -> tuple[np.ndarray, np.ndarray]:
    """The raw test split; at least `MIN_ROWS` rows."""
    split = facts.run.split
    require_rows(len(split["X_test"]), "test")
    return split["X_test"], split["y_test"]


def tsne_perplexity(n_rows: int) -> float:
    """sklearn's default 30, lowered to (n − 1) / 3 on small samples: t-SNE needs perplexity
    < n, and about 3 × perplexity neighbours for a stable embedding."""
    return float(min(30.0, (n_rows - 1) / 3.0))


def correlation_matrix(facts):
    X, _ = _all_rows(facts)
    names = facts.run.feature_names
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.nan_to_num(np.corrcoef(X.astype(np.float64), rowvar=False))
    corr = np.atleast_2d(corr)
    size = min(12.0, 5.0 + 0.12 * len(names))
    fig = new_figure(size + 1.0, size)
    ax = fig.add_subplot()
    image = ax.imshow(corr, cmap="coolwarm", vmin=-1, vmax=1)
    fig.colorbar(image, ax=ax, shrink=0.8, label="Pearson correlation")
    feature_ticks(ax, names, axis="x")
    feature_ticks(ax, names, axis="y")
    if len(names) <= 15:
        for i in range(len(names)):
            for j in range(len(names)):
                ax.text(j, i, f"{corr[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if abs(corr[i, j]) > 0.6 else "black")
    ax.set_title(f"Feature correlation matrix ({len(X)} validation + test rows)")
    return fig


def _importance(facts) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Features sorted by importance (descending), importance scaled so the top is 1, its std."""
    imp = facts.metrics.feature_importance
    std = facts.metrics.feature_importance_std
    names = sorted(imp, key=lambda f: (-imp[f], f))
    values = np.array([imp[f] for f in names], dtype=float)
    top = values.max() if len(values) and values.max() > 0 else 1.0
    errors = np.array([std.get(f) or 0.0 for f in names], dtype=float)
    return names, values / top, errors / top


def feature_importance(facts):
    names, values, errors = _importance(facts)
    shown = min(len(names), 30)
    selected = set(facts.run.selected_features)
    fig = new_figure(9, max(4.0, 0.3 * shown + 1.5))
    ax = fig.add_subplot()
    y = np.arange(shown)[::-1]
    colors = ["tab:blue" if n in selected else "lightgray" for n in names[:shown]]
    ax.barh(y, values[:shown], xerr=errors[:shown], color=colors, ecolor="dimgray", capsize=2)
    ax.set_yticks(y, names[:shown], fontsize=8)
    ax.set_xlabel("Permutation importance (top = 1)")
    more = f", top {shown} of {len(names)}" if shown < len(names) else ""
    ax.set_title(f"Feature importance (blue: {facts.k} selected{more})")
    ax.grid(axis="x", alpha=0.3)
    return fig


def importance_distribution(facts):
    names, values, _ = _importance(facts)
    cutoff = values[facts.k - 1]
    fig = new_figure(11, 4.5)
    left, right = fig.subplots(1, 2)
    left.hist(values, bins=min(20, max(5, len(values))), color="tab:blue", edgecolor="white")
    left.axvline(cutoff, color="tab:red", linestyle="--", label=f"selection cutoff ({cutoff:.3f})")
    left.set_xlabel("Importance (top = 1)")
    left.set_ylabel("Number of features")
    left.set_title("Histogram of importance scores")
    left.legend()
    ranks = np.arange(1, len(values) + 1)
    right.plot(ranks, values, marker="o", markersize=3)
    right.plot(ranks, np.cumsum(values) / max(values.sum(), 1e-12), color="tab:green",
               label="cumulative share")
    right.axvline(facts.k + 0.5, color="tab:red", linestyle="--", label=f"k = {facts.k}")
    right.set_xlabel("Rank")
    right.set_ylabel("Importance / cumulative share")
    right.set_title("Importance by rank")
    right.legend()
    for ax in (left, right):
        ax.grid(alpha=0.3)
    return fig


def feature_distributions(facts):
    X, y = _all_rows(facts)
    features = facts.run.selected_features[:MAX_DISTRIBUTIONS]
    index = {name: i for i, name in enumerate(facts.run.feature_names)}
    classes, colors = facts.run.class_names, class_colors(facts.n_classes)
    cols = min(3, len(features))
    rows = int(np.ceil(len(features) / cols))
    fig = new_figure(4.0 * cols, 3.0 * rows + 0.6)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, name in zip(axes, features):
        column = X[:, index[name]]
        bins = np.histogram_bin_edges(column, bins=30)
        for c, label in enumerate(classes):
            if np.any(y == c):
                ax.hist(column[y == c], bins=bins, density=True, histtype="step", linewidth=1.4,
                        color=colors[c], label=f"class {label}")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(RAW_VALUE_LABEL, fontsize=8)
        ax.set_ylabel("Density")
    for ax in axes[len(features):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, ncol=2 if len(classes) > 5 else 1)
    fig.suptitle(f"Selected features by class (top {len(features)} of {facts.k} selected)")
    return fig


def _scatter_by_class(ax, points: np.ndarray, y: np.ndarray, facts) -> None:
    colors = class_colors(facts.n_classes)
    for c, label in enumerate(facts.run.class_names):
        mask = y == c
        if np.any(mask):
            ax.scatter(points[mask, 0], points[mask, 1], s=9, alpha=0.6, color=colors[c],
                       label=f"class {label}")
    ax.legend(fontsize=7, markerscale=2, ncol=2 if facts.n_classes > 5 else 1)
    ax.grid(alpha=0.3)


def _clip_view(ax, points: np.ndarray) -> int:
    """Limit the axes to the 0.5–99.5th percentiles (plus margin) when a few rows lie far out,
    e.g. a feature almost constant in training standardises to huge values; returns how many
    rows fall outside the view."""
    low, high = np.percentile(points, [0.5, 99.5], axis=0)
    margin = 0.15 * (high - low) + 1e-9
    low, high = low - margin, high + margin
    outside = int(np.sum(np.any((points < low) | (points > high), axis=1)))
    if outside:
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
    return outside


def _require_components(X: np.ndarray) -> None:
    """PCA yields min(rows, features) components; a 2-D view needs two."""
    if min(X.shape) < 2:
        raise PlotSkipped("pca_components", c=min(X.shape))


def pca_scatter(facts):
    X_raw, y = _test_rows(facts)
    X = facts.run.scaler("teacher").transform(X_raw)
    _require_components(X)
    pca = PCA(n_components=2, random_state=0).fit(X)
    fig = new_figure(8, 6)
    ax = fig.add_subplot()
    points = pca.transform(X)
    _scatter_by_class(ax, points, y, facts)
    clipped = _clip_view(ax, points)
    ratio = pca.explained_variance_ratio_
    ax.set_xlabel(f"PC1 ({ratio[0] * 100:.1f}% variance)")
    ax.set_ylabel(f"PC2 ({ratio[1] * 100:.1f}% variance)")
    ax.set_title(f"PCA of the test split (all {facts.n} standardised features)"
                 + (f"; {clipped} outlying rows outside the view" if clipped else ""))
    return fig


def pca_variance(facts):
    X = facts.run.scaler("teacher").transform(_all_rows(facts)[0])
    _require_components(X)
    pca = PCA(random_state=0).fit(X)
    ratio = pca.explained_variance_ratio_[:30]
    cumulative = np.cumsum(pca.explained_variance_ratio_)[:30]
    fig = new_figure(9, 5)
    ax = fig.add_subplot()
    components = np.arange(1, len(ratio) + 1)
    ax.bar(components, ratio, color="tab:blue", label="explained variance ratio")
    ax.plot(components, cumulative, color="tab:orange", marker="o", markersize=3, label="cumulative")
    ax.axhline(0.9, color="gray", linestyle=":", label="90%")
    ax.set_xlabel("Principal component")
    ax.set_ylabel("Fraction of variance")
    ax.set_ylim(0, 1.05)
    ax.set_title("PCA explained variance")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


def tsne(facts):
    X, y = _test_rows(facts)
    if len(X) > TSNE_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(len(X), TSNE_ROWS, replace=False))
        X, y = X[rows], y[rows]
    perplexity = tsne_perplexity(len(X))
    # One OpenMP thread: where the report runs in the process that trained (`kdedge run`), torch
    # and scikit-learn each bring a libgomp, and with both spinning on 2 cores t-SNE ran 5-10x
    # slower than single-threaded (measured on the default run).
    with threadpool_limits(limits=1, user_api="openmp"):
        embedded = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=0,
                        max_iter=500).fit_transform(facts.run.scaler("teacher").transform(X))
    fig = new_figure(8, 6)
    ax = fig.add_subplot()
    _scatter_by_class(ax, embedded, y, facts)
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    ax.set_title(f"t-SNE of {len(X)} test rows (perplexity {perplexity:.3g}, random_state 0)")
    return fig

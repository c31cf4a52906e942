"""Rank features by the trained teacher's permutation importance on the validation split."""

from __future__ import annotations

from typing import Callable

import numpy as np
from sklearn.inspection import permutation_importance

METHOD = ("permutation importance (sklearn.inspection.permutation_importance) of the teacher on the "
          "validation split, score = negative multi-class Brier score, {n_repeats} repeats; mean "
          "increase in Brier score, clipped at 0 and divided by the largest")


class _ProbaModel:
    """The minimal estimator face permutation_importance needs: a fitted `predict_proba`."""

    def __init__(self, predict_proba: Callable[[np.ndarray], np.ndarray]):
        self.predict_proba = predict_proba

    def fit(self, X, y):  # pragma: no cover - the model is trained already
        return self


def rank_features(predict_proba: Callable[[np.ndarray], np.ndarray], X_val: np.ndarray,
                  y_val: np.ndarray, feature_names: list[str], *, n_repeats: int = 10,
                  seed: int = 0) -> dict:
    """Permutation importance of every feature, normalised so the top feature scores 1.0.

    The Brier score (mean squared error of the probability vector) rather than accuracy: it moves
    when a feature shifts confidence even if few labels flip, so it separates weak features from
    noise. Rather than log-loss: it is bounded, so a near-constant column whose rare values land
    on other rows when permuted (digits' edge pixels) cannot look important through a handful of
    confidently wrong rows.

    Returns:
        {"order": names most important first, "importance": name → score in [0, 1],
         "importance_std": name → std over repeats (same scale), "method": description}
    """
    def neg_brier(estimator, X, y):
        proba = np.asarray(estimator.predict_proba(X.astype(np.float32)), dtype=np.float64)
        onehot = np.eye(proba.shape[1])[y]
        return -float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))

    result = permutation_importance(_ProbaModel(predict_proba), X_val, y_val, scoring=neg_brier,
                                    n_repeats=n_repeats, random_state=seed, n_jobs=1)
    raw = np.clip(result.importances_mean, 0.0, None)
    top = raw.max()
    norm = raw / top if top > 0 else raw
    std = result.importances_std / top if top > 0 else result.importances_std
    # Stable sort on -score so ties keep the data's column order (deterministic).
    order = [feature_names[j] for j in np.argsort(-norm, kind="stable")]
    return {
        "order": order,
        "importance": {feature_names[j]: float(norm[j]) for j in range(len(feature_names))},
        "importance_std": {feature_names[j]: float(std[j]) for j in range(len(feature_names))},
        "method": METHOD.format(n_repeats=n_repeats),
    }

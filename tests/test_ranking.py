import numpy as np

from kdedge.ranking import rank_features


def test_rank_features_finds_the_only_informative_column():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 4))
    y = (X[:, 2] > 0).astype(int)

    def predict_proba(rows):  # a "model" that reads only column 2, the true cause
        p = 1 / (1 + np.exp(-5 * rows[:, 2]))
        return np.stack([1 - p, p], axis=1)

    result = rank_features(predict_proba, X, y, ["a", "b", "c", "d"], n_repeats=3, seed=0)
    assert result["order"][0] == "c"
    assert result["importance"]["c"] == 1.0
    assert all(result["importance"][name] == 0.0 for name in "abd")
    assert "permutation" in result["method"]


def test_rank_features_ties_keep_column_order_and_zero_stays_zero():
    X = np.random.default_rng(0).normal(size=(100, 3))
    y = np.arange(100) % 2

    def predict_proba(rows):  # reads no column: every importance is 0
        return np.full((len(rows), 2), 0.5)

    result = rank_features(predict_proba, X, y, ["z", "a", "m"], n_repeats=2, seed=0)
    assert result["order"] == ["z", "a", "m"]
    assert result["importance"] == {"z": 0.0, "a": 0.0, "m": 0.0}
    assert result["importance_std"] == {"z": 0.0, "a": 0.0, "m": 0.0}

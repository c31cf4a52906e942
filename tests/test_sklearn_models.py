"""kdedge.sklearn_models: fitted scikit-learn baselines as stored arrays, checked against
sklearn."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import load, save
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from kdedge.contract import TeacherConfig
from kdedge.sklearn_models import (NODE_ARRAYS, TARGET_ARRAYS, linear_arrays, linear_config,
                                   predict_proba_arrays, threshold_float32, tree_arrays,
                                   trees_config)

from sklearn_kit import (KINDS, N_FEATURES, adjacent_float32_split, classification_data, fit,
                         fitted)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_linear_arrays_fold_the_scaler_into_sklearns_logits(n_classes):
    X, _, pipeline, _, arrays = fitted("linear", n_classes)
    logits = X.astype(np.float64) @ arrays["weight"].astype(np.float64) + arrays["bias"]
    decision = pipeline.decision_function(X)
    assert arrays["weight"].dtype == arrays["bias"].dtype == np.float32
    assert arrays["weight"].shape == (N_FEATURES, n_classes)
    if n_classes == 2:  # one sklearn row → column 1; column 0 is zeros
        np.testing.assert_array_equal(arrays["weight"][:, 0], 0)
        assert arrays["bias"][0] == 0
        np.testing.assert_allclose(logits[:, 1] - logits[:, 0], decision, atol=2e-5)
    else:
        np.testing.assert_allclose(logits, decision, atol=2e-5)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("kind", KINDS)
def test_predict_proba_arrays_equals_sklearn(kind, n_classes):
    """The numpy reference from the stored arrays alone reproduces predict_proba on float32 rows
    (measured: linear 2.5e-7, float32 weights; trees 9e-9, float32 leaf weights)."""
    X, _, estimator, config, arrays = fitted(kind, n_classes)
    expected = estimator.predict_proba(X)
    probabilities = predict_proba_arrays(config, arrays, X)
    assert probabilities.dtype == np.float64 and probabilities.shape == (len(X), n_classes)
    np.testing.assert_allclose(probabilities, expected, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(probabilities.argmax(axis=1), estimator.predict(X))


def test_threshold_float32_is_exact_on_adversarial_values():
    """float32 x <= threshold_float32(t) ⇔ float64 x <= t, for x at and around every t."""
    rng = np.random.default_rng(0)
    f32 = (rng.standard_normal(2000) * 10.0 ** rng.integers(-3, 4, 2000)).astype(np.float32)
    up = np.nextafter(f32, np.float32(np.inf))
    thresholds = np.concatenate([
        (f32.astype(np.float64) + up) / 2,  # midway between adjacent float32 (sklearn's bins)
        f32.astype(np.float64),  # exactly a float32
        np.nextafter(f32.astype(np.float64), np.inf),  # a hair above one
        np.nextafter(f32.astype(np.float64), -np.inf),  # a hair below one
        [np.inf, -np.inf, 0.0, -0.0, 1e-300, -1e-300]])
    t32 = threshold_float32(thresholds)
    assert t32.dtype == np.float32
    assert np.all(t32.astype(np.float64) <= thresholds)  # rounded down...
    finite = np.isfinite(thresholds)  # ...to the largest float32 that is not above t
    assert np.all(np.nextafter(t32, np.float32(np.inf))[finite].astype(np.float64) >
                  thresholds[finite])
    nearest = thresholds.astype(np.float32)
    for x in (t32, np.nextafter(t32, np.float32(np.inf)), np.nextafter(t32, np.float32(-np.inf)),
              nearest, np.nextafter(nearest, np.float32(np.inf))):
        np.testing.assert_array_equal(x <= t32, x.astype(np.float64) <= thresholds)
    # the naive float32(t) (round to nearest) would send some x the other way
    assert np.any((nearest <= nearest) != (nearest.astype(np.float64) <= thresholds))


def test_tree_arrays_split_between_adjacent_float32_values_like_sklearn():
    hgb, rows = adjacent_float32_split()
    threshold = hgb._predictors[0][0].nodes["num_threshold"][0]
    assert rows[0, 0] < threshold < rows[1, 0] and np.float32(threshold) == rows[1, 0]
    arrays = tree_arrays(hgb)
    assert arrays["nodes_values"][0] == rows[0, 0]  # rounded down to a, not to b
    probabilities = predict_proba_arrays(trees_config(hgb, [0]), arrays, rows)
    np.testing.assert_array_equal(probabilities.argmax(axis=1), [0, 1])
    np.testing.assert_allclose(probabilities, hgb.predict_proba(rows), atol=1e-7)


def test_tree_arrays_follow_sklearn_on_missing_values():
    X, y = classification_data(3)
    X[np.random.default_rng(1).random(X.shape) < 0.1] = np.nan
    hgb, config, arrays = fit("gbdt", X, y)
    assert arrays["nodes_missing_value_tracks_true"].any()
    np.testing.assert_allclose(predict_proba_arrays(config, arrays, X), hgb.predict_proba(X),
                               atol=1e-6)


@pytest.mark.parametrize("n_classes,score_columns", [(2, 1), (3, 3)])
def test_tree_arrays_and_trees_config_describe_the_same_trees(n_classes, score_columns):
    _, _, hgb, config, arrays = fitted("gbdt", n_classes)
    assert config.kind == "gbdt" and config.n_classes == n_classes
    assert config.iterations == hgb.n_iter_ == 20
    assert config.trees == 20 * score_columns == len(np.unique(arrays["nodes_treeids"]))
    assert config.nodes == len(arrays["nodes_treeids"])
    assert (config.learning_rate, config.max_leaf_nodes) == (0.1, 31)
    assert config.feature_index == list(range(N_FEATURES))
    assert arrays["base_values"].shape == (score_columns,)
    leaves = int(arrays["nodes_is_leaf"].sum())
    assert all(len(arrays[name]) == leaves for name in TARGET_ARRAYS)
    assert sorted(np.unique(arrays["target_ids"])) == list(range(score_columns))


def test_stored_arrays_survive_safetensors():
    """Every array is a plain numeric tensor: what distill writes is what export reads."""
    for kind in KINDS:
        *_, arrays = fitted(kind, 3)
        loaded = load(save(arrays))
        assert sorted(loaded) == sorted(arrays)
        for name, values in arrays.items():
            assert loaded[name].dtype == values.dtype
            np.testing.assert_array_equal(loaded[name], values)
    assert set(NODE_ARRAYS + TARGET_ARRAYS + ("base_values",)) == set(fitted("gbdt", 2)[4])


def test_tree_arrays_refuse_categorical_splits():
    rng = np.random.default_rng(0)
    X = np.c_[rng.integers(0, 4, 300), rng.standard_normal(300)]
    y = (X[:, 0] % 2 == 0).astype(int)
    hgb = HistGradientBoostingClassifier(max_iter=5, categorical_features=[0]).fit(X, y)
    with pytest.raises(ValueError, match="categorical_features=None"):
        tree_arrays(hgb)
    with pytest.raises(ValueError, match="categorical splits"):
        trees_config(hgb, [0, 1])


def test_linear_and_trees_config_check_their_inputs():
    X, y, pipeline, config, _ = fitted("linear", 2)
    assert (config.kind, config.n_features, config.n_classes) == ("linear", N_FEATURES, 2)
    assert linear_config(pipeline, [7, 1, 2, 3, 4, 5, 6, 0]).feature_index[0] == 7
    with pytest.raises(ValueError, match="feature_index has 2 columns"):
        linear_config(pipeline, [0, 1])
    with pytest.raises(TypeError, match="make_pipeline"):
        linear_arrays(make_pipeline(MinMaxScaler(), LogisticRegression()).fit(X, y))
    with pytest.raises(ValueError, match="not fitted"):
        linear_arrays(make_pipeline(StandardScaler(), LogisticRegression()))
    with pytest.raises(ValueError, match="not fitted"):
        tree_arrays(HistGradientBoostingClassifier())
    with pytest.raises(ValueError, match="'teacher'"):
        predict_proba_arrays(TeacherConfig(n_features=N_FEATURES, n_classes=2), {}, X)

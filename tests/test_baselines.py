import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info

from kdedge.baselines import MODELS, fit_baselines
from kdedge.contract import BASELINES, BaselineMetrics
from kdedge.data import load_dataset, positive_class, split_dataset
from kdedge.metrics import classification_metrics

SELECTED = [3, 0, 7]


@pytest.fixture(scope="module")
def default_split():
    ds = load_dataset()
    split = split_dataset(ds, seed=0)
    return split, positive_class(ds.class_names, split.y_train)


@pytest.fixture(scope="module")
def fitted(default_split):
    split, classes = default_split
    return fit_baselines(split, SELECTED, classes, seed=0)


def test_baselines_are_the_contract_ones_in_order(fitted):
    assert tuple(MODELS) == BASELINES == tuple(fitted)
    for baseline in fitted.values():
        assert isinstance(baseline.metrics, BaselineMetrics)
        assert baseline.probabilities.shape == (1000, 2)
        assert baseline.probabilities.dtype == np.float64


def test_majority_predicts_the_most_frequent_training_class(default_split, fitted):
    split, _ = default_split
    majority = fitted["majority"]
    frequencies = np.bincount(split.y_train) / len(split.y_train)
    np.testing.assert_allclose(majority.probabilities, np.tile(frequencies, (1000, 1)))
    most_frequent = DummyClassifier(strategy="most_frequent").fit(split.X_train, split.y_train)
    assert np.array_equal(majority.probabilities.argmax(1), most_frequent.predict(split.X_test))
    assert majority.metrics.accuracy == np.mean(split.y_test == 0) == 0.796
    assert majority.metrics.predicted_classes == 1 and majority.metrics.balanced_accuracy == 0.5
    assert majority.metrics.roc_auc == 0.5  # one score for every row


@pytest.mark.parametrize("name, columns, estimator", [
    ("logreg_k", SELECTED,
     make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))),
    ("logreg_all", list(range(13)),
     make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))),
    ("hgb_all", list(range(13)), HistGradientBoostingClassifier(random_state=0)),
])
def test_baseline_is_the_sklearn_model_on_its_columns(default_split, fitted, name, columns,
                                                      estimator):
    split, classes = default_split
    estimator.fit(split.X_train[:, columns], split.y_train)
    expected = estimator.predict_proba(split.X_test[:, columns].astype(np.float32))
    np.testing.assert_allclose(fitted[name].probabilities, expected, rtol=0, atol=1e-12)
    metrics = fitted[name].metrics
    assert metrics.n_features == len(columns)
    assert metrics.accuracy == classification_metrics(
        split.y_test, expected, class_names=classes.names, positive=classes.positive).accuracy
    assert f"{len(columns)} " in metrics.description


def test_baselines_beat_majority_on_the_default_data(fitted):
    majority = fitted["majority"].metrics.accuracy
    assert fitted["logreg_k"].metrics.accuracy > majority + 0.05
    assert fitted["hgb_all"].metrics.accuracy > 0.95  # near the teacher's ~0.97


def test_fit_baselines_is_deterministic_and_restores_thread_limits(default_split, fitted):
    split, classes = default_split
    before = [(pool["prefix"], pool["num_threads"]) for pool in threadpool_info()]
    again = fit_baselines(split, SELECTED, classes, seed=0)
    assert [(pool["prefix"], pool["num_threads"]) for pool in threadpool_info()] == before
    for name in BASELINES:
        assert np.array_equal(again[name].probabilities, fitted[name].probabilities)
        assert again[name].metrics == fitted[name].metrics


def test_fit_baselines_multiclass():
    ds = load_dataset("iris")
    split = split_dataset(ds, seed=0)
    fitted = fit_baselines(split, [2, 3], positive_class(ds.class_names, split.y_train), seed=0)
    for baseline in fitted.values():
        assert baseline.probabilities.shape == (30, 3) and baseline.metrics.positive is None
    assert fitted["logreg_k"].metrics.accuracy > 0.85
    assert "2 selected features" in fitted["logreg_k"].metrics.description

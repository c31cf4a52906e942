"""Reference models a tabular user would try instead, on distill's own split.

Each is fitted on the training rows (raw features; the logistic regressions standardise inside
their pipeline) and scored on the same stored float32 test rows as the teacher and the students,
so the paired verdicts compare them row by row:

- `majority`: always the most frequent training class (sklearn's DummyClassifier; strategy
  "prior": the same labels as "most_frequent", with the training class frequencies as
  probabilities, so its log-loss is the class entropy rather than a clipped infinity);
- `logreg_k`: StandardScaler + LogisticRegression on the student's k selected features;
- `logreg_all`: the same on every feature;
- `hgb_all`: HistGradientBoostingClassifier (scikit-learn defaults) on every feature.

The fits run single-threaded (threadpoolctl scopes OpenMP/BLAS to one thread): they take well
under a second on the default data and cannot compete with torch for the cores.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from kdedge.contract import BaselineMetrics
from kdedge.data import Classes, Split
from kdedge.log import get_logger
from kdedge.metrics import classification_metrics, extend

LOGREG_MAX_ITER = 1000
_log = get_logger("distill")


@dataclass
class Baseline:
    """A fitted reference model, its inputs, test-split probabilities and metrics."""

    estimator: object  # the fitted scikit-learn estimator (distill stores its arrays)
    columns: list[int]  # the feature columns it reads
    probabilities: np.ndarray  # [test rows, C], float64
    metrics: BaselineMetrics


def _logistic(seed: int):  # lbfgs is deterministic: no seed to set
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=LOGREG_MAX_ITER))


# contract.BASELINES, in order: name → (estimator from the seed, reads only the k selected
# features?, description)
MODELS: dict[str, tuple[Callable[[int], object], bool, str]] = {
    "majority": (lambda seed: DummyClassifier(strategy="prior"), False,
                 "the most frequent training class, always (DummyClassifier)"),
    "logreg_k": (_logistic, True,
                 "StandardScaler + LogisticRegression on the {k} selected features"),
    "logreg_all": (_logistic, False,
                   "StandardScaler + LogisticRegression on all {n} features"),
    "hgb_all": (lambda seed: HistGradientBoostingClassifier(random_state=seed), False,
                "HistGradientBoostingClassifier (scikit-learn defaults) on all {n} features"),
}


def fit_baselines(split: Split, selected_index: list[int], classes: Classes, *,
                  seed: int) -> dict[str, Baseline]:
    """Every baseline of MODELS, fitted on the training split and scored on its test rows."""
    n, k = split.X_train.shape[1], len(selected_index)
    fitted = {}
    with threadpool_limits(limits=1):  # one context: each one inspects the loaded libraries
        for name, (make, selected_only, description) in MODELS.items():
            columns = list(selected_index) if selected_only else list(range(n))
            estimator = make(seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # checked below
                estimator.fit(split.X_train[:, columns], split.y_train)
            # the stored float32 test rows, as every model is scored (split.npz)
            proba = estimator.predict_proba(split.X_test[:, columns].astype(np.float32))
            metrics = classification_metrics(split.y_test, proba, class_names=classes.names,
                                             positive=classes.positive)
            text = description.format(k=k, n=n) + _convergence_note(estimator)
            fitted[name] = Baseline(
                estimator=estimator, columns=columns, probabilities=np.asarray(proba, dtype=np.float64),
                metrics=extend(metrics, BaselineMetrics, description=text,
                               n_features=len(columns)))
    return fitted


def _convergence_note(estimator) -> str:
    """' (did not converge …)' for a logistic regression that hit its iteration cap, else ''."""
    steps = getattr(estimator, "named_steps", {})
    model = steps.get("logisticregression")
    if model is None or np.max(model.n_iter_) < LOGREG_MAX_ITER:
        return ""
    _log.warning(f"LogisticRegression did not converge in {LOGREG_MAX_ITER} iterations")
    return f" (did not converge in {LOGREG_MAX_ITER} iterations)"

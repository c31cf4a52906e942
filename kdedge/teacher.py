"""The teacher — the original report's MLP, or a gradient-boosted tree ensemble — behind one
interface: logits of raw rows, computed in bounded batches.

Both kinds are early-stopped on the validation split. The GBDT is scikit-learn's
HistGradientBoostingClassifier; its predicted probabilities are the soft targets (its "logits"
are their logarithms, so softmax(log p / T) is the tempered distribution KD needs). Ranking, the
students, export, bench and report treat either the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from kdedge.batches import ArrayBatches, StreamBatches
from kdedge.contract import Scaler, TeacherConfig
from kdedge.data import Split
from kdedge.distributed import SINGLE, World
from kdedge.models import build_model
from kdedge.train import Progress, TrainConfig, fit_batches, min_batch_rows, predict_logits

# Rows per forward pass: the teacher's activations stay a few MB on any data size (one pass over
# 320k rows held +608 MB, and cache misses made it 3x slower per row than 8k-row batches).
BATCH_ROWS = 8192
GBDT_MAX_ITER = 500  # boosting iterations at most; early stopping on the validation split ends sooner
GBDT_LEARNING_RATE = 0.1
GBDT_MAX_LEAF_NODES = 31
GBDT_PATIENCE = 20  # iterations without a better validation loss
PROBABILITY_FLOOR = 1e-7  # log(0) guard for the GBDT's soft targets

Logits = Callable[[np.ndarray], np.ndarray]  # raw rows [n, features] → logits [n, C]


@dataclass
class FittedTeacher:
    """A trained teacher of either kind and its training curves (history.json's format)."""

    kind: str  # mlp or gbdt (contract.TEACHER_KINDS)
    model: Any  # a kdedge.models.Teacher, or a fitted HistGradientBoostingClassifier
    history: dict

    def logits(self, scaler: Scaler) -> Logits:
        """Logits of raw rows over every feature, in batches of BATCH_ROWS."""
        if self.kind == "mlp":
            return batched(lambda X: predict_logits(self.model, scaler.transform(X)))
        return batched(lambda X: np.log(np.clip(
            self.model.predict_proba(X.astype(np.float32)), PROBABILITY_FLOOR, 1.0)))


def batched(logits: Logits, rows: int = BATCH_ROWS) -> Logits:
    """`logits` applied to at most `rows` rows at a time, results concatenated (at least one
    row per call: scikit-learn refuses an empty array)."""
    def apply(X: np.ndarray) -> np.ndarray:
        return np.concatenate([logits(X[start:start + rows])
                               for start in range(0, len(X), rows)])
    return apply


def fit_mlp(split: Split, n_classes: int, *, hidden: list[int], train: TrainConfig,
            seed: int, world: World = SINGLE) -> FittedTeacher:
    """The MLP teacher on every (standardised) feature, early-stopped on validation loss, on
    the training rows in memory or streamed (`split.stream`), in this process or as one of
    `world`'s (DDP). The caller seeds torch (`kdedge.train.seeded`) so the initial weights
    follow `seed`."""
    config = TeacherConfig(n_features=split.X_train.shape[1], n_classes=n_classes,
                           hidden=list(hidden))
    model = build_model(config)
    common = dict(batch_size=train.batch_size, world=world, min_rows=min_batch_rows(model))
    stream = getattr(split, "stream", None)
    batches = (StreamBatches(stream, lambda X: (split.scaler.transform(X), None), **common)
               if stream is not None else
               ArrayBatches(split.scaler.transform(split.X_train), split.y_train, seed=seed,
                            **common))
    history = fit_batches(model, batches, split.scaler.transform(split.X_val), split.y_val,
                          config=train,
                          loss_fn=lambda logits, y, _aux: torch.nn.functional.cross_entropy(
                              logits, y),
                          progress=Progress("teacher") if world.is_main else None)
    return FittedTeacher(kind="mlp", model=model, history=history)


def fit_gbdt(split: Split, *, seed: int, threads: int = 1) -> FittedTeacher:
    """HistGradientBoostingClassifier on every raw feature, early-stopped on the validation
    split's log-loss (scikit-learn's X_val/y_val), single-threaded unless `threads` says more.

    history.json's curves per boosting iteration: training and validation log-loss (as
    scikit-learn records them) and validation accuracy (staged predictions).
    """
    model = HistGradientBoostingClassifier(
        learning_rate=GBDT_LEARNING_RATE, max_iter=GBDT_MAX_ITER,
        max_leaf_nodes=GBDT_MAX_LEAF_NODES, early_stopping=True, n_iter_no_change=GBDT_PATIENCE,
        scoring="loss", random_state=seed)
    X_val = split.X_val.astype(np.float32)
    with threadpool_limits(limits=threads):
        model.fit(split.X_train.astype(np.float32), split.y_train, X_val=X_val,
                  y_val=split.y_val)
        accuracy = [float(np.mean(labels == split.y_val))
                    for labels in model.staged_predict(X_val)]
    # [0] of the scores is the constant baseline. Early stopping keeps every iteration it ran
    # (the last GBDT_PATIENCE did not improve), so the model used is all n_iter_ of them.
    history = {"train_loss": (-model.train_score_[1:]).tolist(),
               "val_loss": (-model.validation_score_[1:]).tolist(), "val_accuracy": accuracy,
               "best_epoch": int(model.n_iter_), "epochs_run": int(model.n_iter_)}
    return FittedTeacher(kind="gbdt", model=model, history=history)

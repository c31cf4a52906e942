"""Distilling one factorized student: the training set it learns from and the fit itself.

The training set is the standardised training rows with their labels plus, where a transfer
method is chosen, synthetic rows (kdedge.transfer) that only the teacher labels; the teacher's
logits on every row are computed once and shared by every student fitted from the set (the size
search fits many).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from kdedge.contract import KDConfig, StudentConfig
from kdedge.data import Split
from kdedge.models import build_model
from kdedge.teacher import Logits
from kdedge.train import UNLABELLED, Progress, TrainConfig, fit, kd_loss
from kdedge.transfer import munge, transfer_rows


@dataclass
class TrainingSet:
    """Standardised rows every feature; `y_train` is UNLABELLED on the transfer rows (last)."""

    X_train: np.ndarray  # float32 [real + transfer rows, n]
    y_train: np.ndarray  # int64 [real + transfer rows]
    teacher_train: np.ndarray  # the teacher's logits on them [rows, C]
    X_val: np.ndarray  # float32 [val rows, n]
    y_val: np.ndarray
    teacher_val: np.ndarray
    transfer: str  # contract.TRANSFER_METHODS
    transfer_rows: int

    @property
    def labelled(self) -> slice:
        """The real rows (the no-KD student trains on these alone)."""
        return slice(0, len(self.y_train) - self.transfer_rows)


def training_set(split: Split, teacher: Logits, *, transfer: str, seed: int,
                 train_rows: np.ndarray | None = None,
                 val_rows: np.ndarray | None = None) -> TrainingSet:
    """The students' training set from `split` (or its rows `train_rows` / `val_rows`, a
    screening subsample), with `transfer` rows made from those training rows and labelled by
    `teacher` (raw rows → logits)."""
    X_raw = split.X_train if train_rows is None else split.X_train[train_rows]
    y = split.y_train if train_rows is None else split.y_train[train_rows]
    X_val_raw = split.X_val if val_rows is None else split.X_val[val_rows]
    X = split.scaler.transform(X_raw)
    synthetic = munge(X, rows=transfer_rows(len(X), transfer), seed=seed)
    teacher_train = teacher(X_raw)
    if len(synthetic):
        synthetic_raw = split.scaler.inverse_transform(synthetic)
        teacher_train = np.concatenate([teacher_train, teacher(synthetic_raw)])
    return TrainingSet(
        X_train=np.concatenate([X, synthetic]),
        y_train=np.concatenate([y, np.full(len(synthetic), UNLABELLED, dtype=y.dtype)]),
        teacher_train=teacher_train,
        X_val=split.scaler.transform(X_val_raw),
        y_val=split.y_val if val_rows is None else split.y_val[val_rows],
        teacher_val=teacher(X_val_raw), transfer=transfer, transfer_rows=len(synthetic))


def fit_student(data: TrainingSet, columns: list[int], config: StudentConfig, *, kd: KDConfig,
                train: TrainConfig, seed: int, label: str = "student",
                log_progress: bool = True) -> tuple[torch.nn.Module, dict]:
    """A student of `config` on the feature `columns`, distilled from the teacher's logits in
    `data` (Hinton KD, `kd`); `kd.alpha = 1` trains on the labelled rows alone (the no-KD
    student). The caller seeds torch (`kdedge.train.seeded`): the same seed gives the same
    initial weights to every student of one architecture.

    Returns:
        (the model in eval mode with its best-validation-loss weights, its training history)
    """
    rows = data.labelled if kd.alpha >= 1.0 else slice(None)

    def loss_fn(logits, y, teacher_logits):
        return kd_loss(logits, teacher_logits, y, temperature=kd.temperature, alpha=kd.alpha)

    model = build_model(config)
    history = fit(model, data.X_train[rows][:, columns], data.y_train[rows],
                  data.X_val[:, columns], data.y_val, config=train, seed=seed, loss_fn=loss_fn,
                  aux_train=data.teacher_train[rows], aux_val=data.teacher_val,
                  progress=Progress(label) if log_progress else None)
    return model, history


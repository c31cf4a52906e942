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

from kdedge.batches import ArrayBatches, StreamBatches, TrainStream
from kdedge.contract import KDConfig, Scaler, StudentConfig
from kdedge.data import Split
from kdedge.distributed import SINGLE, World
from kdedge.models import build_model
from kdedge.teacher import Logits
from kdedge.train import UNLABELLED, Progress, TrainConfig, fit_batches, kd_loss, min_batch_rows
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
    world: World = SINGLE  # the processes that train on it together (DDP)

    @property
    def labelled(self) -> slice:
        """The real rows (the no-KD student trains on these alone)."""
        return slice(0, len(self.y_train) - self.transfer_rows)

    @property
    def rows(self) -> int:
        """Training rows, transfer rows included."""
        return len(self.y_train)

    def batches(self, columns: list[int], *, labelled_only: bool, batch_size: int, seed: int,
                min_rows: int) -> ArrayBatches:
        """The batches of a student reading `columns` (`labelled_only`: no transfer rows)."""
        rows = self.labelled if labelled_only else slice(None)
        return ArrayBatches(self.X_train[rows][:, columns], self.y_train[rows],
                            self.teacher_train[rows], batch_size=batch_size, seed=seed,
                            world=self.world, min_rows=min_rows)


@dataclass
class StreamedTrainingSet:
    """The students' training rows read from disk (`kdedge.stream`), with the teacher's logits
    computed block by block as they stream past; the validation rows are in memory."""

    stream: TrainStream
    teacher: Logits  # raw rows over every kept feature → logits
    scaler: Scaler
    X_val: np.ndarray  # float32, standardised, every feature
    y_val: np.ndarray
    teacher_val: np.ndarray
    world: World = SINGLE
    transfer: str = "none"  # synthetic rows need the training rows in memory
    transfer_rows: int = 0

    @property
    def rows(self) -> int:
        return self.stream.rows

    def batches(self, columns: list[int], *, labelled_only: bool, batch_size: int, seed: int,
                min_rows: int) -> StreamBatches:
        """The batches of a student reading `columns`; `labelled_only` (the no-KD student)
        skips the teacher's forward pass. `seed` is the stream's (shuffle and shard order)."""
        def transform(X_raw: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
            inputs = self.scaler.transform(X_raw)[:, columns]
            return inputs, None if labelled_only else self.teacher(X_raw)

        return StreamBatches(self.stream, transform, batch_size=batch_size, world=self.world,
                             min_rows=min_rows)


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


def fit_student(data: TrainingSet | StreamedTrainingSet, columns: list[int],
                config: StudentConfig, *, kd: KDConfig, train: TrainConfig, seed: int,
                label: str = "student", log_progress: bool = True) -> tuple[torch.nn.Module, dict]:
    """A student of `config` on the feature `columns`, distilled from the teacher's logits in
    `data` (Hinton KD, `kd`); `kd.alpha = 1` trains on the labelled rows alone (the no-KD
    student). The caller seeds torch (`kdedge.train.seeded`): the same seed gives the same
    initial weights to every student of one architecture.

    Returns:
        (the model in eval mode with its best-validation-loss weights, its training history)
    """
    def loss_fn(logits, y, teacher_logits):
        return kd_loss(logits, teacher_logits, y, temperature=kd.temperature, alpha=kd.alpha)

    model = build_model(config)
    batches = data.batches(columns, labelled_only=kd.alpha >= 1.0, batch_size=train.batch_size,
                           seed=seed, min_rows=min_batch_rows(model))
    history = fit_batches(model, batches, data.X_val[:, columns], data.y_val, config=train,
                          loss_fn=loss_fn, aux_val=data.teacher_val,
                          progress=Progress(label) if log_progress and data.world.is_main
                          else None)
    return model, history


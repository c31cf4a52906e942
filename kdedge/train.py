"""Training: mini-batch AdamW with early stopping, and the knowledge-distillation loss."""

from __future__ import annotations

import contextlib
import copy
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kdedge.log import get_logger

_log = get_logger("distill")
# The label of a synthetic transfer row (kdedge.transfer): torch's default ignore_index, so the
# hard-label cross-entropy skips it and averages over the labelled rows of the batch.
UNLABELLED = -100
FORWARD_ROWS = 8192  # rows per forward pass when scoring (not training) a model


@dataclass
class TrainConfig:
    """Optimiser and stopping rule, shared by teacher and students."""

    max_epochs: int = 150
    patience: int = 15  # stop after this many epochs without a better validation loss
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, y: torch.Tensor, *,
            temperature: float, alpha: float) -> torch.Tensor:
    """Hinton, Vinyals & Dean (2015), "Distilling the Knowledge in a Neural Network".

    loss = α·CE(y, s) + (1−α)·T²·KL(softmax(t/T) ‖ softmax(s/T)), KL with reduction='batchmean'.
    The T² keeps the soft term's gradients on the same scale as the hard term's when T changes.
    α = 1 is plain cross-entropy (the no-KD baseline). Rows labelled UNLABELLED (transfer rows)
    count in the soft term only.
    """
    labelled = y != UNLABELLED
    # transfer rows (label UNLABELLED) carry only the soft term; a batch of them alone has none
    hard = F.cross_entropy(student_logits, y) if bool(labelled.any()) else student_logits.sum() * 0
    if alpha >= 1.0:
        return hard
    soft = F.kl_div(F.log_softmax(student_logits / temperature, dim=1),
                    F.log_softmax(teacher_logits / temperature, dim=1),
                    reduction="batchmean", log_target=True)
    return alpha * hard + (1.0 - alpha) * temperature**2 * soft


def as_tensor(X: np.ndarray) -> torch.Tensor:
    """A copy of `X` in memory torch allocated (64-byte aligned).

    MKL's float32 GEMM rounds differently depending on the alignment of its input, and numpy's
    arrays are only 16-byte aligned: computing on torch's own copy makes a model's outputs on
    the same rows bit-identical in every process (at one thread count), whatever numpy's
    allocation happened to be.
    """
    return torch.from_numpy(np.ascontiguousarray(X)).clone()


class Progress:
    """Progress lines of one model's training on the `kdedge.distill` logger: at the start,
    every 10 epochs, and once at the end."""

    def __init__(self, label: str):
        self.label = label
        self.start = time.perf_counter()
        self.last_logged = 0

    def __call__(self, epoch: int, max_epochs: int, val_loss: float, best_epoch: int,
                 done: bool = False) -> None:
        if epoch == self.last_logged or not (done or epoch == 1 or epoch % 10 == 0):
            return
        self.last_logged = epoch
        _log.info(f"  {self.label:<14} epoch {epoch:>3}/{max_epochs}  val_loss {val_loss:.4f}  "
                  f"best@{best_epoch}  {time.perf_counter() - self.start:5.1f}s")


def fit(model: nn.Module, X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray,
        y_val: np.ndarray, *, config: TrainConfig, seed: int,
        loss_fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
        aux_train: np.ndarray | None = None, aux_val: np.ndarray | None = None,
        progress: Progress | None = None) -> dict:
    """Train `model` in place and keep the weights of the epoch with the lowest validation loss.

    Args:
        X_*, y_*: standardised float32 inputs and int64 class indices.
        loss_fn: loss_fn(logits, y, aux) where aux is the matching rows of `aux_train`/`aux_val`
            (the teacher's logits when distilling; ignored otherwise).

    Returns:
        history: per-epoch train/validation loss and validation accuracy, and the best epoch.
    """
    generator = torch.Generator().manual_seed(seed)
    Xt, yt = as_tensor(X_train), as_tensor(y_train)
    Xv, yv = as_tensor(X_val), as_tensor(y_val)
    at = as_tensor(aux_train) if aux_train is not None else torch.zeros(len(yt), 1)
    av = as_tensor(aux_val) if aux_val is not None else torch.zeros(len(yv), 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    history = {"train_loss": [], "val_loss": [], "val_accuracy": []}
    best_loss, best_epoch, best_state = float("inf"), 0, copy.deepcopy(model.state_dict())
    for epoch in range(1, config.max_epochs + 1):
        model.train()
        order = torch.randperm(len(yt), generator=generator)
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            idx = order[start:start + config.batch_size]
            if len(idx) < 2 and any(isinstance(m, nn.BatchNorm1d) for m in model.modules()):
                continue  # BatchNorm cannot normalise a batch of one row
            loss = loss_fn(model(Xt[idx]), yt[idx], at[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
        model.eval()
        with torch.no_grad():
            logits = _forward(model, Xv)
            val_loss = float(loss_fn(logits, yv, av))
            val_acc = float((logits.argmax(1) == yv).float().mean())
        history["train_loss"].append(total / len(yt))
        history["val_loss"].append(val_loss)
        history["val_accuracy"].append(val_acc)
        if val_loss < best_loss - 1e-6:
            best_loss, best_epoch, best_state = val_loss, epoch, copy.deepcopy(model.state_dict())
        if progress:
            progress(epoch, config.max_epochs, val_loss, best_epoch)
        if epoch - best_epoch >= config.patience:
            break
    model.load_state_dict(best_state)
    model.eval()
    if progress:
        progress(epoch, config.max_epochs, val_loss, best_epoch, done=True)
    history["best_epoch"] = best_epoch
    history["epochs_run"] = epoch
    return history


def predict_logits(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """Logits [rows, C] of `model` in eval mode on standardised float32 rows, no gradients."""
    model.eval()
    with torch.no_grad():
        return _forward(model, as_tensor(X)).numpy()


def _forward(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """model(X) in chunks of FORWARD_ROWS rows: the activations of a wide layer stay a few MB
    whatever the number of rows (one pass over 80k validation rows held 80 MB per layer)."""
    if len(X) <= FORWARD_ROWS:
        return model(X)
    return torch.cat([model(X[start:start + FORWARD_ROWS])
                      for start in range(0, len(X), FORWARD_ROWS)])


@contextlib.contextmanager
def seeded(seed: int):
    """torch's global RNG seeded for model initialisation and deterministic kernels on, both
    restored on exit: a library call leaves no process-wide state behind."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)

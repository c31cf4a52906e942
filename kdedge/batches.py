"""Where `kdedge.train.fit_batches` draws each epoch's mini-batches from, for one process.

- `ArrayBatches`: rows in memory. Each epoch is a seeded permutation of every row cut into
  global batches of `batch_size` rows; under DDP each of the W processes takes every W-th row of
  each global batch, so W processes take the same optimiser steps on the same rows as one
  (DDP averages their gradients), and every process takes the same number of steps.
- `StreamBatches`: rows read from disk (`kdedge.stream`), an IterableDataset re-seeded per
  epoch. Each process reads its own contiguous share of the epoch's training rows (pieces of
  Parquet row groups or CSV chunks, `kdedge.stream.shard_pieces`; equal ± 1 row) through a
  bounded shuffle buffer and cuts it into batches of batch_size / W rows; every process takes
  the same number of steps, so DDP's optimiser steps stay in lockstep.

Both yield (inputs, labels, aux) tensors: aux is what the loss needs besides the labels (the
teacher's logits when distilling; zeros otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import IterableDataset

from kdedge.distributed import SINGLE, World

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # inputs [b, k], labels [b], aux [b, C]
# raw float64 rows of the kept features [rows, n] → (model inputs float32 [rows, k], aux or None)
Transform = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]
BLOCK_BATCHES = 64  # per-process batches a streamed block holds (one transform call each)


def as_tensor(X: np.ndarray) -> torch.Tensor:
    """A copy of `X` in memory torch allocated (64-byte aligned).

    MKL's float32 GEMM rounds differently depending on the alignment of its input, and numpy's
    arrays are only 16-byte aligned: computing on torch's own copy makes a model's outputs on
    the same rows bit-identical in every process (at one thread count), whatever numpy's
    allocation happened to be.
    """
    return torch.from_numpy(np.ascontiguousarray(X)).clone()


class ArrayBatches:
    """In-memory rows: a seeded permutation per epoch, this process's share of each batch."""

    def __init__(self, X: np.ndarray, y: np.ndarray, aux: np.ndarray | None = None, *,
                 batch_size: int, seed: int, world: World = SINGLE, min_rows: int = 1):
        self.X, self.y = as_tensor(X), as_tensor(y)
        self.aux = as_tensor(aux) if aux is not None else torch.zeros(len(self.y), 1)
        self.batch_size, self.world, self.min_rows = batch_size, world, min_rows
        self.rows = len(self.y)
        # one generator for the whole fit: epoch e's order depends on the epochs before it
        self.generator = torch.Generator().manual_seed(seed)

    def epoch(self, epoch: int) -> Iterator[Batch]:
        """Epoch `epoch`'s batches (call once per epoch, in order). A global batch too small
        to give every process `min_rows` rows (BatchNorm needs 2) is skipped by all of them."""
        order = torch.randperm(self.rows, generator=self.generator)
        size, rank = self.world.size, self.world.rank
        for start in range(0, self.rows, self.batch_size):
            index = order[start:start + self.batch_size]
            if len(index) < size * self.min_rows:
                continue
            mine = index[rank::size] if size > 1 else index
            yield self.X[mine], self.y[mine], self.aux[mine]


@dataclass
class TrainStream:
    """The training rows of a streamed table (`kdedge.stream`): what every epoch reads."""

    table: Any  # kdedge.tables.Table
    summary: Any  # kdedge.stream.Summary: the split rule, kept columns, classes, unit counts
    seed: int

    @property
    def rows(self) -> int:
        """Training rows over every unit (all processes together)."""
        return int(sum(self.summary.unit_train_rows))


class StreamBatches(IterableDataset):
    """Streamed rows: this process's share of the epoch's training rows (contiguous ranges of
    equal size, `kdedge.stream.shard_pieces`), shuffled within a bounded buffer, transformed
    block by block (`transform`: standardise, pick the student's columns, the teacher's
    logits), cut into batches of ceil(batch_size / W) rows. Every process takes the same number
    of steps: the fewest any process's rows give (they differ by at most one row)."""

    def __init__(self, stream: TrainStream, transform: Transform, *, batch_size: int,
                 world: World = SINGLE, min_rows: int = 1):
        super().__init__()
        self.stream, self.transform, self.world, self.min_rows = stream, transform, world, min_rows
        self.batch_size = math.ceil(batch_size / world.size)
        self.rows = stream.rows
        self._epoch = 1

    def set_epoch(self, epoch: int) -> None:
        """Re-seed: epoch e reads the units in the order (seed, e) gives them."""
        self._epoch = epoch

    def epoch(self, epoch: int) -> Iterator[Batch]:
        self.set_epoch(epoch)
        return iter(self)

    def steps(self) -> int:
        """Batches every process takes this epoch (a last batch under `min_rows` is dropped)."""
        from kdedge.stream import shard_rows

        b = self.batch_size
        return min(rows // b + (rows % b >= self.min_rows)
                   for rows in shard_rows(self.stream.summary.unit_train_rows,
                                          world=self.world.size))

    def __iter__(self) -> Iterator[Batch]:
        from kdedge.stream import shard_pieces, train_blocks

        table, summary, seed = self.stream.table, self.stream.summary, self.stream.seed
        pieces = shard_pieces(table.units, summary.unit_train_rows, rank=self.world.rank,
                              world=self.world.size, seed=seed, epoch=self._epoch,
                              sequential=table.kind == "csv")
        blocks = train_blocks(table, summary, pieces, epoch=self._epoch, seed=seed,
                              block_rows=self.batch_size * BLOCK_BATCHES)
        left = self.steps()
        for X_raw, y in blocks:
            inputs, aux = self.transform(X_raw)
            X, labels = as_tensor(inputs), as_tensor(y)
            extra = as_tensor(aux) if aux is not None else torch.zeros(len(labels), 1)
            for start in range(0, len(labels), self.batch_size):
                if left == 0:
                    return
                left -= 1
                end = start + self.batch_size
                yield X[start:end], labels[start:end], extra[start:end]

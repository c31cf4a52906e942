"""kdedge.batches: this process's share of each epoch, in memory and streamed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kdedge import stream, tables
from kdedge.batches import ArrayBatches, StreamBatches, TrainStream
from kdedge.distributed import World
from kdedge.stream import make_split_rule, summarise_table
from kdedge.tables import open_table


def test_array_batches_ranks_split_each_global_batch():
    X, y = np.arange(20, dtype=np.float32).reshape(10, 2), np.arange(10)
    one = list(ArrayBatches(X, y, batch_size=4, seed=3).epoch(1))
    halves = [list(ArrayBatches(X, y, batch_size=4, seed=3, world=World(r, 2)).epoch(1))
              for r in range(2)]
    assert [len(b[1]) for b in one] == [4, 4, 2] and len(halves[0]) == len(halves[1]) == 3
    for whole, first, second in zip(one, *halves):  # the same global batch, dealt row by row
        assert sorted(whole[1].tolist()) == sorted(first[1].tolist() + second[1].tolist())


@pytest.fixture()
def streamed(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "CHUNK_ROWS", 100)
    monkeypatch.setattr(stream, "SHUFFLE_ROWS", 300)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"row": np.arange(1000.0), "x": rng.normal(size=1000),
                          "label": rng.integers(0, 2, 1000)})
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, size in enumerate((500, 300, 200)):  # uneven files and row groups
        start = (0, 500, 800)[i]
        frame.iloc[start:start + size].to_parquet(folder / f"p{i}.parquet", index=False,
                                                  row_group_size=70 + 30 * i)
    table = open_table(folder, target="label")
    summary = summarise_table(table, make_split_rule(1000, test_size=0.2, val_size=0.2, seed=0),
                              where="t")
    return TrainStream(table=table, summary=summary, seed=5)


@pytest.mark.parametrize("world", [1, 2, 3])
def test_stream_batches_every_rank_takes_the_same_steps(streamed, world):
    def rows_of(rank: int, epoch: int) -> list[np.ndarray]:
        batches = StreamBatches(streamed, lambda X: (X.astype(np.float32), None), batch_size=32,
                                world=World(rank, world), min_rows=2)
        return [X[:, 0].numpy().astype(int) for X, _, _ in batches.epoch(epoch)]

    for epoch in (1, 2):
        shards = [rows_of(rank, epoch) for rank in range(world)]
        assert len({len(shard) for shard in shards}) == 1  # DDP steps stay in lockstep
        assert all(len(b) == -(-32 // world) for shard in shards for b in shard[:-1])
        taken = np.concatenate([b for shard in shards for b in shard])
        assert len(np.unique(taken)) == len(taken)  # no row twice in an epoch
        # at most one short last batch per rank is left out
        assert streamed.rows - len(taken) < world * -(-32 // world)

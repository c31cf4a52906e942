"""How distill reads its data: whole, in memory (kdedge.data), or streamed from disk in record
batches (kdedge.tables reads them, kdedge.stream splits and shuffles them) — and what run.json
records about it (contract.DataReading).

`--stream auto` (the default) reads a table in memory when it is small enough for that to be the
faster path, and streams a folder of Parquet files, a Parquet file of more than
STREAM_AUTO_CELLS cells, or a CSV file larger than STREAM_AUTO_CSV_BYTES. Both paths split into
train / validation / test and score every model on the test split; a streamed run holds its
validation and test rows (about HELD_OUT_ROWS each at most) and a training sample in memory, and
reads the training rows from disk every epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kdedge.batches import TrainStream
from kdedge.contract import MEMORY_SPLIT_RULE, DataReading, in_memory_reading
from kdedge.data import (DEFAULT_NAME, MIN_ROWS_PER_CLASS, SKLEARN_SETS, Dataset, Split,
                         dataset_name)
from kdedge.distributed import BACKEND, World
from kdedge.rundir import KdedgeError

STREAM_AUTO_CELLS = 16_000_000  # rows x columns of a Parquet table that --stream auto streams
STREAM_AUTO_CSV_BYTES = 256 << 20  # a CSV file larger than this streams under --stream auto
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass
class StreamedSplit(Split):
    """A streamed table's split: X_train/y_train hold the in-memory training sample; every
    training row is read from disk through `stream`; `counts` are the true rows per class."""

    stream: TrainStream | None = None
    counts: dict[str, list[int]] = field(default_factory=dict)

    @property
    def n_train(self) -> int:
        return int(sum(self.counts["train"]))

    def class_counts(self, n_classes: int) -> dict[str, list[int]]:
        return {name: list(counts) for name, counts in self.counts.items()}


def read_mode(data: str | None, stream: str) -> str:
    """`memory` or `streamed`: how `--data` is read under `--stream` (auto, on, off).

    Raises:
        KdedgeError: --stream on for a built-in set, --stream off for a folder.
    """
    if data is None or data == DEFAULT_NAME or data in SKLEARN_SETS:
        if stream == "on":
            raise KdedgeError(f"--stream on applies to data files; the built-in set "
                              f"{data or DEFAULT_NAME!r} is read in memory: drop --stream")
        return "memory"
    path = Path(data)
    if path.is_dir():
        if stream == "off":
            raise KdedgeError(f"--data {data} is a folder of Parquet files, which kdedge reads "
                              "streamed only: drop --stream off, or give a single file")
        return "streamed"
    if stream != "auto" or not path.is_file():
        return "streamed" if stream == "on" else "memory"
    if path.suffix.lower() in PARQUET_SUFFIXES:
        import pyarrow.parquet as pq

        try:
            metadata = pq.ParquetFile(path).metadata
        except Exception:  # a broken file: the in-memory reader names the problem
            return "memory"
        return "streamed" if metadata.num_rows * metadata.num_columns > STREAM_AUTO_CELLS \
            else "memory"
    return "streamed" if path.stat().st_size > STREAM_AUTO_CSV_BYTES else "memory"


def load_streamed(data: str, *, target: str | None, no_header: bool, test_size: float,
                  val_size: float, seed: int,
                  hash_data: bool = True) -> tuple[Dataset, StreamedSplit]:
    """One streaming pass over `data` (kdedge.stream.summarise_table): validated, summarised and
    split, with the held-out rows and the training sample in memory. `hash_data`: record the
    data's sha256 (a second read of every file; only the process that writes the run needs
    it)."""
    from kdedge.stream import make_split_rule, summarise_table
    from kdedge.tables import open_table

    if not target:
        raise KdedgeError(f"--target is required with a data file: name the label column of "
                          f"{data}")
    table = open_table(data, target=target, no_header=no_header)
    rule = make_split_rule(table.rows, test_size=test_size, val_size=val_size, seed=seed)
    summary = summarise_table(table, rule, where=f"--data {data}")
    capped = rule.test < test_size or rule.val < val_size * (1 - test_size)
    _check_splits(summary.split_counts, summary.class_names, data, capped=capped)
    n = len(summary.feature_names)
    ds = Dataset(X=np.empty((0, n)), y=np.empty(0, dtype=np.int64),
                 feature_names=summary.feature_names, class_names=summary.class_names,
                 target=table.target, source="file", name=dataset_name(data),
                 sha256=table.sha256 if hash_data else None, dropped_constant=summary.dropped_constant,
                 counts=list(summary.class_counts))
    split = StreamedSplit(X_train=summary.X_sample, y_train=summary.y_sample,
                          X_val=summary.X_val, y_val=summary.y_val, X_test=summary.X_test,
                          y_test=summary.y_test, scaler=summary.scaler,
                          stream=TrainStream(table=table, summary=summary, seed=seed),
                          counts=summary.split_counts)
    return ds, split


def _check_splits(counts: dict[str, list[int]], class_names: list[str], data: str, *,
                  capped: bool) -> None:
    """Every split needs every class (and MIN_ROWS_PER_CLASS rows a class on average), as the
    in-memory split does. `capped`: the held-out fractions were lowered to about 100,000 rows
    each (kdedge.stream.HELD_OUT_ROWS), so larger --test_size/--val_size would change nothing."""
    need = MIN_ROWS_PER_CLASS * len(class_names)
    for name, per_class in counts.items():
        missing = [class_names[i] for i, count in enumerate(per_class) if count == 0]
        if missing or sum(per_class) < need:
            raise KdedgeError(
                f"--data {data}: the {name} split has {sum(per_class):,} rows and no rows of "
                f"classes {missing or 'none'} (each split needs every class and at least {need} "
                "rows); " + ("validation and test are capped at about 100,000 rows each on "
                             "data this large: merge or oversample the rare classes, or split "
                             "the data yourself" if capped else
                             "add rows, merge rare classes or raise --test_size/--val_size"))


def data_reading(mode: str, world: World, split: Split) -> DataReading:
    """run.json's data_reading: the mode, the processes and the rules that give every
    process's rows."""
    backend = BACKEND if world.is_distributed else None
    if mode == "memory":
        record = in_memory_reading(MEMORY_SPLIT_RULE)
        if world.is_distributed:
            record.shard_rule = (
                f"every one of the {world.size} processes holds every row; each epoch's seeded "
                "permutation is cut into global batches of --batch_size rows and process r "
                f"trains on rows r, r+{world.size}, … of each")
        record.world_size, record.backend = world.size, backend
        return record
    from kdedge.stream import SHARD_RULE, SHUFFLE_ROWS
    from kdedge.tables import CHUNK_ROWS

    stream = split.stream
    return DataReading(mode="streamed", world_size=world.size, backend=backend,
                       split_rule=stream.summary.rule.describe(), shard_rule=SHARD_RULE,
                       chunk_rows=CHUNK_ROWS, shuffle_rows=SHUFFLE_ROWS,
                       sample_rows=int(len(split.y_train)))

"""Read a table larger than memory: one pass that validates and summarises it, then shuffled
blocks of training rows, epoch after epoch (numpy, pandas and pyarrow; no torch).

The table is read through kdedge.tables: a *unit* is what is read at once (one Parquet row
group, or CHUNK_ROWS consecutive rows of a CSV). `summarise_table` reads every unit once: it
checks every cell, counts the classes of each split, fits the scaler on the training rows and
keeps the validation rows, the test rows and a sample of the training rows in memory.
`shard_pieces` deals the training rows to the processes and `train_blocks` streams one
process's training rows through a bounded shuffle buffer.

The split is a hash of the row number, not a shuffle: a row's split depends on (row, seed) alone,
so every process knows it for any unit without reading the others, and `SplitRule.describe()`
lets a user reproduce it. Memory stays bounded by a unit (a row group or a chunk), the shuffle
buffer, and the rows `summarise_table` keeps (about HELD_OUT_ROWS each of validation and test and
SAMPLE_ROWS of training).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from kdedge.contract import Scaler
from kdedge.data import SHOWN_NAMES, SPLIT_PARAMETERS, summarise
from kdedge.params import check_params
from kdedge.rundir import KdedgeError
from kdedge.tables import Chunk, Table, Unit

HELD_OUT_ROWS = 100_000    # expected cap of the validation and of the test split
# SAMPLE_ROWS: expected size of the in-memory training sample (baselines, search screening,
# calibration, GBDT teacher)
SAMPLE_ROWS = 100_000
SHUFFLE_ROWS = 262_144     # rows of the training stream's shuffle buffer
TRAIN, VAL, TEST = 0, 1, 2
SPLIT_NAMES = ("train", "val", "test")  # indexed by TRAIN, VAL, TEST
SHARD_RULE = ("each epoch the units (Parquet row groups; CSV chunks of CHUNK_ROWS rows, kept in "
              "file order) are permuted by numpy.random.default_rng((seed, epoch)).permutation "
              "and their n training rows, in that order, are cut into w contiguous ranges: rank r "
              "of w reads rows floor(r·n/w) … floor((r+1)·n/w) − 1, so shards differ by at most "
              "one row (a unit at a boundary is read by two ranks) and every rank takes the same "
              "number of steps")

# SplitMix64 (Steele, Lea & Flood 2014): its golden-ratio increment and its two multipliers.
_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_MASK = (1 << 64) - 1


def _splitmix64(state: np.ndarray) -> np.ndarray:
    """SplitMix64's output for each uint64 `state`: add the increment, then two xor-shift-multiply
    rounds. The arithmetic wraps modulo 2**64 by design, so overflow is not an error here."""
    with np.errstate(over="ignore"):
        z = state + _GAMMA
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def row_hash(rows: np.ndarray, *, seed: int, salt: int) -> np.ndarray:
    """A uniform float64 in [0, 1) per row number, a pure function of (row, seed, salt).

    u = (splitmix64(row XOR key) >> 11) / 2**53 with key = splitmix64(splitmix64(seed) XOR salt),
    seed and salt taken modulo 2**64: the same on every platform and numpy version.
    """
    key = _splitmix64(np.array([int(seed) & _MASK], dtype=np.uint64)) ^ np.uint64(int(salt) & _MASK)
    mixed = _splitmix64(np.asarray(rows, dtype=np.int64).astype(np.uint64) ^ _splitmix64(key))
    return (mixed >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


@dataclass(frozen=True)
class SplitRule:
    """Each row's split from its 0-based data-row number alone.

    A row is TEST when u = row_hash(row, seed, salt=1) < test, VAL when u < test + val, else
    TRAIN; a TRAIN row is in the in-memory sample when row_hash(row, seed, salt=2) < sample.
    Every class gets the same thresholds, so the split is stratified in expectation (each split's
    class shares equal the table's up to binomial noise), not exactly as split_dataset's is.
    """

    seed: int
    test: float  # fraction of all rows
    val: float  # fraction of all rows
    sample: float  # fraction of the training rows kept in memory

    def assign(self, rows: np.ndarray) -> np.ndarray:
        """TRAIN, VAL or TEST (uint8) per row number."""
        u = row_hash(rows, seed=self.seed, salt=1)
        return np.where(u < self.test, TEST,
                        np.where(u < self.test + self.val, VAL, TRAIN)).astype(np.uint8)

    def in_sample(self, rows: np.ndarray) -> np.ndarray:
        """Whether each row is in the training sample (meaningful for TRAIN rows only)."""
        return row_hash(rows, seed=self.seed, salt=2) < self.sample

    def describe(self) -> str:
        """The rule in one sentence, enough to reproduce it (run.json's split_rule)."""
        return (f"data row r (0-based) is test if u(r, 1) < {self.test!r}, validation if "
                f"u(r, 1) < {self.test + self.val!r}, else training, and a training row is in the "
                f"in-memory sample if u(r, 2) < {self.sample!r}, where u(r, salt) = "
                "(s(r ^ s(s(seed) ^ salt)) >> 11) / 2**53 with "
                f"seed = {self.seed} and s(x) the SplitMix64 output of x + 0x9E3779B97F4A7C15 in "
                "wrapping 64-bit arithmetic")


def make_split_rule(rows: int, *, test_size: float, val_size: float, seed: int,
                    held_out: int = HELD_OUT_ROWS, sample: int = SAMPLE_ROWS) -> SplitRule:
    """The split of a `rows`-row table: `test_size` of the rows and `val_size` of the non-test
    rows (as in kdedge.data.split_dataset), each capped at about `held_out` rows, and about
    `sample` training rows kept in memory."""
    check_params(SPLIT_PARAMETERS, {"test_size": test_size, "val_size": val_size})
    if rows < 1:
        raise KdedgeError(f"the table has {rows} data rows; give a table with data rows")
    test = min(test_size, held_out / rows)
    val = min(val_size * (1 - test_size), held_out / rows)
    train = rows * (1 - test - val)
    return SplitRule(seed=seed, test=float(test), val=float(val),
                     sample=float(min(1.0, sample / train)))


@dataclass
class Summary:
    """What one pass over the table found, and the rows it keeps in memory (raw float64 X over
    the kept columns, y int64 class indices into class_names, in global row order)."""

    rows: int
    feature_names: list[str]  # the kept feature columns
    dropped_constant: list[str]
    class_names: list[str]
    class_counts: list[int]  # over all rows
    split_counts: dict[str, list[int]]  # "train" / "val" / "test" → rows per class
    scaler: Scaler  # fitted on every training row, over the kept columns
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    X_sample: np.ndarray  # the training rows with rule.in_sample
    y_sample: np.ndarray
    unit_train_rows: list[int]  # training rows of each unit, by Unit.index
    rule: SplitRule
    kept: list[int]  # positions of feature_names in table.feature_names
    label_values: np.ndarray  # the sorted distinct raw labels; class_names are their str()


def summarise_table(table: Table, rule: SplitRule, *, where: str) -> Summary:
    """Validate and summarise `table` in one pass over its chunks (see Summary).

    Raises:
        KdedgeError: a missing, infinite or non-numeric feature value or a missing label (with
            counts and each column's first row), every feature constant, or fewer than two
            classes. (Whether each split holds enough rows of every class is the caller's to
            judge: kdedge.reading knows the sizes the user asked for.)
    """
    tally = _Tally(table, rule)
    for chunk in table.chunks():
        tally.add(chunk)
    return tally.finish(where)


class _Tally:
    """summarise_table's running state: bad cells, ranges, moments, label counts, kept rows."""

    def __init__(self, table: Table, rule: SplitRule):
        n = len(table.feature_names)
        self.table, self.rule = table, rule
        self.starts = np.array([unit.start for unit in table.units])
        self.bad, self.first_bad = np.zeros(n, np.int64), np.full(n, -1, np.int64)
        self.first_text: dict[int, tuple[int, str]] = {}
        self.missing_labels, self.first_missing_label = 0, -1
        self.low, self.high = np.full(n, np.inf), np.full(n, -np.inf)
        self.count, self.mean, self.m2 = 0, np.zeros(n), np.zeros(n)
        self.labels = {split: [] for split in (TRAIN, VAL, TEST)}  # (values, counts) per chunk
        self.kept = {split: ([], []) for split in ("sample", VAL, TEST)}  # (X parts, labels)
        self.unit_train_rows = [0] * len(table.units)

    def add(self, chunk: Chunk) -> None:
        rows, X = chunk.rows, chunk.X
        self._check(chunk)
        if self.bad.any() or self.missing_labels or not len(X):
            return  # the pass ends in an error: only the counts of bad cells still matter
        split = self.rule.assign(rows)
        for s in (TRAIN, VAL, TEST):
            self.labels[s].append(np.unique(chunk.labels[split == s], return_counts=True))
        self.low, self.high = np.minimum(self.low, X.min(axis=0)), np.maximum(self.high,
                                                                             X.max(axis=0))
        train = split == TRAIN
        self._add_moments(X[train])
        unit = np.searchsorted(self.starts, chunk.start, side="right") - 1
        self.unit_train_rows[unit] += int(train.sum())
        for kept, mask in (("sample", train & self.rule.in_sample(rows)), (VAL, split == VAL),
                           (TEST, split == TEST)):
            self.kept[kept][0].append(X[mask])
            self.kept[kept][1].append(chunk.labels[mask])

    def _check(self, chunk: Chunk) -> None:
        """Count non-finite cells per column and missing labels; remember the first of each."""
        import pandas as pd

        bad = ~np.isfinite(chunk.X)
        self.bad += bad.sum(axis=0)
        new = np.flatnonzero(bad.any(axis=0) & (self.first_bad < 0))
        self.first_bad[new] = chunk.start + bad[:, new].argmax(axis=0)
        for j, found in chunk.text.items():
            self.first_text.setdefault(j, found)
        missing = pd.isna(chunk.labels)
        if missing.any() and not self.missing_labels:
            self.first_missing_label = chunk.start + int(missing.argmax())
        self.missing_labels += int(missing.sum())

    def _add_moments(self, X: np.ndarray) -> None:
        """Fold a block's count, mean and sum of squared deviations into the running ones
        (Chan, Golub & LeVeque 1979, the pairwise update), in float64."""
        if not len(X):
            return
        count, mean = self.count + len(X), X.mean(axis=0)
        delta = mean - self.mean
        self.m2 += ((X - mean) ** 2).sum(axis=0) + delta ** 2 * (self.count * len(X) / count)
        self.mean += delta * (len(X) / count)
        self.count = count

    def finish(self, where: str) -> Summary:
        self._raise_bad_values(where)
        values = _label_values([v for parts in self.labels.values() for v, _ in parts])
        if len(values) < 2:
            raise KdedgeError(f"{where}: the target {self.table.target!r} has a single class "
                              f"({str(values[0])!r}); a classifier needs at least two")
        kept, dropped = self._kept_columns(where)
        split_counts = {name: self._class_counts(s, values) for s, name in enumerate(SPLIT_NAMES)}
        std = np.sqrt(self.m2 / self.count)[kept]
        scaler = Scaler(mean=self.mean[kept].tolist(), scale=np.where(std > 0, std, 1.0).tolist())
        held = {name: self._kept_rows(name, kept, values) for name in ("sample", VAL, TEST)}
        return Summary(
            rows=self.table.rows, feature_names=[self.table.feature_names[j] for j in kept],
            dropped_constant=dropped, class_names=[str(v) for v in values],
            class_counts=np.sum(list(split_counts.values()), axis=0).tolist(),
            split_counts=split_counts, scaler=scaler, X_val=held[VAL][0], y_val=held[VAL][1],
            X_test=held[TEST][0], y_test=held[TEST][1], X_sample=held["sample"][0],
            y_sample=held["sample"][1], unit_train_rows=self.unit_train_rows, rule=self.rule,
            kept=kept, label_values=values)

    def _raise_bad_values(self, where: str) -> None:
        locate, names = self.table.locate, self.table.feature_names
        entries = []
        for j in np.flatnonzero(self.bad):
            entry = f"{names[j]}: {self.bad[j]:,}, first at {locate(int(self.first_bad[j]))}"
            if j in self.first_text:
                row, text = self.first_text[j]
                entry += f", text {text!r} at {locate(row)}"
            entries.append(entry)
        if entries:
            kind = "missing, infinite or non-numeric" if self.first_text else "missing or infinite"
            listing = "; ".join(entries[:SHOWN_NAMES]) + (
                f" and {len(entries) - SHOWN_NAMES:,} more columns" * (len(entries) > SHOWN_NAMES))
            raise KdedgeError(
                f"{where}: {kind} values (column: count, first at) [{listing}]; impute them or "
                "drop those rows before running kdedge"
                + ("; encode text columns as numbers (e.g. one-hot) or remove them"
                   if self.first_text else ""))
        if self.missing_labels:
            raise KdedgeError(
                f"{where}: target column {self.table.target!r} has {self.missing_labels:,} empty "
                f"values, first at {locate(self.first_missing_label)}; drop those rows or fill "
                "them")

    def _kept_columns(self, where: str) -> tuple[list[int], list[str]]:
        """The columns that vary over all rows; constant ones are dropped with a warning."""
        constant = self.high == self.low
        dropped = [name for name, drop in zip(self.table.feature_names, constant) if drop]
        if constant.all():
            raise KdedgeError(f"{where}: every feature column is constant; nothing to learn from")
        if dropped:  # stacklevel 4: the line that called summarise_table
            warnings.warn(f"{where}: dropping constant feature columns {summarise(dropped)}",
                          stacklevel=4)
        return np.flatnonzero(~constant).tolist(), dropped

    def _class_counts(self, split: int, values: np.ndarray) -> list[int]:
        counts = np.zeros(len(values), np.int64)
        for labels, n in self.labels[split]:
            np.add.at(counts, _class_index(labels, values), n)
        return counts.tolist()

    def _kept_rows(self, name, kept: list[int], values: np.ndarray):
        X_parts, label_parts = self.kept[name]
        X = np.concatenate(X_parts)[:, kept] if X_parts else np.empty((0, len(kept)))
        y = np.concatenate([_class_index(labels, values) for labels in label_parts]
                           or [np.empty(0, np.int64)])
        return X, y


def _label_values(parts: list[np.ndarray]) -> np.ndarray:
    """The sorted distinct labels, np.unique's way (numbers sort numerically); as text when the
    chunks disagree (pandas read one chunk's labels as numbers and another's as text)."""
    kinds = {part.dtype.kind for part in parts}
    joined = np.concatenate(parts) if parts else np.empty(0)
    if kinds <= set("iuf") or kinds == {"b"}:
        return np.unique(joined)
    return np.unique(joined.astype(str))


def _class_index(labels: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Class indices of raw labels: their positions in the sorted `values` (np.unique's inverse)."""
    labels = labels.astype(str) if values.dtype.kind == "U" else labels
    index = np.searchsorted(values, labels)
    if len(labels) and not np.array_equal(values[np.minimum(index, len(values) - 1)], labels):
        raise KdedgeError("the data changed while kdedge read it (a label the first pass did not "
                          "see); re-run on data that stays put")
    return index.astype(np.int64)


@dataclass(frozen=True)
class Piece:
    """Part of a unit a process reads: the unit's training rows skip … skip + take − 1, counted
    in row order."""

    unit: Unit
    skip: int
    take: int


def _epoch_order(units: list[Unit], *, seed: int, epoch: int, sequential: bool) -> np.ndarray:
    """The units' order in `epoch`: seeded, or file order (`sequential`: a CSV)."""
    if sequential:
        return np.arange(len(units))
    return np.random.default_rng((seed, epoch)).permutation(len(units))


def shard_rows(unit_train_rows: list[int], *, world: int) -> list[int]:
    """Training rows each of `world` processes reads in an epoch (SHARD_RULE): equal ± 1."""
    total = int(sum(unit_train_rows))
    return [(r + 1) * total // world - r * total // world for r in range(world)]


def shard_pieces(units: list[Unit], unit_train_rows: list[int], *, rank: int, world: int,
                 seed: int, epoch: int, sequential: bool) -> list[Piece]:
    """What process `rank` of `world` reads in `epoch` (SHARD_RULE): its contiguous range of the
    epoch's training rows, as pieces of units in the epoch's unit order. The ranks' pieces
    partition every training row; `unit_train_rows` are the summary pass's counts."""
    if not 0 <= rank < world:
        raise ValueError(f"rank must be in [0, world) = [0, {world}), got {rank}")
    order = _epoch_order(units, seed=seed, epoch=epoch, sequential=sequential)
    counts = np.asarray(unit_train_rows, dtype=np.int64)[order]
    ends = np.cumsum(counts)
    total = int(ends[-1]) if len(ends) else 0
    low, high = rank * total // world, (rank + 1) * total // world
    pieces = []
    for index, end, count in zip(order, ends, counts):
        start = int(end - count)
        first, last = max(start, low), min(int(end), high)
        if first < last:
            pieces.append(Piece(units[index], skip=first - start, take=last - first))
    return pieces


def train_blocks(table: Table, summary: Summary, pieces: list[Piece], *, epoch: int, seed: int,
                 block_rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The training rows of `pieces` in shuffled blocks of `block_rows` (the last may be
    shorter): X raw float64 over the kept columns, y int64 class indices.

    The shuffle is bounded: rows collect in a buffer of max(SHUFFLE_ROWS, block_rows) rows, which
    is permuted (numpy.random.default_rng((seed, epoch)), one stream for the epoch) and emitted
    as whole blocks; the rows left over join the next fill. So rows mix within a buffer only;
    across buffers the order is the pieces' (the units shuffled per epoch for Parquet by
    `shard_pieces`, file order for a CSV). The same (seed, epoch, pieces) give the same blocks.
    A block is a view of its buffer: holding a block holds that buffer's memory.
    """
    if block_rows < 1:
        raise ValueError(f"block_rows must be >= 1, got {block_rows}")
    rng = np.random.default_rng((seed, epoch))
    capacity, kept = max(SHUFFLE_ROWS, block_rows), np.asarray(summary.kept)
    by_start = sorted(pieces, key=lambda piece: piece.unit.start)
    starts = np.array([piece.unit.start for piece in by_start], dtype=np.int64)
    seen = dict.fromkeys(range(len(by_start)), 0)  # training rows of each piece's unit so far
    X_parts, y_parts, held = [], [], 0
    for chunk in table.chunks([piece.unit for piece in pieces]):
        at = int(np.searchsorted(starts, chunk.start, side="right")) - 1
        piece = by_start[at]
        train = np.flatnonzero(summary.rule.assign(chunk.rows) == TRAIN)
        done, seen[at] = seen[at], seen[at] + len(train)
        train = train[max(piece.skip - done, 0):max(piece.skip + piece.take - done, 0)]
        X_parts.append(chunk.X[np.ix_(train, kept)])
        y_parts.append(_class_index(chunk.labels[train], summary.label_values))
        held += len(train)
        if held >= capacity:
            order = rng.permutation(held)
            X, y = np.concatenate(X_parts)[order], np.concatenate(y_parts)[order]
            whole = held - held % block_rows
            yield from _blocks(X[:whole], y[:whole], block_rows)
            # copies: a view would keep the whole buffer alive through the next fill
            X_parts, y_parts, held = [X[whole:].copy()], [y[whole:].copy()], held - whole
    if held:
        order = rng.permutation(held)
        yield from _blocks(np.concatenate(X_parts)[order], np.concatenate(y_parts)[order],
                           block_rows)


def _blocks(X: np.ndarray, y: np.ndarray, block_rows: int) -> Iterator[tuple[np.ndarray, ...]]:
    for start in range(0, len(X), block_rows):
        yield X[start:start + block_rows], y[start:start + block_rows]

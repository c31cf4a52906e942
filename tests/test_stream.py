"""kdedge/stream.py: the split rule, the one summary pass, the shards and the training blocks,
on tables read by kdedge.tables (the table helpers are test_tables')."""

import numpy as np
import pytest

from kdedge import stream, tables
from kdedge.contract import Scaler
from kdedge.rundir import KdedgeError
from kdedge.stream import (TEST, TRAIN, VAL, make_split_rule, row_hash, shard_pieces,
                           shard_rows, summarise_table, train_blocks)
from kdedge.tables import open_table
from test_tables import FEATURES, _csv, _frame, _parquet_folder

MASK = (1 << 64) - 1


@pytest.fixture(autouse=True)
def small_buffers(monkeypatch):
    monkeypatch.setattr(tables, "CHUNK_ROWS", 256)
    monkeypatch.setattr(stream, "SHUFFLE_ROWS", 600)


def _rule(rows, seed=3, sample=500):
    return make_split_rule(rows, test_size=0.2, val_size=0.25, seed=seed, sample=sample)


def _splitmix64(x):  # the reference, in Python integers
    z = (x + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


@pytest.mark.parametrize("seed,salt", [(0, 1), (12345, 2), (-7, 2**63 + 5)])
def test_row_hash_matches_a_python_splitmix64(seed, salt):
    rows = np.array([0, 1, 2, 7_000_000, 2**40 + 3])
    key = _splitmix64(_splitmix64(seed & MASK) ^ (salt & MASK))
    expected = [(_splitmix64(r ^ key) >> 11) / 2**53 for r in rows.tolist()]
    assert row_hash(rows, seed=seed, salt=salt).tolist() == expected


def test_row_hash_is_uniform_and_depends_on_seed_and_salt():
    rows = np.arange(200_000)
    u = row_hash(rows, seed=1, salt=1)
    assert u.dtype == np.float64 and u.min() >= 0 and u.max() < 1
    assert np.array_equal(u, row_hash(rows, seed=1, salt=1))
    assert abs((u < 0.2).mean() - 0.2) < 0.005 and abs(u.mean() - 0.5) < 0.005
    assert not np.array_equal(u, row_hash(rows, seed=2, salt=1))
    assert abs(np.corrcoef(u, row_hash(rows, seed=1, salt=2))[0, 1]) < 0.01


def test_split_rule_fractions_match_its_thresholds():
    rule = stream.SplitRule(seed=5, test=0.1, val=0.15, sample=0.3)
    rows = np.arange(200_000)
    split = rule.assign(rows)
    assert split.dtype == np.uint8
    assert abs((split == TEST).mean() - 0.1) < 0.005 and abs((split == VAL).mean() - 0.15) < 0.005
    assert abs(rule.in_sample(rows)[split == TRAIN].mean() - 0.3) < 0.005
    same_split = stream.SplitRule(seed=5, test=0.1, val=0.15, sample=1)  # the sample is apart
    assert np.array_equal(split, same_split.assign(rows))


def test_make_split_rule_caps_the_held_out_rows():
    small = make_split_rule(1000, test_size=0.2, val_size=0.25, seed=0)
    assert (small.test, small.val, small.sample) == (0.2, 0.25 * 0.8, 1.0)
    big = make_split_rule(10_000_000, test_size=0.2, val_size=0.25, seed=0)
    assert big.test == big.val == 0.01
    assert big.sample == pytest.approx(100_000 / (10_000_000 * 0.98))
    with pytest.raises(KdedgeError, match="--test_size"):
        make_split_rule(1000, test_size=0, val_size=0.2, seed=0)


def test_split_rule_describe_gives_seed_and_thresholds():
    text = stream.SplitRule(seed=42, test=0.01, val=0.02, sample=0.5).describe()
    for part in ("seed = 42", "< 0.01,", "< 0.03,", "< 0.5,", "0x9E3779B97F4A7C15", "SplitMix64"):
        assert part in text


def _reference(frame, rule):
    """The brute-force answer: the whole table in memory, every row hashed at once."""
    X = frame[FEATURES].to_numpy(dtype=float)
    values, y = np.unique(frame["label"].to_numpy(), return_inverse=True)
    split = rule.assign(np.arange(len(frame)))
    sample = (split == TRAIN) & rule.in_sample(np.arange(len(frame)))
    return X, y, values, split, sample


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_summarise_table_keeps_exactly_the_rows_the_rule_assigns(tmp_path, kind):
    frame = _frame()
    path = _csv(tmp_path, frame) if kind == "csv" else _parquet_folder(tmp_path, frame)
    table = open_table(path, target="label")
    rule = _rule(table.rows)
    summary = summarise_table(table, rule, where="--data t")
    X, y, values, split, sample = _reference(frame, rule)
    assert summary.class_names == values.tolist() == ["maybe", "no", "yes"]
    for got_X, got_y, mask in ((summary.X_val, summary.y_val, split == VAL),
                               (summary.X_test, summary.y_test, split == TEST),
                               (summary.X_sample, summary.y_sample, sample)):
        np.testing.assert_array_equal(got_X, X[mask])
        np.testing.assert_array_equal(got_y, y[mask])
    assert 400 < len(summary.X_sample) < 600  # sample=500 training rows expected
    for s, name in enumerate(stream.SPLIT_NAMES):
        assert summary.split_counts[name] == np.bincount(y[split == s], minlength=3).tolist()
    assert summary.class_counts == np.bincount(y).tolist()
    starts = [u.start for u in table.units] + [table.rows]
    assert summary.unit_train_rows == [int((split[a:b] == TRAIN).sum())
                                       for a, b in zip(starts, starts[1:])]


def test_summarise_table_scaler_matches_scaler_fit(tmp_path):
    frame = _frame()
    table = open_table(_parquet_folder(tmp_path, frame), target="label")
    rule = _rule(table.rows)
    summary = summarise_table(table, rule, where="t")
    X, _, _, split, _ = _reference(frame, rule)
    expected = Scaler.fit(X[split == TRAIN])
    np.testing.assert_allclose(summary.scaler.mean, expected.mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(summary.scaler.scale, expected.scale, rtol=1e-12)


def test_summarise_table_drops_a_constant_column(tmp_path):
    frame = _frame(800).assign(const=7.0)
    table = open_table(_csv(tmp_path, frame), target="label")
    with pytest.warns(UserWarning, match=r"dropping constant feature columns \['const'\]") as w:
        summary = summarise_table(table, _rule(800), where="t")
    assert w[0].filename == __file__  # the warning names the caller's line
    assert summary.feature_names == FEATURES and summary.dropped_constant == ["const"]
    assert summary.kept == [0, 1, 2, 3, 4] and summary.X_val.shape[1] == 5
    assert len(summary.scaler.mean) == 5


def test_summarise_table_sorts_numeric_labels_numerically(tmp_path):
    frame = _frame(800).assign(label=lambda f: np.array([10, 2, 1])[f["n"] % 3])
    summary = summarise_table(open_table(_csv(tmp_path, frame), target="label"), _rule(800),
                              where="t")
    assert summary.class_names == ["1", "2", "10"]
    assert summary.class_counts == [int((frame["label"] == v).sum()) for v in (1, 2, 10)]


def test_summarise_table_labels_read_as_numbers_in_one_chunk_and_text_in_another(tmp_path):
    frame = _frame(800).assign(label=lambda f: np.where(f["row"] < 400, "1", "a"))
    summary = summarise_table(open_table(_csv(tmp_path, frame), target="label"), _rule(800),
                              where="t")
    assert summary.class_names == ["1", "a"] and summary.class_counts == [400, 400]


@pytest.mark.parametrize("bad,text", [("", None), ("inf", None), ("abc", "'abc'")])
def test_summarise_table_reports_the_first_bad_value_by_row_and_line(tmp_path, monkeypatch,
                                                                     bad, text):
    monkeypatch.setattr(tables, "CHUNK_ROWS", 1000)
    frame = _frame(8000).astype({"a": object})
    frame.loc[[7000, 7500], "a"] = bad
    table = open_table(_csv(tmp_path, frame), target="label")
    with pytest.raises(KdedgeError) as error:
        summarise_table(table, _rule(8000), where="--data t.csv")
    message = str(error.value)
    assert "[a: 2, first at row 7,001 (line 7,002)" in message
    assert message.startswith("--data t.csv: ") and "impute them or drop those rows" in message
    if text:
        assert f"text {text} at row 7,001 (line 7,002)" in message and "one-hot" in message


def test_summarise_table_reports_a_parquet_null_by_row_and_file(tmp_path):
    frame = _frame()
    frame.loc[1234, "b"] = np.nan
    table = open_table(_parquet_folder(tmp_path, frame), target="label")
    with pytest.raises(KdedgeError, match=r"\[b: 1, first at row 1,235 \(part-1.parquet row 535\)"):
        summarise_table(table, _rule(2000), where="t")


def test_summarise_table_reports_a_missing_label(tmp_path):
    frame = _frame(1000)
    frame.loc[[600, 700], "label"] = None
    table = open_table(_csv(tmp_path, frame), target="label")
    with pytest.raises(KdedgeError, match=r"'label' has 2 empty values, first at row 601 "
                                          r"\(line 602\)"):
        summarise_table(table, _rule(1000), where="t")


def test_summarise_table_refuses_a_single_class(tmp_path):
    table = open_table(_csv(tmp_path, _frame(500).assign(label="x")), target="label")
    with pytest.raises(KdedgeError, match="single class"):
        summarise_table(table, _rule(500), where="t")


def _pieces(table, summary, *, rank=0, world=1, epoch=0, sequential=False):
    return shard_pieces(table.units, summary.unit_train_rows, rank=rank, world=world, seed=9,
                        epoch=epoch, sequential=sequential)


def _epoch(table, summary, pieces, epoch, block_rows=128):
    return list(train_blocks(table, summary, pieces, epoch=epoch, seed=9, block_rows=block_rows))


def test_shard_pieces_cut_the_epochs_training_rows_into_equal_ranges(tmp_path):
    table = open_table(_parquet_folder(tmp_path, _frame()), target="label")
    summary = summarise_table(table, _rule(2000), where="t")
    counts = summary.unit_train_rows
    deal = {epoch: [_pieces(table, summary, rank=r, world=3, epoch=epoch) for r in range(3)]
            for epoch in (0, 1)}
    for shards in deal.values():
        taken = [sum(p.take for p in shard) for shard in shards]
        assert taken == shard_rows(counts, world=3) and max(taken) - min(taken) <= 1
        covered = {}  # unit → the training rows (positions within the unit) the ranks took
        for shard in shards:
            for piece in shard:
                rows = range(piece.skip, piece.skip + piece.take)
                assert not covered.setdefault(piece.unit.index, set()) & set(rows)
                covered[piece.unit.index] |= set(rows)
        assert covered == {i: set(range(n)) for i, n in enumerate(counts) if n}
    assert deal[0] != deal[1]  # units in another order each epoch
    assert deal[0] == [_pieces(table, summary, rank=r, world=3, epoch=0) for r in range(3)]
    in_order = [p.unit.index for r in range(3)
                for p in _pieces(table, summary, rank=r, world=3, sequential=True)]
    assert in_order == sorted(in_order)  # a CSV: file order


def _summarised(tmp_path, kind: str):
    """(table, its summary, the brute-force reference) of `_frame()` as a CSV or a Parquet
    folder."""
    frame = _frame()
    path = _csv(tmp_path, frame) if kind == "csv" else _parquet_folder(tmp_path, frame)
    table = open_table(path, target="label")
    summary = summarise_table(table, _rule(2000), where="t")
    return table, summary, _reference(frame, summary.rule)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_train_blocks_yield_every_training_row_once(tmp_path, kind):
    table, summary, (_, y, _, split, _) = _summarised(tmp_path, kind)
    blocks = _epoch(table, summary, _pieces(table, summary, sequential=kind == "csv"), epoch=0)
    sizes = [len(X) for X, _ in blocks]
    assert set(sizes[:-1]) == {128} and 0 < sizes[-1] <= 128
    rows = np.concatenate([X[:, 0] for X, _ in blocks]).astype(int)  # column `row`
    assert np.array_equal(np.sort(rows), np.flatnonzero(split == TRAIN))
    assert not np.array_equal(rows, np.sort(rows))  # shuffled
    np.testing.assert_array_equal(np.concatenate([b for _, b in blocks]), y[rows])
    again, other = (_epoch(table, summary, _pieces(table, summary, epoch=e,
                                                   sequential=kind == "csv"), epoch=e)
                    for e in (0, 1))
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
               for a, b in zip(blocks, again))
    other_rows = np.concatenate([X[:, 0] for X, _ in other]).astype(int)
    assert not np.array_equal(other_rows, rows)
    assert np.array_equal(np.sort(other_rows), np.sort(rows))


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_train_blocks_of_the_ranks_hold_each_training_row_once(tmp_path, kind):
    table, summary, (_, _, _, split, _) = _summarised(tmp_path, kind)
    rows = []
    for rank in range(3):
        pieces = _pieces(table, summary, rank=rank, world=3, sequential=kind == "csv")
        blocks = _epoch(table, summary, pieces, epoch=0, block_rows=1000)  # > SHUFFLE_ROWS
        assert all(len(X) == 1000 for X, _ in blocks[:-1])
        assert blocks[0][0].shape[1] == len(summary.feature_names)
        mine = np.concatenate([X[:, 0] for X, _ in blocks]).astype(int)  # column `row`
        assert len(mine) == shard_rows(summary.unit_train_rows, world=3)[rank]
        rows.append(mine)
    assert np.array_equal(np.sort(np.concatenate(rows)), np.flatnonzero(split == TRAIN))

import numpy as np
import pandas as pd
import pytest

from kdedge.data import (MINORITY_RULE, REQUESTED_RULE, TIE_RULE, load_dataset,
                         positive_class, split_dataset)
from kdedge.rundir import KdedgeError


def _write_csv(path, frame, **kwargs):
    frame.to_csv(path, index=False, **kwargs)
    return str(path)


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2],
                         "label": np.where(x[:, 0] > 0, "yes", "no")})


def test_load_dataset_default_matches_the_seed_shape():
    ds = load_dataset()
    assert ds.X.shape == (5000, 13)
    assert ds.feature_names == [f"feature_{i}" for i in range(13)]
    assert ds.class_names == ["0", "1"]
    assert 0.18 <= ds.y.mean() <= 0.22  # about 20% positives
    assert np.array_equal(ds.X, load_dataset().X)  # fixed data seed


@pytest.mark.parametrize("name,n_features,n_constant,n_classes", [
    ("wine", 13, 0, 3), ("iris", 4, 0, 3), ("breast_cancer", 30, 0, 2), ("digits", 64, 3, 10)])
@pytest.mark.filterwarnings("ignore:--data digits. dropping constant feature columns")
def test_load_dataset_sklearn_sets(name, n_features, n_constant, n_classes):
    ds = load_dataset(name)  # digits has three all-zero pixels: dropped as constant
    assert len(ds.dropped_constant) == n_constant
    assert ds.X.shape[1] == len(ds.feature_names) == n_features - n_constant
    assert len(ds.class_names) == n_classes
    assert ds.source == "sklearn"


def test_load_dataset_csv_keeps_string_labels(tmp_path, frame):
    ds = load_dataset(_write_csv(tmp_path / "t.csv", frame), target="label")
    assert ds.class_names == ["no", "yes"]
    assert ds.feature_names == ["a", "b", "c"]
    assert np.array_equal(ds.y, (frame["label"] == "yes").to_numpy().astype(int))
    assert len(ds.sha256) == 64


def test_load_dataset_csv_with_bom_and_semicolons(tmp_path, frame):
    path = _write_csv(tmp_path / "t.csv", frame, sep=";", encoding="utf-8-sig")
    assert open(path, "rb").read(3) == b"\xef\xbb\xbf"
    ds = load_dataset(path, target="label")
    assert ds.feature_names == ["a", "b", "c"]  # BOM not glued to the first name
    np.testing.assert_allclose(ds.X[:, 0], frame["a"].to_numpy())


def test_load_dataset_parquet(tmp_path, frame):
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    assert load_dataset(str(path), target="label").X.shape == (60, 3)


def test_load_dataset_missing_file_names_it():
    with pytest.raises(KdedgeError, match="nope.csv.*built-in set"):
        load_dataset("nope.csv", target="y")


def test_load_dataset_unknown_target_lists_columns(tmp_path, frame):
    with pytest.raises(KdedgeError, match=r"no column 'lab'.*a, b, c, label"):
        load_dataset(_write_csv(tmp_path / "t.csv", frame), target="lab")


def test_load_dataset_file_needs_target(tmp_path, frame):
    with pytest.raises(KdedgeError, match="--target is required"):
        load_dataset(_write_csv(tmp_path / "t.csv", frame))


def test_load_dataset_non_numeric_columns_named(tmp_path, frame):
    frame["city"] = "x"
    with pytest.raises(KdedgeError, match=r"\['city'\] are not"):
        load_dataset(_write_csv(tmp_path / "t.csv", frame), target="label")


def test_load_dataset_nan_and_inf_counted_per_column(tmp_path, frame):
    frame.loc[[1, 2], "b"] = np.nan
    frame.loc[5, "c"] = np.inf
    with pytest.raises(KdedgeError, match=r"\{'b': 2, 'c': 1\}"):
        load_dataset(_write_csv(tmp_path / "t.csv", frame), target="label")


def test_load_dataset_single_class_refused(tmp_path, frame):
    frame["label"] = "yes"
    with pytest.raises(KdedgeError, match="single class"):
        load_dataset(_write_csv(tmp_path / "t.csv", frame), target="label")


def test_load_dataset_constant_columns_dropped_with_warning(tmp_path, frame):
    frame.insert(0, "k0", 3.0)
    frame.insert(2, "k2", -1.0)
    with pytest.warns(UserWarning, match=r"constant feature columns \['k0', 'k2'\]"):
        ds = load_dataset(_write_csv(tmp_path / "t.csv", frame), target="label")
    assert ds.feature_names == ["a", "b", "c"] and ds.dropped_constant == ["k0", "k2"]
    np.testing.assert_allclose(ds.X, frame[["a", "b", "c"]].to_numpy())


def test_load_dataset_every_column_constant_refused(tmp_path, frame):
    frame[["a", "b", "c"]] = 1.0
    with pytest.raises(KdedgeError, match="every feature column is constant"):
        load_dataset(_write_csv(tmp_path / "t.csv", frame), target="label")


def test_split_dataset_stratified_and_scaler_from_train_only():
    ds = load_dataset()
    split = split_dataset(ds, seed=0)
    assert (len(split.y_train), len(split.y_val), len(split.y_test)) == (3200, 800, 1000)
    for y in (split.y_train, split.y_val, split.y_test):
        assert abs(y.mean() - ds.y.mean()) < 0.01
    np.testing.assert_allclose(split.scaler.mean_array, split.X_train.mean(axis=0))
    np.testing.assert_allclose(split.scaler.scale_array, split.X_train.std(axis=0))
    assert not np.allclose(split.scaler.mean_array, ds.X.mean(axis=0))


def test_split_class_counts_are_the_rows_per_class_of_each_split():
    split = split_dataset(load_dataset(), seed=0)
    counts = split.class_counts(2)
    assert counts == {"train": [2546, 654], "val": [637, 163], "test": [796, 204]}
    assert [sum(c) for c in counts.values()] == [3200, 800, 1000]
    assert counts["test"][1] == int(split.y_test.sum())


@pytest.mark.parametrize("train_labels, requested, index, rule", [
    ([0] * 25 + [1] * 75, None, 0, MINORITY_RULE),  # 25% "fault": the minority
    ([0] * 75 + [1] * 25, None, 1, MINORITY_RULE),
    ([0] * 25 + [1] * 75, "ok", 1, REQUESTED_RULE),  # --positive ok overrides
    ([0] * 25 + [1] * 75, "fault", 0, REQUESTED_RULE),
    ([0] * 50 + [1] * 50, None, 1, TIE_RULE),  # balanced: the second label
])
def test_positive_class_minority_of_training_split_or_requested(train_labels, requested, index,
                                                                rule):
    classes = positive_class(["fault", "ok"], np.array(train_labels), requested)
    assert (classes.positive, classes.rule) == (index, rule)
    assert classes.positive_name == ["fault", "ok"][index]


def test_positive_class_compares_labels_as_text():
    """fire reads `--positive 1` as the int 1; numeric labels are kept as text ("1")."""
    classes = positive_class(["0", "1"], np.array([0, 0, 0, 1]), 1)
    assert classes.positive == 1 and classes.rule == REQUESTED_RULE


def test_positive_class_unknown_label_lists_the_labels():
    with pytest.raises(KdedgeError, match=r"--positive 'Fault' is not a class label; the "
                                          r"target's labels are: 'fault', 'ok'"):
        positive_class(["fault", "ok"], np.array([0, 1, 1]), "Fault")


def test_positive_class_multiclass_has_none_and_refuses_one():
    classes = positive_class(["a", "b", "c"], np.array([0, 1, 2]))
    assert classes.positive is None and classes.positive_name is None and classes.rule is None
    with pytest.raises(KdedgeError, match=r"--positive b applies to binary data only, but the "
                                          r"target has 3 classes \(a, b, c\)"):
        positive_class(["a", "b", "c"], np.array([0, 1, 2]), "b")


@pytest.mark.parametrize("rows", [5, 10])
def test_split_dataset_too_few_rows(tmp_path, frame, rows):
    small = frame.iloc[:rows].copy()
    small["label"] = ["yes", "no"] * (rows // 2) + ["no"] * (rows % 2)
    ds = load_dataset(_write_csv(tmp_path / "t.csv", small), target="label")
    with pytest.raises(KdedgeError, match="too few for a stratified"):
        split_dataset(ds)


def test_split_dataset_smallest_accepted_has_two_rows_per_class_per_split(tmp_path, frame):
    ds = load_dataset(_write_csv(tmp_path / "t.csv", frame), target="label")  # 60 rows
    split = split_dataset(ds)
    assert min(len(split.y_test), len(split.y_val)) >= 4


@pytest.mark.parametrize("arg", ["test_size", "val_size"])
@pytest.mark.parametrize("value", [0.0, 1.0, 1.5])
def test_split_dataset_fraction_out_of_range(arg, value):
    with pytest.raises(KdedgeError, match=rf"--{arg} must be a number in \(0, 1\), got {value}"):
        split_dataset(load_dataset("iris"), **{arg: value})


def test_load_dataset_semicolon_csv_with_decimal_commas(tmp_path, frame):
    path = tmp_path / "euro.csv"
    frame.to_csv(path, sep=";", decimal=",", index=False)
    assert "," in path.read_text().splitlines()[1]
    ds = load_dataset(str(path), target="label")
    np.testing.assert_allclose(ds.X[:, 1], frame["b"].to_numpy())


def test_load_dataset_header_only_file(tmp_path):
    (tmp_path / "h.csv").write_text("a,b,label\n")
    with pytest.raises(KdedgeError, match="header but no data rows"):
        load_dataset(str(tmp_path / "h.csv"), target="label")


def test_load_dataset_target_with_builtin_set_refused():
    with pytest.raises(KdedgeError, match="--target applies to data files only"):
        load_dataset("wine", target="nonsense")


def test_load_dataset_single_class_names_the_value_plainly(tmp_path, frame):
    frame["label"] = 1
    with pytest.raises(KdedgeError, match=r"single class \('1'\)"):
        load_dataset(_write_csv(tmp_path / "t.csv", frame), target="label")


def test_summarise_lists_ten_names_then_counts_the_rest():
    from kdedge.data import summarise

    assert summarise(["a", "b"]) == "['a', 'b']"
    assert summarise({"a": 1}) == "{'a': 1}"
    names = [f"c{i}" for i in range(1_234)]
    assert summarise(names) == f"{names[:10]} and 1,224 more"
    assert summarise({n: 1 for n in names}).endswith("'c9': 1} and 1,224 more")


def test_dataset_name_is_known_before_loading():
    from kdedge.data import dataset_name

    assert [dataset_name(d) for d in (None, "default", "wine", "data/my.table.csv")] == [
        "default", "default", "wine", "my.table"]


def test_check_shape_uses_the_budget_and_formats_sizes(monkeypatch):
    from kdedge import data

    assert data.memory_budget() > 0
    assert [data.format_bytes(n) for n in (512, 4 << 20, 3 << 30)] == [
        "512.0 B", "4.0 MiB", "3.0 GiB"]
    monkeypatch.setattr(data, "memory_budget", lambda: 1 << 30)
    data.check_shape(1_000, 10, "t")  # 10 x 1,000: fine, no warning
    with pytest.raises(KdedgeError, match="10 features need about 1.0 GiB to train"):
        data.check_shape(1_000, 10, "t", training_bytes=lambda n: 1 << 30)


# --- files as they come: no header row, numeric column names, long column lists ---------------

def _headerless(path, frame, **kwargs):
    frame.to_csv(path, index=False, header=False, **kwargs)
    return str(path)


@pytest.fixture
def numeric_frame(frame):
    """Every cell a number (the label 0/1): its first data row parses as a header of numbers."""
    return frame.assign(label=(frame["label"] == "yes").astype(int))


@pytest.mark.parametrize("kind", ["numbers", "text labels"])
def test_load_dataset_file_without_header_refused_with_the_fix(tmp_path, frame, numeric_frame,
                                                               kind):
    """pandas took the first data row as the header: 59 rows, names like '0.126'."""
    data = _headerless(tmp_path / "t.csv", numeric_frame if kind == "numbers" else frame)
    why = "every cell is a number" if kind == "numbers" else "text cells occur as values"
    with pytest.raises(KdedgeError, match=rf"seems to have no header row.*{why}.*pass --no_header "
                                          r"\(the columns are then named col_0, col_1, …, and "
                                          r"--target takes a column index: -1 for the last"):
        load_dataset(data, target="label")


@pytest.mark.parametrize("target,name", [("-1", "col_3"), ("3", "col_3"), ("col_3", "col_3"),
                                         ("+3", "col_3"), ("-4", "col_0")])
def test_load_dataset_no_header_names_columns_and_takes_an_index(tmp_path, numeric_frame, target,
                                                                 name):
    frame = numeric_frame
    data = _headerless(tmp_path / "t.csv", frame)
    ds = load_dataset(data, target=target, no_header=True)
    assert ds.target == name and len(ds.y) == 60  # the first row is data, not lost
    others = [f"col_{i}" for i in range(4) if f"col_{i}" != name]
    assert ds.feature_names == others
    np.testing.assert_allclose(ds.X[0], frame.iloc[0, [int(c[4:]) for c in others]].to_numpy(
        dtype=float))


@pytest.mark.parametrize("target,message", [
    ("4", r"--target 4 is out of range: .* has 4 columns; give an index from 0 to 3, or -1"),
    ("-5", r"--target -5 is out of range"),
    ("label", r"no column 'label'; --target must be one of: col_0, col_1, col_2, col_3"),
])
def test_load_dataset_no_header_bad_target(tmp_path, frame, target, message):
    with pytest.raises(KdedgeError, match=message):
        load_dataset(_headerless(tmp_path / "t.csv", frame), target=target, no_header=True)


def test_load_dataset_no_header_semicolons(tmp_path, numeric_frame):
    data = _headerless(tmp_path / "t.csv", numeric_frame, sep=";")
    with pytest.raises(KdedgeError, match="no header row"):
        load_dataset(data, target="label")
    ds = load_dataset(data, target="-1", no_header=True)
    np.testing.assert_allclose(ds.X, numeric_frame[["a", "b", "c"]].to_numpy())


@pytest.mark.parametrize("header", ["a,b,8,0", "x,0,8,label", "0,1,2,3", "1,2,3,4"])
def test_load_dataset_numeric_column_names_are_names(tmp_path, numeric_frame, header):
    """Names that are numbers beside text names, or counting 0,1,2… (pandas' names for unnamed
    columns), read as a header; `--target 0` and `--target 8` name those columns."""
    path = tmp_path / "t.csv"
    numeric_frame.to_csv(path, index=False, header=header.split(","))
    for target in [n for n in header.split(",") if n in ("0", "8")] or [header.split(",")[-1]]:
        ds = load_dataset(str(path), target=target)
        assert ds.target == target and len(ds.y) == 60
        assert target not in ds.feature_names


def test_load_dataset_parquet_numeric_column_names(tmp_path, numeric_frame):
    path = tmp_path / "t.parquet"
    numeric_frame.rename(columns={"a": "0", "label": "8"}).to_parquet(path)
    ds = load_dataset(str(path), target="8")
    assert ds.target == "8" and ds.feature_names == ["0", "b", "c"]
    with pytest.raises(KdedgeError, match="a Parquet file always names its columns; drop "
                                          "--no_header"):
        load_dataset(str(path), target="8", no_header=True)


def test_load_dataset_no_header_with_builtin_set_refused():
    with pytest.raises(KdedgeError, match="--no_header applies to data files only"):
        load_dataset("iris", no_header=True)


def test_load_dataset_unknown_target_suggests_close_names(tmp_path, frame):
    data = _write_csv(tmp_path / "t.csv", frame)
    with pytest.raises(KdedgeError, match=r"no column 'lable'; did you mean 'label'\? --target "
                                          r"must be one of: a, b, c, label$"):
        load_dataset(data, target="lable")
    with pytest.raises(KdedgeError, match=r"no column '-1'; \(a column index such as -1 works "
                                          r"with --no_header"):
        load_dataset(data, target="-1")


def test_load_dataset_unknown_target_lists_the_end_of_a_long_column_list(tmp_path):
    """The label is often the last column: a long list keeps its first and last 25 names."""
    rng = np.random.default_rng(0)
    wide = pd.DataFrame(rng.normal(size=(100, 80)), columns=[f"f{i}" for i in range(80)])
    wide["outcome"] = np.arange(100) % 2
    with pytest.raises(KdedgeError) as error:
        load_dataset(_write_csv(tmp_path / "wide.csv", wide), target="label")
    listed = str(error.value).split("--target must be one of: ")[1]
    assert listed.startswith("f0, f1,") and listed.endswith("f78, f79, outcome")
    assert ", … (31 more) …, " in listed  # 81 columns: 25 + 31 + 25

import numpy as np
import pytest
import torch

from kdedge.contract import Scaler
from kdedge.fold import SCALER_STEP, FoldedModel, fold_model
from kdedge.models import Student, StudentConfig, Teacher, TeacherConfig


@pytest.fixture(autouse=True)
def always_centre(monkeypatch):
    """These tests are about the centred form (a Sub node before the first layer), which
    fold_model uses for data with large offsets; force it on the test data's small offsets."""
    monkeypatch.setattr("kdedge.fold.OFFSET_RATIO", 0.0)


def _randomise_batchnorm(model):
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)


def _folded_and_exact(model, X):
    """Fold `model` with the scaler fitted on X; check the folded chain on raw rows equals the
    model on standardised rows (written out here, independently of Scaler.transform)."""
    scaler = Scaler.fit(X)
    folded = fold_model(model.double().eval(), scaler)
    with torch.no_grad():
        expected = model(torch.from_numpy((X - X.mean(0)) / X.std(0))).numpy()
    np.testing.assert_allclose(folded.forward(X), expected, atol=1e-9)
    return folded


@pytest.fixture
def rows():
    rng = np.random.default_rng(0)
    return rng.normal(3.0, 2.0, size=(64, 13))


def test_fold_model_seed_teacher_has_36352_macs_and_is_exact(rows):
    torch.manual_seed(0)
    teacher = Teacher(TeacherConfig(n_features=13, n_classes=2))
    _randomise_batchnorm(teacher)
    folded = _folded_and_exact(teacher, rows)
    assert folded.macs == 13 * 256 + 256 * 128 + 128 * 2 == 36_352
    assert len(folded.layers) == 3
    assert folded.steps == [SCALER_STEP, "BatchNorm folded into the preceding Linear"]


def test_fold_model_student_keeps_low_rank_pair_when_cheaper(rows):
    torch.manual_seed(0)
    student = Student(StudentConfig(n_features=6, n_classes=2, rank=4, hidden=[32]))
    folded = _folded_and_exact(student, rows[:, :6])
    assert folded.macs == 6 * 4 + 4 * 32 + 32 * 2  # 216 < merged 6·32 + 32·2
    assert not any("merged" in s for s in folded.steps)


def test_fold_model_student_merges_when_rank_is_not_low(rows):
    torch.manual_seed(0)
    student = Student(StudentConfig(n_features=3, n_classes=2, rank=8, hidden=[4]))
    folded = _folded_and_exact(student, rows[:, :3])
    assert folded.macs == 3 * 4 + 4 * 2 and folded.macs_before == 3 * 8 + 8 * 4 + 4 * 2


def test_fold_model_drops_closed_factors(rows):
    torch.manual_seed(0)
    student = Student(StudentConfig(n_features=6, n_classes=2, rank=4, hidden=[32]))
    with torch.no_grad():
        student.gate_logits[1] = -40.0  # sigmoid(-40) ≈ 4e-18: the factor is closed
    folded = _folded_and_exact(student, rows[:, :6])
    assert folded.dropped_factors == [1]
    assert folded.macs == 6 * 3 + 3 * 32 + 32 * 2


def test_fold_model_scaler_of_a_column_subset_follows_its_order(rows):
    """A student reads its columns in ranking order: the scaler must be subset the same way."""
    torch.manual_seed(0)
    student = Student(StudentConfig(n_features=3, n_classes=2, rank=2, hidden=[4]))
    index = [7, 2, 11]
    folded = fold_model(student.double().eval(), Scaler.fit(rows).subset(index))
    X = rows[:, index]
    with torch.no_grad():
        expected = student(torch.from_numpy((X - X.mean(0)) / X.std(0))).numpy()
    np.testing.assert_allclose(folded.forward(X), expected, atol=1e-9)


def test_fold_model_refuses_other_modules():
    with pytest.raises(TypeError, match="Teacher or Student, not Linear"):
        fold_model(torch.nn.Linear(2, 2), Scaler(mean=[0.0, 0.0], scale=[1.0, 1.0]))


def _float32_forward(folded: FoldedModel, x: np.ndarray) -> np.ndarray:
    """The folded chain in float32 arithmetic, as the exported graph computes it."""
    h = x.astype(np.float32)
    if folded.centre is not None:
        h = h - folded.centre.astype(np.float32)
    for layer in folded.layers:
        h = h @ layer.weight.T.astype(np.float32) + layer.bias.astype(np.float32)
        h = np.maximum(h, 0) if layer.relu else h
    return h.astype(np.float64)


@pytest.fixture
def offset_rows():
    """Features with large offsets: mean 1000 / std 0.01 and mean 5e4 / std 3, then plain ones."""
    z = np.random.default_rng(1).normal(size=(256, 6))
    return np.c_[1000 + 0.01 * z[:, 0], 5e4 + 3 * z[:, 1], z[:, 2:]].astype(np.float32)


def test_fold_model_centres_inputs_and_folds_only_the_scale(rows):
    torch.manual_seed(0)
    student = Student(StudentConfig(n_features=6, n_classes=2, rank=4, hidden=[32]))
    scaler = Scaler.fit(rows[:, :6])
    folded = _folded_and_exact(student, rows[:, :6])
    np.testing.assert_array_equal(folded.centre, scaler.mean_array.astype(np.float32))
    assert folded.steps[0] == SCALER_STEP
    # W' = W / scale: the first factor layer's weight columns, divided by the column's std
    gates = torch.sigmoid(student.gate_logits).detach().double().numpy()
    factors = student.factors.weight.detach().double().numpy()
    expected = factors * gates[:, None] / scaler.scale_array
    np.testing.assert_allclose(folded.layers[0].weight, expected, rtol=1e-12)


def test_fold_model_stays_exact_in_float32_with_large_offsets(offset_rows):
    """Centred, every product is of the size of the result: float32 is as good as on centred
    data. Folding the centre into the bias (the earlier form) loses the offset features."""
    torch.manual_seed(0)
    student = Student(StudentConfig(n_features=6, n_classes=2, rank=4, hidden=[32]))
    folded = _folded_and_exact(student, offset_rows.astype(np.float64))
    exact = folded.forward(offset_rows)
    assert np.max(np.abs(_float32_forward(folded, offset_rows) - exact)) < 1e-6  # ~6e-8
    biased = folded.centre_in_bias()
    assert biased.centre is None and biased.macs == folded.macs
    np.testing.assert_allclose(biased.forward(offset_rows), exact, atol=1e-6)  # same in float64
    assert np.max(np.abs(_float32_forward(biased, offset_rows) - exact)) > 1e-4  # ~2e-3

import numpy as np
import pytest
import torch

from kdedge.fold import fold_model
from kdedge.models import Student, StudentConfig, Teacher, TeacherConfig


def _randomise_batchnorm(model):
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)


def _reference_logits(model, X, mean, scale):
    with torch.no_grad():
        return model(torch.from_numpy((X - mean) / scale)).numpy()


@pytest.fixture
def rows():
    rng = np.random.default_rng(0)
    return rng.normal(3.0, 2.0, size=(64, 13))


def test_fold_model_seed_teacher_has_36352_macs_and_is_exact(rows):
    torch.manual_seed(0)
    teacher = Teacher(TeacherConfig(n_features=13, n_classes=2)).double().eval()
    _randomise_batchnorm(teacher)
    mean, scale = rows.mean(0), rows.std(0)
    folded = fold_model(teacher, mean, scale)
    assert folded.macs == 13 * 256 + 256 * 128 + 128 * 2 == 36_352
    assert len(folded.layers) == 3
    np.testing.assert_allclose(folded.forward(rows), _reference_logits(teacher, rows, mean, scale),
                               atol=1e-9)


def test_fold_model_student_keeps_low_rank_pair_when_cheaper(rows):
    torch.manual_seed(0)
    student = Student(StudentConfig(n_features=6, n_classes=2, rank=4, hidden=[32])).double()
    X = rows[:, :6]
    folded = fold_model(student, X.mean(0), X.std(0))
    assert folded.macs == 6 * 4 + 4 * 32 + 32 * 2  # 216 < merged 6·32 + 32·2
    assert not any("merged" in s for s in folded.steps)
    np.testing.assert_allclose(folded.forward(X), _reference_logits(student, X, X.mean(0), X.std(0)),
                               atol=1e-9)


def test_fold_model_student_merges_when_rank_is_not_low(rows):
    torch.manual_seed(0)
    student = Student(StudentConfig(n_features=3, n_classes=2, rank=8, hidden=[4])).double()
    X = rows[:, :3]
    folded = fold_model(student, X.mean(0), X.std(0))
    assert folded.macs == 3 * 4 + 4 * 2 and folded.macs_before == 3 * 8 + 8 * 4 + 4 * 2
    np.testing.assert_allclose(folded.forward(X), _reference_logits(student, X, X.mean(0), X.std(0)),
                               atol=1e-9)


def test_fold_model_drops_closed_factors(rows):
    torch.manual_seed(0)
    student = Student(StudentConfig(n_features=6, n_classes=2, rank=4, hidden=[32])).double()
    with torch.no_grad():
        student.gate_logits[1] = -40.0  # sigmoid(-40) ≈ 4e-18: the factor is closed
    X = rows[:, :6]
    folded = fold_model(student, X.mean(0), X.std(0))
    assert folded.dropped_factors == [1]
    assert folded.macs == 6 * 3 + 3 * 32 + 32 * 2
    np.testing.assert_allclose(folded.forward(X), _reference_logits(student, X, X.mean(0), X.std(0)),
                               atol=1e-9)

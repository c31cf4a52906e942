import numpy as np
import torch

from kdedge.contract import KDConfig, StudentConfig
from kdedge.data import load_dataset, split_dataset
from kdedge.student import fit_student, training_set
from kdedge.train import UNLABELLED, TrainConfig, kd_loss, seeded


def _split():
    return split_dataset(load_dataset("wine"), test_size=0.2, val_size=0.2, seed=0)


def _teacher(X):  # a fixed "teacher": logits from the first three columns
    return np.asarray(X[:, :3], dtype=np.float64)


def test_training_set_appends_unlabelled_transfer_rows():
    split = _split()
    data = training_set(split, _teacher, transfer="munge", seed=0)
    n = len(split.y_train)
    assert data.transfer_rows == n and len(data.y_train) == 2 * n
    assert (data.y_train[n:] == UNLABELLED).all() and (data.y_train[:n] == split.y_train).all()
    assert data.X_train.dtype == np.float32
    # the teacher labelled the synthetic rows in raw units (inverse of the scaler)
    raw = split.scaler.inverse_transform(data.X_train[n:])
    assert np.allclose(data.teacher_train[n:], _teacher(raw))
    assert training_set(split, _teacher, transfer="none", seed=0).transfer_rows == 0


def test_kd_loss_on_unlabelled_rows_is_the_soft_term_alone():
    student, teacher = torch.randn(4, 3), torch.randn(4, 3)
    unlabelled = torch.full((4,), UNLABELLED)
    soft_only = kd_loss(student, teacher, unlabelled, temperature=2.0, alpha=0.5)
    expected = 0.5 * 4.0 * torch.nn.functional.kl_div(
        torch.log_softmax(student / 2, 1), torch.log_softmax(teacher / 2, 1),
        reduction="batchmean", log_target=True)
    assert torch.isfinite(soft_only) and torch.allclose(soft_only, expected)
    labels = torch.tensor([0, 1, UNLABELLED, UNLABELLED])
    hard = torch.nn.functional.cross_entropy(student[:2], labels[:2])
    assert torch.allclose(kd_loss(student, teacher, labels, temperature=2.0, alpha=1.0), hard)


def test_no_kd_student_trains_on_the_labelled_rows_only():
    split = _split()
    data = training_set(split, _teacher, transfer="munge", seed=0)
    config = StudentConfig(n_features=4, n_classes=3, rank=2, hidden=[8])
    with seeded(0):
        _, history = fit_student(data, [0, 1, 2, 3], config, kd=KDConfig(4.0, 1.0),
                                 train=TrainConfig(max_epochs=2), seed=0, log_progress=False)
    assert np.isfinite(history["train_loss"]).all() and history["epochs_run"] == 2

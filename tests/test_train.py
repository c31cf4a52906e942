import logging
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from kdedge.contract import StudentConfig, TeacherConfig
from kdedge.models import Student, Teacher
from kdedge.train import Progress, TrainConfig, as_tensor, fit, kd_loss, predict_logits


def _cross_entropy(logits, target, _aux):
    return F.cross_entropy(logits, target)


def test_kd_loss_matches_hinton_formula():
    torch.manual_seed(0)
    s, t = torch.randn(8, 3), torch.randn(8, 3)
    y = torch.randint(0, 3, (8,))
    T, alpha = 3.0, 0.25
    p_t = F.softmax(t / T, dim=1)
    kl = (p_t * (p_t.log() - F.log_softmax(s / T, dim=1))).sum(1).mean()  # batchmean
    expected = alpha * F.cross_entropy(s, y) + (1 - alpha) * T * T * kl
    assert math.isclose(float(kd_loss(s, t, y, temperature=T, alpha=alpha)), float(expected),
                        rel_tol=1e-6)


def test_kd_loss_alpha_one_is_cross_entropy():
    s, t, y = torch.randn(4, 2), torch.randn(4, 2), torch.tensor([0, 1, 1, 0])
    assert torch.equal(kd_loss(s, t, y, temperature=4.0, alpha=1.0), F.cross_entropy(s, y))


def test_kd_loss_is_zero_soft_term_when_student_equals_teacher():
    logits = torch.randn(6, 4)
    y = logits.argmax(1)
    loss = kd_loss(logits, logits.clone(), y, temperature=2.0, alpha=0.0)
    assert abs(float(loss)) < 1e-6


def test_fit_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    torch.manual_seed(0)
    model = Student(StudentConfig(n_features=2, n_classes=2, rank=2, hidden=[8]))
    history = fit(model, X[:300], y[:300], X[300:], y[300:], config=TrainConfig(max_epochs=30),
                  seed=0, loss_fn=_cross_entropy)
    assert history["val_loss"][history["best_epoch"] - 1] == min(history["val_loss"])
    assert (predict_logits(model, X[300:]).argmax(1) == y[300:]).mean() > 0.95


def _flipped_problem():
    """Validation labels are the opposite of the training labels: every epoch of learning makes
    the validation loss worse, so epoch 1 is the best and the last is far from it."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    return X[:200], y[:200], X[200:], 1 - y[200:]


def _teacher_fit(max_epochs: int, patience: int):
    torch.manual_seed(0)
    model = Teacher(TeacherConfig(n_features=4, n_classes=2, hidden=[16]))  # BatchNorm buffers too
    history = fit(model, *_flipped_problem(), seed=0, loss_fn=_cross_entropy,
                  config=TrainConfig(max_epochs=max_epochs, patience=patience, batch_size=50))
    return model, history


def test_fit_restores_the_best_epoch_weights_not_the_last():
    model, history = _teacher_fit(max_epochs=8, patience=100)
    assert history["best_epoch"] == 1 and history["epochs_run"] == 8
    assert history["val_loss"][-1] > history["val_loss"][0]
    after_one_epoch, _ = _teacher_fit(max_epochs=1, patience=100)
    kept, best = model.state_dict(), after_one_epoch.state_dict()
    assert kept.keys() == best.keys()
    for key in kept:
        assert torch.equal(kept[key], best[key]), key
    assert not model.training
    X_val, y_val = _flipped_problem()[2:]
    val_loss = float(F.cross_entropy(torch.from_numpy(predict_logits(model, X_val)),
                                     torch.from_numpy(y_val)))
    assert val_loss == pytest.approx(history["val_loss"][0], rel=1e-6)


def test_fit_stops_after_patience_epochs_without_improvement():
    _, history = _teacher_fit(max_epochs=50, patience=3)
    assert history["best_epoch"] == 1 and history["epochs_run"] == 4
    assert len(history["train_loss"]) == len(history["val_loss"]) == 4


def test_predict_logits_does_not_depend_on_numpy_alignment():
    torch.manual_seed(0)
    model = Student(StudentConfig(n_features=6, n_classes=2, rank=4, hidden=[32]))
    X = np.random.default_rng(0).normal(size=(1000, 6)).astype(np.float32)
    expected = predict_logits(model, X)
    buffer = np.empty(X.size + 16, dtype=np.float32)
    for offset in range(1, 16):  # 4-byte steps through every 64-byte alignment
        shifted = buffer[offset:offset + X.size].reshape(X.shape)
        shifted[...] = X
        assert np.array_equal(predict_logits(model, shifted), expected), offset
    assert as_tensor(X).data_ptr() % 64 == 0


def test_progress_logs_first_every_tenth_and_last_epoch(caplog):
    progress = Progress("student")
    with caplog.at_level(logging.INFO, logger="kdedge.distill"):
        for epoch in range(1, 24):
            progress(epoch, 150, 0.5, 1)
        progress(23, 150, 0.5, 1, done=True)  # the last epoch, though not a tenth one
        progress(23, 150, 0.5, 1, done=True)  # already logged: not again
    epochs = [int(r.getMessage().split("epoch")[1].split("/")[0]) for r in caplog.records]
    assert epochs == [1, 10, 20, 23]

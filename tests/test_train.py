import math

import numpy as np
import torch
import torch.nn.functional as F

from kdedge.models import Student, StudentConfig
from kdedge.train import TrainConfig, fit, kd_loss


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


def test_fit_keeps_best_epoch_and_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    torch.manual_seed(0)
    model = Student(StudentConfig(n_features=2, n_classes=2, rank=2, hidden=[8]))
    history = fit(model, X[:300], y[:300], X[300:], y[300:], config=TrainConfig(max_epochs=30),
                  seed=0, loss_fn=lambda logits, target, _aux: F.cross_entropy(logits, target))
    best = history["best_epoch"]
    assert history["val_loss"][best - 1] == min(history["val_loss"])
    with torch.no_grad():
        accuracy = float((model(torch.from_numpy(X[300:])).argmax(1).numpy() == y[300:]).mean())
    assert accuracy > 0.95

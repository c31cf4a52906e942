import numpy as np
import pytest
import torch

from kdedge.data import load_dataset, split_dataset
from kdedge.teacher import GBDT_PATIENCE, batched, fit_gbdt, fit_mlp
from kdedge.train import TrainConfig, seeded


@pytest.fixture(scope="module")
def split():
    return split_dataset(load_dataset("breast_cancer"), test_size=0.2, val_size=0.2, seed=0)


def test_batched_equals_one_pass():
    X = np.random.default_rng(0).standard_normal((1000, 3))
    calls = []

    def logits(rows):
        calls.append(len(rows))
        return np.c_[rows.sum(axis=1), -rows.sum(axis=1)]

    assert np.array_equal(batched(logits, rows=300)(X), logits(X))
    assert calls[:4] == [300, 300, 300, 100]


def test_gbdt_teacher_early_stops_on_the_validation_split(split):
    teacher = fit_gbdt(split, seed=0)
    history, model = teacher.history, teacher.model
    assert teacher.kind == "gbdt" and model.n_iter_ == history["epochs_run"]
    assert len(history["val_loss"]) == len(history["val_accuracy"]) == model.n_iter_
    assert model.n_iter_ < 500  # stopped: GBDT_PATIENCE iterations without a better loss
    assert np.argmin(history["val_loss"]) <= model.n_iter_ - GBDT_PATIENCE
    logits = teacher.logits(split.scaler)(split.X_test)
    assert np.allclose(np.exp(logits), model.predict_proba(split.X_test.astype(np.float32)))


def test_mlp_teacher_logits_are_its_scaled_forward_pass(split):
    with seeded(0):
        teacher = fit_mlp(split, 2, hidden=[8], train=TrainConfig(max_epochs=2), seed=0)
    expected = teacher.model(torch.from_numpy(split.scaler.transform(split.X_test))).detach()
    assert np.allclose(teacher.logits(split.scaler)(split.X_test), expected.numpy(), atol=1e-6)

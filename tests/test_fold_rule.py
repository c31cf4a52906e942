"""When fold_model centres the inputs in their own node, and when it folds the mean into the bias."""

import numpy as np
import pytest
import torch

from kdedge.contract import Scaler, StudentConfig
from kdedge.fold import BIAS_STEP, OFFSET_RATIO, SCALER_STEP, fold_model, needs_centring
from kdedge.models import Student


@pytest.mark.parametrize("mean, scale, expected", [
    ([0.5, -1.0], [1.0, 1.0], False),                # standardised-looking data: no node
    ([OFFSET_RATIO, 0.0], [1.0, 1.0], False),        # the boundary itself folds
    ([OFFSET_RATIO * 1.01, 0.0], [1.0, 1.0], True),  # just past it: centre
    ([1000.0, 0.0], [0.01, 1.0], True),              # a large offset in one column is enough
])
def test_needs_centring(mean, scale, expected):
    assert needs_centring(Scaler(mean=mean, scale=scale)) is expected


def test_fold_model_small_offsets_fold_into_the_bias_large_ones_get_a_centre():
    torch.manual_seed(0)
    student = Student(StudentConfig(n_features=2, n_classes=2, rank=2, hidden=[4])).eval()
    rows = np.random.default_rng(0).normal(size=(50, 2))
    for offset, centred in ((0.0, False), (1000.0, True)):
        scaler = Scaler.fit(rows * [0.01, 1.0] + [offset, 0.0])
        folded = fold_model(student, scaler)
        assert (folded.centre is not None) is centred
        assert folded.steps[0] == (SCALER_STEP if centred else BIAS_STEP)
        x = rows * [0.01, 1.0] + [offset, 0.0]
        with torch.no_grad():
            expected = student(torch.from_numpy(scaler.transform(x))).double().numpy()
        np.testing.assert_allclose(folded.forward(x), expected, atol=1e-5)

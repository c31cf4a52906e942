import numpy as np
import pytest

from kdedge.transfer import POOL_ROWS, munge, transfer_rows


def _rows(n: int = 400, features: int = 5) -> np.ndarray:
    return np.random.default_rng(1).standard_normal((n, features)).astype(np.float32)


def test_transfer_rows_as_many_again_capped_and_none_for_none():
    assert transfer_rows(3200, "munge") == 3200
    assert transfer_rows(10 * POOL_ROWS, "munge") == POOL_ROWS
    assert transfer_rows(3200, "none") == 0


def test_munge_is_seeded_shaped_and_float32():
    X = _rows()
    a, b = munge(X, rows=300, seed=3), munge(X, rows=300, seed=3)
    assert a.shape == (300, 5) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, munge(X, rows=300, seed=4))
    assert munge(X, rows=0, seed=0).shape == (0, 5)


def test_munge_changes_about_p_of_the_values_of_real_rows():
    """A value is either the drawn row's own (kept with probability 1 - p) or a draw around its
    nearest neighbour's value."""
    X = _rows()
    synthetic = munge(X, rows=2000, seed=0, p=0.5)
    kept = np.isin(synthetic, X)  # a value equal to some real value: not moved
    assert kept.mean() == pytest.approx(0.5, abs=0.03)
    real = X.tolist()
    assert all(row in real for row in munge(X, rows=50, seed=0, p=0.0).tolist())  # p = 0: copies


def test_munge_stays_near_the_data():
    """Rows move about as far as their nearest neighbour: the synthetic cloud's spread is the
    data's, far from a uniform box over the same range."""
    X = _rows(2000, 3)
    synthetic = munge(X, rows=2000, seed=0)
    assert np.allclose(synthetic.mean(axis=0), X.mean(axis=0), atol=0.1)
    assert np.allclose(synthetic.std(axis=0), X.std(axis=0), rtol=0.1)

"""Synthetic transfer rows for distillation: rows the data does not have, labelled by the teacher.

A student trained only on the training rows learns the teacher's function where those rows are
dense; between them it guesses. Bucilă, Caruana & Niculescu-Mizil, "Model Compression" (KDD
2006) grow the transfer set with MUNGE: take a row e and its nearest neighbour e′ (Euclidean, in
the standardised space); for each feature, with probability p, replace e's value by a draw from
N(e′_a, |e_a − e′_a| / s). The synthetic rows stay near the data manifold (each moves at most
about as far as its neighbour is), so the teacher's soft targets on them are meaningful.

Here one synthetic row is made per draw (the paper swaps both e and e′; one side is enough when
rows are drawn at random) and neighbours are found within a seeded pool of at most POOL_ROWS
rows, so the cost stays bounded on large data. scikit-learn's NearestNeighbors does the search;
the perturbation is the hand-written part (no library implements MUNGE).
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors

POOL_ROWS = 20_000  # rows among which neighbours are searched (and from which rows are drawn)
SWAP_PROBABILITY = 0.5  # p of the paper
LOCALITY = 1.0  # s of the paper: the draw's standard deviation is |e_a − e′_a| / s


def transfer_rows(n_train: int, method: str) -> int:
    """How many synthetic rows `method` adds to n_train real rows: as many again (capped at
    POOL_ROWS, so the students' training set at most doubles), none for "none"."""
    return 0 if method == "none" else min(n_train, POOL_ROWS)


def munge(X_scaled: np.ndarray, *, rows: int, seed: int, p: float = SWAP_PROBABILITY,
          s: float = LOCALITY) -> np.ndarray:
    """`rows` MUNGE rows [rows, n] (float32) around the standardised rows `X_scaled`.

    Args:
        X_scaled: real training rows, standardised (the scale the distances are measured in).
        rows: synthetic rows to make.
        seed: seeds the pool, the rows drawn, the swaps and the draws.
    """
    rng = np.random.default_rng(seed)
    X = np.asarray(X_scaled, dtype=np.float64)
    if rows == 0 or len(X) < 2:
        return np.empty((0, X.shape[1]), dtype=np.float32)
    pool = X[rng.permutation(len(X))[:POOL_ROWS]]
    # the two nearest points of each pool row: itself (distance 0) and its neighbour
    _, nearest = NearestNeighbors(n_neighbors=2).fit(pool).kneighbors(pool)
    drawn = rng.integers(0, len(pool), size=rows)
    e, neighbour = pool[drawn], pool[nearest[drawn, 1]]
    swap = rng.random(e.shape) < p
    moved = rng.normal(neighbour, np.abs(e - neighbour) / s)
    return np.where(swap, moved, e).astype(np.float32)

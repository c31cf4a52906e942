"""Helpers of the reliability tests (issue 13): small real data files and fake runs. A module of
its own, not conftest.py: several conftest modules exist and `from conftest import` is ambiguous."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def tiny_csv(path: Path, *, rows: int = 60, columns=("a", "b", "c"),
             classes=("no", "yes")) -> Path:
    """A learnable CSV: `label` is classes[1] where the first column is positive."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, len(columns)))
    frame = pd.DataFrame(x, columns=list(columns))
    frame["label"] = np.where(x[:, 0] > 0, classes[1], classes[0])
    frame.to_csv(path, index=False)
    return path


def fake_run(path: Path, text: str) -> Path:
    """A folder that passes for a finished run: run.json plus one file saying which run it is."""
    path.mkdir(parents=True)
    (path / "run.json").write_text("{}")
    (path / "which.txt").write_text(text)
    return path


# distill settings that train in about a second on `tiny_csv`
QUICK = {"max_epochs": 2, "patience": 1}

"""Shared fixtures: one small distill run per test session (a few seconds on 2 cores)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    """A short-trained distill run on the default data; tests must not modify it (copy first)."""
    from kdedge.distill import distill

    out = tmp_path_factory.mktemp("runs") / "small"
    return distill(out=str(out), max_epochs=6, patience=3, quiet=True)

"""Export fixtures on the session's real runs: `full_run` (exported with quantize="all" by the real
stage) and `small_run` (never exported). Tests read them and never change them; tests that break
or re-export a run work on a copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kdedge.contract import EXPORT_JSON, ExportSummary, read_record


@pytest.fixture(scope="session")
def export_summary(full_run) -> ExportSummary:
    """full_run's export.json, read through the contract."""
    return read_record(ExportSummary, full_run / EXPORT_JSON)


@pytest.fixture
def run_copy(small_run, tmp_path) -> Path:
    """A fresh, never-exported copy of the small run, free to break."""
    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    return run


def _tree_state(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes()
            for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture
def tree_state():
    """Every file under a folder (relative name → bytes): compare before/after a failed export."""
    return _tree_state

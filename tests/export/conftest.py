"""Export fixtures: the session's small distill run, exported once (quantize=all) and shared.

Tests read `exported_run` and must not change it; failure paths work on copies.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def exported_run(small_run, tmp_path_factory) -> Path:
    """A copy of `small_run` with onnx/ and export.json written by export_run(quantize="all")."""
    from kdedge.export import export_run

    run = tmp_path_factory.mktemp("export") / "run"
    shutil.copytree(small_run, run)
    export_run(run, quantize="all", quiet=True)
    return run


@pytest.fixture(scope="session")
def export_json(exported_run) -> dict:
    return json.loads((exported_run / "export.json").read_text())


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

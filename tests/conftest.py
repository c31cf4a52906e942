"""Shared fixtures: real runs made once per test session through the real stages.

`small_run` is a short-trained distill run on the default data; `full_run` adds a real export
(every quantized variant, and the C student where gcc is installed) and a real quick bench to a
copy of it. Tests must not modify either: copy first (`copy_run`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The suite tests the installed kdedge: the repository itself under `pip install -e .`, the
# wheel's copy otherwise. `python -m pytest` (and `python -c` in the subprocess tests) put the
# working directory first on sys.path; from the repository root that is the source folder
# kdedge/, which lacks kdedge.export and kdedge.runtime (the install maps them from export/ and
# runtime/). Drop it here, and in subprocesses (PYTHONSAFEPATH, Python >= 3.11).
_REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _REPO]
os.environ["PYTHONSAFEPATH"] = "1"

import shutil
import textwrap

import pytest


def copy_run(src: Path, dst: Path) -> Path:
    """A private copy of a session run that a test may change."""
    shutil.copytree(src, dst)
    return dst


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> Path:
    """A short-trained distill run on the default data (a few seconds on 2 cores): the fixed-size
    student (k = 6, rank 4, head 32), so readers are tested on a known shape; `searched_run`
    has the size search."""
    from kdedge.distill import distill

    out = tmp_path_factory.mktemp("runs") / "small"
    return distill(out=str(out), max_epochs=6, patience=3, student="fixed")


@pytest.fixture(scope="session")
def searched_run(tmp_path_factory) -> Path:
    """The size search on the default data with short fits and a GBDT teacher (about 15 s)."""
    from kdedge.distill import distill

    out = tmp_path_factory.mktemp("runs") / "searched"
    return distill(out=str(out), max_epochs=8, patience=3, teacher="gbdt", search_seconds=600)


@pytest.fixture(scope="session")
def full_run(small_run, tmp_path_factory) -> Path:
    """`small_run` exported (fp32 + int8, int8-static, fp16, and with gcc the C student in c/)
    and benched (quick, batch 1 and 32) by the real stages: the artifacts every reader is tested
    on."""
    from kdedge.export import export_run
    from kdedge.runtime.bench import bench
    from kdedge.runtime.c_bench import NATIVE, toolchain_missing

    run = copy_run(small_run, tmp_path_factory.mktemp("runs") / "full")
    export_run(run, quantize="all", c=toolchain_missing(NATIVE) is None)
    bench(run, target="x86-test", batch_sizes=(1, 32), quick=True)
    return run


@pytest.fixture
def c_parity_failure(monkeypatch):
    """Plant a C parity failure: the onnxruntime reference the C student's gate compares with
    (`kdedge.export.c_student.onnx_outputs`) moved by 1e-3, 100 × the tolerance."""
    from kdedge.export import c_student

    real = c_student.onnx_outputs

    def shifted(*args, **kwargs):
        probabilities, labels = real(*args, **kwargs)
        return probabilities + 1e-3, labels

    monkeypatch.setattr(c_student, "onnx_outputs", shifted)


@pytest.fixture(scope="session")
def centred_run(small_run, tmp_path_factory) -> Path:
    """`small_run` exported (quantize="all") with the centring Sub node forced: the graph form
    data with large offsets gets (kdedge/fold.py OFFSET_RATIO); the default data does not."""
    import kdedge.fold
    from kdedge.export import export_run

    run = copy_run(small_run, tmp_path_factory.mktemp("runs") / "centred")
    saved, kdedge.fold.OFFSET_RATIO = kdedge.fold.OFFSET_RATIO, 0.0
    try:
        export_run(run, quantize="all")
    finally:
        kdedge.fold.OFFSET_RATIO = saved
    return run


def import_blocker(*packages: str) -> str:
    """Python source that makes `import <package>` (and its submodules) fail: put it in a
    sitecustomize.py on PYTHONPATH, or run it first, to prove code runs without those packages."""
    return textwrap.dedent(f"""
        import sys

        class _Blocker:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {set(packages)!r}:
                    raise ModuleNotFoundError(f"{{name}} is blocked in this test", name=name)
                return None

        sys.meta_path.insert(0, _Blocker())
    """)


@pytest.fixture(scope="session")
def blocker():
    """`import_blocker` as a fixture, for test modules outside this folder."""
    return import_blocker

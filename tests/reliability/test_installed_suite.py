"""Issue 13, item 16: `python -m pytest` against a non-editable install. From the repository root
`python -m` puts the working directory first on sys.path, so the source folder kdedge/ (which has
no export/ or runtime/: the install maps them in) shadowed the installed package: 10+ collection
errors. The wheel is installed, offline, into a fresh venv that borrows this interpreter's
dependencies through a .pth file (path lines only: the editable install's finder is not run)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Fast tests that import kdedge.export / kdedge.runtime, start subprocesses or read the repo.
SUBSET = ["tests/test_packaging.py", "tests/runtime/test_no_torch.py", "tests/test_cli.py",
          "tests/test_contract.py", "tests/test_code_shape.py", "tests/runtime/test_interface.py"]


def _run(*args, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          env={**env, "OMP_NUM_THREADS": "1"}, timeout=900, **kwargs)


@pytest.fixture(scope="module")
def installed_python(tmp_path_factory) -> Path:
    """A venv's python with kdedge installed from a freshly built wheel (no editable finder)."""
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("needs the repository (builds the wheel from it)")
    tmp = tmp_path_factory.mktemp("installed")
    built = _run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                 tmp / "wheel", ROOT)
    assert built.returncode == 0, built.stderr[-2000:]
    assert _run(sys.executable, "-m", "venv", "--without-pip", tmp / "venv").returncode == 0
    python = tmp / "venv" / "bin" / "python"
    purelib = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
                   .stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "kdedge-test-dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")
    wheel = next((tmp / "wheel").glob("kdedge-*.whl"))
    installed = _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
                     "--no-index", "--quiet", wheel)
    assert installed.returncode == 0, installed.stderr[-2000:]
    where = _run(python, "-c", "import kdedge.export; print(kdedge.export.__file__)", cwd=tmp)
    assert where.stdout.startswith(str(purelib)), where.stdout + where.stderr
    return python


@pytest.mark.slow
def test_the_suite_collects_from_the_repository_root_against_the_wheel(installed_python):
    result = _run(installed_python, "-m", "pytest", "--collect-only", "-q", "-p",
                  "no:cacheprovider", cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "error" not in result.stdout.splitlines()[-1]


@pytest.mark.slow
def test_subprocess_and_packaging_tests_pass_against_the_wheel(installed_python):
    result = _run(installed_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUBSET,
                  cwd=ROOT)
    assert result.returncode == 0, result.stdout[-4000:]

"""The distribution installs `export/` and `runtime/` under the kdedge namespace, from a wheel too;
its metadata builds without deprecation warnings; the ARM image is pinned to this venv."""

import importlib.util
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(the wheel, what the build printed)."""
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                           str(out), str(ROOT)], check=True, capture_output=True, text=True)
    return next(out.glob("kdedge-*.whl")), proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def wheel(built):
    return built[0]


def test_wheel_holds_only_the_kdedge_namespace(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.startswith("kdedge-")}
    assert top == {"kdedge"}
    for module in ("kdedge/export/__init__.py", "kdedge/runtime/bench.py",
                   "kdedge/runtime/graph_cost.py", "kdedge/report/__init__.py", "kdedge/cli.py"):
        assert module in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "kdedge = kdedge.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_wheel_install_imports_stages_from_site_packages(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                    "--target", str(site), str(wheel)], check=True, capture_output=True)
    assert not (site / "export").exists() and not (site / "runtime").exists()
    code = ("import sys, kdedge.runtime.bench, kdedge.cli\n"
            "assert 'torch' not in sys.modules, 'the device side imported torch'\n"
            "import kdedge.export\n"
            "print(kdedge.export.__file__); print(kdedge.runtime.bench.__file__)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert all(line.startswith(str(site)) for line in result.stdout.split())


def test_editable_install_maps_the_card_folders():
    import kdedge
    import kdedge.export
    import kdedge.runtime

    if Path(kdedge.__file__).parent != ROOT / "kdedge":
        pytest.skip(f"kdedge is installed from a wheel ({kdedge.__file__}), not editable")
    assert Path(kdedge.export.__file__).parent == ROOT / "export"
    assert Path(kdedge.runtime.__file__).parent == ROOT / "runtime"


def test_license_is_an_spdx_expression_and_the_build_backend_reads_it():
    assert PYPROJECT["project"]["license"] == "MIT"  # a string, not the deprecated {text = ...}
    setuptools = next(Requirement(r) for r in PYPROJECT["build-system"]["requires"]
                      if Requirement(r).name == "setuptools")
    assert "77.0" in setuptools.specifier and "76.1" not in setuptools.specifier  # SPDX: >= 77


def test_wheel_metadata_has_the_license_expression_and_no_deprecation(built):
    wheel, printed = built
    metadata = next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith("/METADATA"))
    assert "License-Expression: MIT" in zipfile.ZipFile(wheel).read(metadata).decode()
    assert "deprecated" not in printed.lower(), printed[-3000:]


def test_editable_build_prints_no_deprecation(tmp_path):
    """What `pip install -e .` runs (the backend's build_editable hook), without pip or network."""
    code = "import sys; from setuptools import build_meta; build_meta.build_editable(sys.argv[1])"
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert list(tmp_path.glob("kdedge-*.editable-*.whl"))
    assert "deprecated" not in (proc.stdout + proc.stderr).lower(), proc.stderr[-3000:]


def _arm_constraints():
    spec = importlib.util.spec_from_file_location("arm_constraints", ROOT / "scripts" / "arm_constraints.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_arm_constraints_match_this_venv_and_the_images_python():
    assert _arm_constraints().problems() == []  # else: `make arm-constraints`


def test_arm_constraints_pin_every_runtime_dependency_within_pyproject():
    pins = dict(line.split("==") for line in (ROOT / "constraints-arm.txt").read_text().splitlines()
                if line and not line.startswith("#"))
    for requirement in map(Requirement, PYPROJECT["project"]["dependencies"]):
        assert requirement.name in pins, f"{requirement.name} not pinned"
        assert pins[requirement.name] in requirement.specifier
    assert "torch" not in pins and "scikit-learn" not in pins  # the device install only
    assert pins["setuptools"] in next(Requirement(r) for r in PYPROJECT["build-system"]["requires"]).specifier


def test_dockerfile_arm_installs_with_the_constraints_on_a_pinned_base():
    dockerfile = (ROOT / "Dockerfile.arm").read_text()
    assert re.search(r"^FROM --platform=linux/arm64 python:\d+\.\d+\.\d+-slim-bookworm\b", dockerfile,
                     re.MULTILINE)
    assert re.search(r"^COPY .*constraints-arm\.txt", dockerfile, re.MULTILINE)
    assert re.search(r"^RUN PIP_CONSTRAINT=/src/constraints-arm\.txt pip install \. ", dockerfile,
                     re.MULTILINE)

"""The distribution installs `export/` and `runtime/` under the kdedge namespace, from a wheel too."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                    str(out), str(ROOT)], check=True, capture_output=True)
    return next(out.glob("kdedge-*.whl"))


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

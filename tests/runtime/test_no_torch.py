"""The runtime runs where torch, sklearn and matplotlib cannot be imported (a device install)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from kdedge.contract import ONNX_DIR, BenchReport, bench_file, read_record

SCRIPT = textwrap.dedent("""
    import json, sys
    try:
        import torch  # noqa: F401
        blocked = False
    except ImportError:
        blocked = True
    from kdedge.runtime.bench import bench
    from kdedge.runtime.check import predict_folder
    path = bench(sys.argv[1], target="no-torch", batch_sizes=[1, 4], quick=True)
    outputs = predict_folder(sys.argv[1])
    from kdedge.cli import main  # the `kdedge bench` command itself, as a device would run it
    main(["bench", sys.argv[1], "--target", "no-torch-cli", "--quick", "--quiet"])
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in {"torch", "sklearn", "matplotlib"})
    print(json.dumps({"blocked": blocked, "path": str(path), "heavy": heavy,
                      "predicted": sorted(outputs)}))
""")


@pytest.mark.slow
def test_bench_runs_without_torch_sklearn_matplotlib(full_run, tmp_path, blocker):
    # the real run: the bench also reads run.json and metrics.json through the contract
    run_dir = shutil.copytree(full_run, tmp_path / "run")
    (tmp_path / "blocker").mkdir()
    (tmp_path / "blocker" / "sitecustomize.py").write_text(blocker("torch", "sklearn", "matplotlib"))
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "blocker"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(run_dir)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["blocked"] is True  # the blocker works, so the bench really ran without torch
    assert result["heavy"] == []
    assert result["predicted"] == sorted(p.name for p in (run_dir / ONNX_DIR).glob("*.onnx"))
    assert (run_dir / bench_file("no-torch-cli")).is_file()
    report = read_record(BenchReport, result["path"])
    assert report.errors == 0  # the worker subprocesses (same blocker) measured every model
    assert all(m.cold_start is not None and m.macs_match_metrics is not False for m in report.models.values())
    assert report.models["student.onnx"].macs_match_metrics is True  # metrics.json was read

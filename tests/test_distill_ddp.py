"""distill on two torchrun processes (gloo on the loopback interface): only rank 0 writes, the
run passes what a one-process run passes, and a killed rank fails the run cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kdedge import rundir
from kdedge.contract import (HISTORY_JSON, METRICS_JSON, MODELS_JSON, PREPROCESSING_JSON,
                             SEARCH_JSON, History, Metrics, ModelsFile, Preprocessing, Search,
                             read_record)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="finds the rank processes through /proc")
# tests stay on this machine: gloo on the loopback interface, one thread a process
ENV = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1", "PYTHONSAFEPATH": "1"}


def _table(rows: int, seed: int = 0) -> pd.DataFrame:
    """Binary data with 5 features, 2 of them informative."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 5))
    y = (X[:, 0] + 0.5 * X[:, 3] + 0.3 * rng.normal(size=rows) > 0.4).astype(int)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(5)]).assign(label=y)


def _distill(*flags: str, cwd: Path, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kdedge", "distill", "--nproc", "2",
                             "--target", "label", "--student", "fixed", *flags],
                            cwd=cwd, env=ENV, text=True, **popen)


def _every_file(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.parametrize("layout", ["csv in memory", "parquet folder streamed"])
def test_distill_two_processes_only_rank_zero_writes_a_valid_run(tmp_path, layout):
    data, work, runs = tmp_path / "data", tmp_path / "work", tmp_path / "runs"
    for folder in (data, work, runs):
        folder.mkdir()
    table = _table(1200)
    if layout == "csv in memory":
        source = data / "table.csv"
        table.to_csv(source, index=False)
    else:  # three files of uneven row groups: the two shards differ in length (DDP's Join)
        source = data / "parts"
        source.mkdir()
        for i, start in enumerate((0, 400, 800)):
            table.iloc[start:start + 400].to_parquet(source / f"part-{i}.parquet", row_group_size=90 + 40 * i, index=False)
    before = _every_file(data)
    out = runs / "ddp"
    process = _distill("--data", str(source), "--out", str(out), "--max_epochs", "3",
                       cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
    assert stdout.strip().splitlines() == [str(out)]  # the launcher says where; the ranks don't
    # rank 1 wrote nothing: no file besides the run, nothing in the working directory
    assert _every_file(work) == set() and _every_file(data) == before
    assert sorted(p.name for p in runs.iterdir()) == ["ddp"]
    manifest = rundir.read_manifest(out)
    rundir.verify_recorded(out, manifest.artifacts)  # every file recorded, sha256 as written
    reading = manifest.data_reading
    assert (reading.world_size, reading.backend) == (2, "gloo")
    assert reading.mode == ("memory" if layout == "csv in memory" else "streamed")
    metrics = read_record(Metrics, out / METRICS_JSON)
    for record, name in ((Preprocessing, PREPROCESSING_JSON), (ModelsFile, MODELS_JSON),
                         (History, HISTORY_JSON), (Search, SEARCH_JSON)):
        read_record(record, out / name)
    assert metrics.data.split.test == int(np.load(out / "split.npz")["y_test"].shape[0])
    assert metrics.teacher.accuracy > 0.8  # the two processes trained one useful teacher
    if layout != "csv in memory":  # (once: the export does not depend on how rows were read)
        from kdedge.export import export_run  # the parity-gated export one process passes

        export_run(out)
        assert (out / "onnx" / "student.onnx").is_file()


def _rank_process(launcher: int, rank: int) -> int | None:
    """The pid of torchrun rank `rank` among the descendants of `launcher`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            pid = int(entry.name)
        except OSError:
            continue
        if f"RANK={rank}".encode() in environ and b"KDEDGE_LAUNCHED=1" in environ \
                and _descends_from(pid, launcher):
            return pid
    return None


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            pid = int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return False
    return False


def test_distill_killed_rank_fails_cleanly_and_writes_nothing(tmp_path):
    source, runs = tmp_path / "table.csv", tmp_path / "runs"
    runs.mkdir()
    _table(2000).to_csv(source, index=False)
    log = tmp_path / "stderr.txt"
    out = runs / "ddp"
    with open(log, "w") as stderr:
        process = _distill("--data", str(source), "--out", str(out), "--max_epochs", "2000",
                           "--patience", "2000", cwd=tmp_path, stdout=subprocess.PIPE,
                           stderr=stderr)
        deadline = time.monotonic() + 120
        while "teacher        epoch" not in log.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
        victim = _rank_process(process.pid, rank=1)
        assert victim is not None, "rank 1 not found"
        os.kill(victim, signal.SIGKILL)  # mid-training: rank 0 is in a gradient all-reduce
        process.communicate(timeout=120)
    text = log.read_text()
    assert process.returncode == 2, text[-3000:]
    assert "distill on 2 processes failed" in text and f"nothing was written to {out}" in text
    assert not out.exists()
    assert sorted(p.name for p in runs.iterdir()) == []  # no staging folder, no lock file

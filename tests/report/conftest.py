"""Fixtures for the report tests: copies of the shared small distill run, fake export.json and
bench JSONs in the documented shapes (docs/export.md contract, runtime/bench.py output), and the
reports made from them once per session.
"""

from __future__ import annotations

import copy

import pytest
from report_fakes import copy_run, fake_bench, fake_export

from kdedge.rundir import write_json_atomic


@pytest.fixture(scope="session")
def plain_run(small_run, tmp_path_factory):
    """A distill-only run (no export, no bench) with its default (zh) report made."""
    from kdedge.report import make_report

    run = copy_run(small_run, tmp_path_factory.mktemp("report") / "plain")
    make_report(run, quiet=True)
    return run


@pytest.fixture(scope="session")
def full_run(small_run, tmp_path_factory):
    """A run with fake export.json, bench/x86.json, and an emulated arm64 bench passed with --bench."""
    from kdedge.artifacts import load_run
    from kdedge.report import make_report

    base = tmp_path_factory.mktemp("report")
    run = copy_run(small_run, base / "full")
    metrics = load_run(run).metrics
    write_json_atomic(run / "export.json", fake_export(metrics))
    write_json_atomic(run / "bench" / "x86.json", fake_bench(metrics, target="x86"))
    arm = write_json_atomic(base / "arm64.json",
                            fake_bench(metrics, target="arm64-emulated", emulated=True, int8_p50=30.0))
    make_report(run, bench_files=[arm], quiet=True)
    return run


@pytest.fixture(scope="session")
def wine_run(tmp_path_factory):
    """A 3-class run (wine) with an English report."""
    from kdedge.distill import distill
    from kdedge.report import make_report

    run = distill(data="wine", out=str(tmp_path_factory.mktemp("runs") / "wine"), max_epochs=5,
                  patience=3, quiet=True)
    make_report(run, lang="en", quiet=True)
    return run


@pytest.fixture()
def facts(small_run):
    """Facts of the shared run (metrics deep-copied, so a test may change them)."""
    from kdedge.report.collect import collect

    result = collect(small_run)
    result.run.metrics = copy.deepcopy(result.run.metrics)
    return result


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A run from a 20-row, 2-class CSV: the smallest distill accepts (split 12/4/4 rows).
    (The reviewer's 10-row CSV, a 2-row test split, is now refused by distill; the plot tests cut
    a split to 2 rows by hand.)"""
    import numpy as np

    from kdedge.distill import distill

    base = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    rows = ["a,b,c,label"] + [f"{a:.4f},{b:.4f},{c:.4f},{'xy'[i % 2]}"
                              for i, (a, b, c) in enumerate(rng.normal(size=(20, 3)))]
    (base / "tiny.csv").write_text("\n".join(rows) + "\n")
    return distill(data=str(base / "tiny.csv"), target="label", features=2, max_epochs=3,
                   out=str(base / "run"), quiet=True)

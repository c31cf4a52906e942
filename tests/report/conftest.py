"""Fixtures for the report tests, all on real artifacts: the shared session runs (`small_run`,
distill only; `full_run`, exported and benched by the real stages), a second bench JSON made from
the real one, and the reports made from them once per session.

The full report is made in a subprocess where `import torch` fails, so every test that reads it
also shows the report needs no torch.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from kdedge.contract import BenchReport, bench_file, read_record, write_record

X86_BENCH = bench_file("x86-test")  # what the session's `full_run` fixture benched
ARM = "arm64-emulated"  # target of the second bench, "measured" on an emulated machine

REPORT_WITHOUT_TORCH = textwrap.dedent("""
    import json, sys
    try:
        import torch  # noqa: F401
        blocked = False
    except ImportError:
        blocked = True
    from kdedge.report import make_report
    make_report(sys.argv[1], bench_files=sys.argv[2:])
    torch_modules = sorted(m for m in sys.modules if m.split(".")[0] == "torch")
    print(json.dumps({"blocked": blocked, "torch_modules": torch_modules}))
""")


# A number: optional sign (only after a space, bracket or line start), thousands, decimals, percent.
NUMBER = re.compile(r"(?:(?<=[\s(（|：，])[-+])?\d+(?:,\d{3})*(?:\.\d+)?%?")


def _numbers(markdown: str) -> list[str]:
    lines = [line for line in markdown.splitlines() if "生成时间" not in line and "Generated" not in line]
    return NUMBER.findall("\n".join(lines))


@pytest.fixture()
def numbers():
    """`numbers(markdown)`: every number of a rendered report (the generation time left out), to
    check that the zh and en reports carry the same ones."""
    return _numbers


def copy_run(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _cut_split(facts, rows: int) -> None:
    stored = facts.run.predictions()
    split = dict(facts.run.split)
    for part in ("test", "val"):
        split[f"X_{part}"], split[f"y_{part}"] = split[f"X_{part}"][:rows], split[f"y_{part}"][:rows]
    facts.run.split = split
    facts.run.predictions = lambda: {name: proba[:rows] for name, proba in stored.items()}


@pytest.fixture()
def cut_split():
    """`cut_split(facts, rows)`: cut the test and validation splits of `facts` (and the stored
    test predictions) to their first `rows` rows, as in a tiny run."""
    return _cut_split


def _other_bench(src: Path, dst: Path, *, target: str, emulated: bool = True,
                      scale: float = 1.0) -> Path:
    """A second bench JSON made from a real one through its record: another target, emulated,
    every timing multiplied by `scale` (what a slower device would measure)."""
    record = read_record(BenchReport, src)
    record.target = target
    record.machine.emulated = emulated
    record.machine.arch = "aarch64"
    for model in record.models.values():
        for stats in model.latency.values():
            for name in ("p50_us", "p90_us", "p95_us", "p99_us", "mean_us", "min_us", "max_us"):
                setattr(stats, name, getattr(stats, name) * scale)
    write_record(dst, record)
    return dst


@pytest.fixture(scope="session")
def x86_bench(full_run) -> Path:
    """The real bench JSON of `full_run` (do not modify)."""
    return full_run / X86_BENCH


@pytest.fixture()
def make_bench(full_run):
    """`make_bench(dst, target=..., emulated=False, scale=1.0)`: the real bench JSON of
    `full_run` written to `dst` as if measured on another machine."""
    def make(dst: Path, *, target: str, emulated: bool = False, scale: float = 1.0) -> Path:
        return _other_bench(full_run / X86_BENCH, dst, target=target, emulated=emulated, scale=scale)
    return make


@pytest.fixture(scope="session")
def arm_bench(full_run, tmp_path_factory) -> Path:
    """The real bench JSON of `full_run` as if measured again on an emulated arm64 (2× slower)."""
    dst = tmp_path_factory.mktemp("arm") / f"{ARM}.json"
    return _other_bench(full_run / X86_BENCH, dst, target=ARM, scale=2.0)


@pytest.fixture(scope="session")
def no_torch_report(full_run, arm_bench, tmp_path_factory, blocker) -> dict:
    """A copy of `full_run` reported (zh, with `--bench` the arm64 JSON) in a subprocess where
    torch cannot be imported: {"run": path, "blocked": bool, "torch_modules": [...]}."""
    base = tmp_path_factory.mktemp("report")
    run = copy_run(full_run, base / "full")
    (base / "blocker").mkdir()
    (base / "blocker" / "sitecustomize.py").write_text(blocker("torch"))
    env = dict(os.environ, PYTHONPATH=str(base / "blocker"), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", REPORT_WITHOUT_TORCH, str(run), str(arm_bench)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]), run=run)


@pytest.fixture(scope="session")
def full_report(no_torch_report) -> Path:
    """An exported and benched run with its (zh) report: RUN/bench/x86-test.json + the arm64 one."""
    return no_torch_report["run"]


@pytest.fixture(scope="session")
def gbdt_run(searched_run, tmp_path_factory) -> Path:
    """`searched_run` (a GBDT teacher, the size search) exported (fp32 graphs and the baselines)
    and benched (quick, batch 1 only) by the real stages: the tree teacher through every stage."""
    from kdedge.export import export_run
    from kdedge.runtime.bench import bench

    run = copy_run(searched_run, tmp_path_factory.mktemp("runs") / "gbdt")
    export_run(run)
    bench(run, target="x86-test", batch_sizes=(1,), quick=True)
    return run


@pytest.fixture(scope="session")
def gbdt_reports(gbdt_run, tmp_path_factory) -> dict[str, str]:
    """The report of `gbdt_run` made in both languages: {"zh": report.md, "en": report.md}
    (each made on its own copy of the run)."""
    from kdedge.report import make_report

    base, texts = tmp_path_factory.mktemp("gbdt-report"), {}
    for lang in ("zh", "en"):  # paths without digits of their own: the reports quote them
        run = copy_run(gbdt_run, base / lang / "run")
        texts[lang] = make_report(run, lang=lang).read_text(encoding="utf-8")
    return texts


@pytest.fixture()
def gbdt_facts(gbdt_run):
    """Facts of the exported and benched GBDT-teacher run (fresh records on every call)."""
    return _facts(gbdt_run)


@pytest.fixture()
def searched_facts(searched_run):
    """Facts of the GBDT-teacher run with the size search (distill only)."""
    return _facts(searched_run)


@pytest.fixture(scope="session")
def plain_report(small_run, tmp_path_factory) -> Path:
    """A distill-only run (no export, no bench) with its default (zh) report made."""
    from kdedge.report import make_report

    run = copy_run(small_run, tmp_path_factory.mktemp("report") / "plain")
    make_report(run)
    return run


@pytest.fixture(scope="session")
def wine_report(tmp_path_factory) -> Path:
    """A 3-class run (wine), exported (fp32: the decision boundaries need the graphs), with an
    English report."""
    from kdedge.distill import distill
    from kdedge.export import export_run
    from kdedge.report import make_report

    run = distill(data="wine", out=str(tmp_path_factory.mktemp("runs") / "wine"), max_epochs=5,
                  patience=3)
    export_run(run)
    make_report(run, lang="en")
    return run


def _facts(run: Path, bench_files=()):
    """Facts of a session run with the metrics deep-copied, so a test may change them."""
    from kdedge.report.collect import collect

    facts = collect(run, bench_files=bench_files)
    facts.run.metrics = copy.deepcopy(facts.run.metrics)
    return facts


@pytest.fixture()
def facts(small_run):
    """Facts of the distill-only session run."""
    return _facts(small_run)


@pytest.fixture()
def full_facts(full_run, arm_bench):
    """Facts of the exported and benched session run plus the emulated arm64 bench (fresh records
    on every call: a test may change them)."""
    return _facts(full_run, [arm_bench])


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A run from a 20-row, 2-class CSV: the smallest distill accepts (split 12/4/4 rows)."""
    from kdedge.distill import distill

    base = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    rows = ["a,b,c,label"] + [f"{a:.4f},{b:.4f},{c:.4f},{'xy'[i % 2]}"
                              for i, (a, b, c) in enumerate(rng.normal(size=(20, 3)))]
    (base / "tiny.csv").write_text("\n".join(rows) + "\n")
    return distill(data=str(base / "tiny.csv"), target="label", features=2, max_epochs=3,
                   out=str(base / "run"))


@pytest.fixture(scope="session")
def random_run(tmp_path_factory) -> Path:
    """A run on 600 rows of noise with random 0/1 labels: a teacher that can learn nothing."""
    from kdedge.distill import distill

    base = tmp_path_factory.mktemp("random")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(600, 5)), rng.integers(0, 2, size=600)
    rows = ["a,b,c,d,e,label"] + [",".join(f"{v:.4f}" for v in x) + f",{label}"
                                  for x, label in zip(X, y)]
    (base / "random.csv").write_text("\n".join(rows) + "\n")
    return distill(data=str(base / "random.csv"), target="label", max_epochs=5,
                   out=str(base / "run"))


# A CSV whose features and classes are named in Chinese, with one constant column: the names
# reach every plot, and distill drops the column when it reads the data.
CJK_FEATURES = ("温度", "湿度", "压力", "转速")
CJK_CONSTANT = "常数列"
CJK_CLASSES = ("正常", "故障")


@pytest.fixture(scope="session")
def cjk_run(tmp_path_factory) -> Path:
    """A run (distill only, 3 epochs; a few seconds) on 80 rows of a CSV with Chinese feature,
    class and target names and the constant column `常数列`."""
    import warnings

    from kdedge.distill import distill

    base = tmp_path_factory.mktemp("cjk")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, len(CJK_FEATURES)))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    header = ",".join(CJK_FEATURES + (CJK_CONSTANT, "状态"))
    rows = [header] + [",".join(f"{v:.4f}" for v in x) + f",7,{CJK_CLASSES[label]}"
                       for x, label in zip(X, y)]
    (base / "cjk.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with warnings.catch_warnings():  # distill warns that it drops the constant column
        warnings.simplefilter("ignore", UserWarning)
        return distill(data=str(base / "cjk.csv"), target="状态", features=2, max_epochs=3,
                       out=str(base / "run"))


def _load(one_minute: float, cores: int = 2):
    from kdedge.contract import LoadReading

    return LoadReading(load_average=[one_minute, one_minute - 0.5, one_minute - 1.0],
                       steal_percent=4.0, cores=cores)


@pytest.fixture()
def edited_bench(full_run):
    """`edited_bench(dst, overloaded=..., quick=...)`: the real bench JSON of `full_run`,
    written through its record to `dst` as measured on an overloaded machine (load averages
    6.20 at the start and 5.10 at the end, on 2 usable cores, 4% CPU steal) and/or with or
    without --quick; the target is `dst`'s stem."""
    def edit(dst: Path, *, overloaded: bool = False, quick: bool = True) -> Path:
        record = read_record(BenchReport, full_run / X86_BENCH)
        record.target = dst.stem
        record.settings.quick = quick
        record.overloaded = overloaded
        if overloaded:
            record.load_start, record.load_end = _load(6.2), _load(5.1)
        write_record(dst, record)
        return dst
    return edit


@pytest.fixture(scope="session")
def cjk_report(cjk_run, tmp_path_factory) -> Path:
    """A copy of `cjk_run` with its default (zh) report made."""
    from kdedge.report import make_report

    run = copy_run(cjk_run, tmp_path_factory.mktemp("report") / "cjk")
    make_report(run)
    return run

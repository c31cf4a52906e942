"""Issue 13, items 14 and 15: names from the user's data reach plots and report.md. A column
named `x_$^$` crashed the report in matplotlib's mathtext after three finished stages;
report.md embedded `<script>` column and class names raw (the HTML report already escaped them).
And a damaged split.npz whose sha256 still matches is a KdedgeError, not a zip traceback."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from reliability_kit import QUICK, tiny_csv

from kdedge import contract
from kdedge.artifacts import load_run
from kdedge.contract import Manifest, read_record, write_record
from kdedge.distill import distill
from kdedge.report import make_report
from kdedge.report.render import Bullets, Heading, Image, Note, Para, Table, render_markdown
from kdedge.rundir import KdedgeError, sha256_file

SCRIPT = "<script>alert(1)</script>"
CLASS = "<b>yes</b>"


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    data = tiny_csv(tmp / "names.csv", rows=80, columns=("x_$^$", SCRIPT, "$\\alpha$", "plain"),
                    classes=("no", CLASS))
    run = distill(data=str(data), target="label", features=2, out=str(tmp / "run"), **QUICK)
    make_report(run, lang="en")
    return run


@pytest.mark.slow
def test_math_and_markup_in_names_do_not_break_the_report(hostile_report):
    assert read_record(Manifest, hostile_report / contract.RUN_JSON).stages["report"]["plots"] >= 8
    markdown = (hostile_report / contract.REPORT_MD).read_text(encoding="utf-8")
    page = (hostile_report / contract.REPORT_HTML).read_text(encoding="utf-8")
    for text in (markdown, page):
        assert "<script" not in text and "<b>" not in text
    assert "&lt;b>yes&lt;/b>" in markdown  # escaped, still readable


def test_render_markdown_escapes_markup_in_every_block():
    blocks = [Heading(f"class {CLASS}"), Para(f"column {SCRIPT}, selected `{SCRIPT}` and `a_b`"),
              Bullets([SCRIPT]), Note(SCRIPT), Table([SCRIPT], [[CLASS]], title=CLASS),
              Image("tsne", f"caption {SCRIPT}")]
    markdown = render_markdown(blocks)
    assert re.findall(r"<[a-z]", markdown) == ["<c"]  # only our own <code> around markup
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in markdown
    assert "`a_b`" in markdown  # a plain name stays a Markdown code span


def test_damaged_split_with_a_matching_sha256_is_a_kdedge_error(small_run, tmp_path):
    """Already held (kdedge.artifacts wraps numpy's errors): kept here as the issue's check."""
    run = Path(shutil.copytree(small_run, tmp_path / "run"))
    (run / contract.SPLIT_NPZ).write_bytes(b"PK\x03\x04 not a zip archive")
    manifest = read_record(Manifest, run / contract.RUN_JSON)
    manifest.artifacts[contract.SPLIT_NPZ] = sha256_file(run / contract.SPLIT_NPZ)
    write_record(run / contract.RUN_JSON, manifest)
    with pytest.raises(KdedgeError, match=r"split.npz cannot be read \(BadZipFile.*re-run"):
        load_run(run)

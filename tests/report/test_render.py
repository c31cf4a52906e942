"""Tests of kdedge/report/render.py: Markdown links and the self-contained HTML page."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kdedge.report.render import (Bullets, Heading, Image, Note, Para, Table, image_path, render_html,
                                  render_markdown)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_image_path_forward_slash_relative():
    assert image_path("tsne") == "plots/tsne.png"


def test_render_markdown_escapes_table_cells():
    text = render_markdown([Heading("T", 1), Table(["a", "b"], [["x|y", "1"]]), Para("`cmd`")])
    assert "| x\\|y | 1 |" in text and "`cmd`" in text


def test_render_html_escapes_and_embeds():
    page = render_html([Para("<b> & `kdedge bench RUN`"), Image("p", "cap")], title="t",
                       images={"p": PNG_MAGIC + b"rest"}, lang="en")
    assert "&lt;b&gt; &amp; <code>kdedge bench RUN</code>" in page
    assert 'src="data:image/png;base64,' in page


def test_render_html_lang_tag_from_text_table():
    assert '<html lang="zh-CN">' in render_html([], title="t", images={}, lang="zh")
    assert '<html lang="en">' in render_html([], title="t", images={}, lang="en")


class _Chart:  # a block type neither renderer knows
    pass


@pytest.mark.parametrize("render", [render_markdown,
                                    lambda blocks: render_html(blocks, title="t", images={}, lang="en")],
                         ids=["markdown", "html"])
def test_render_unknown_block_raises(render):
    known = [Heading("T", 1), Para("p"), Bullets(["a"]), Note("n"), Table(["h"], [["c"]])]
    assert render(known)  # every known block renders
    with pytest.raises(TypeError, match="unknown block"):
        render(known + [_Chart()])


def _report_images(run: Path) -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (run / "report.md").read_text(encoding="utf-8"))


@pytest.mark.parametrize("fixture, plots", [("plain_report", 11), ("full_report", 16)])
def test_render_markdown_image_links_resolve(fixture, plots, request):
    run = request.getfixturevalue(fixture)
    links = _report_images(run)
    assert len(links) == plots
    for link in links:
        assert "\\" not in link and not link.startswith("/") and link.startswith("plots/")
        assert (run / link).is_file()


@pytest.mark.parametrize("fixture", ["plain_report", "full_report"])
def test_render_html_self_contained(fixture, request):
    run = request.getfixturevalue(fixture)
    page = (run / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<script" not in page and "<link" not in page and "@import" not in page and "url(" not in page
    sources = re.findall(r"<img [^>]*src=\"([^\"]+)\"", page)
    assert len(sources) == len(_report_images(run))
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_MAGIC)


def _chromium() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)


def test_render_html_displays_in_chromium(full_report, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium not found on PATH (CI installs it with `apt-get install -y chromium`)")
    shot = tmp_path / "report.png"
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1200,2000",
           (full_report / "report.html").resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert shot.is_file(), f"no screenshot; chromium said: {proc.stderr[-1000:]}"
    import matplotlib.image as mpimg
    import numpy as np

    pixels = mpimg.imread(shot)
    assert pixels.shape[:2] == (2000, 1200)
    assert np.std(pixels[..., :3]) > 0.05  # a rendered page, not a blank one

"""Render the report's blocks as Markdown (images linked) and as self-contained HTML (embedded).

The document is a flat list of blocks built once (`kdedge.report.sections`); both renderers walk
the same list, so report.md and report.html always say the same thing. The HTML needs nothing
outside the file: inline CSS, images as base64 `data:` URIs, no scripts, fonts or links.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass

from kdedge.contract import PLOTS_DIR
from kdedge.report.text import tr


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Para:
    text: str  # may contain `code` spans


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Note:
    text: str  # a callout: a missing stage, an emulation warning


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    title: str | None = None


@dataclass
class Image:
    name: str  # plot name without .png; the file is plots/<name>.png
    caption: str


def image_path(name: str) -> str:
    """Relative, forward-slash path of a plot as seen from report.md / report.html."""
    return f"{PLOTS_DIR}/{name}.png"


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _markdown_block(block) -> list[str]:
    if isinstance(block, Heading):
        return ["#" * block.level + " " + block.text, ""]
    if isinstance(block, Para):
        return [block.text, ""]
    if isinstance(block, Bullets):
        return [f"- {item}" for item in block.items] + [""]
    if isinstance(block, Note):
        return [f"> {block.text}", ""]
    if isinstance(block, Table):
        title = [f"**{block.title}**", ""] if block.title else []
        return title + ["| " + " | ".join(_md_cell(h) for h in block.headers) + " |",
                        "|" + "|".join("---" for _ in block.headers) + "|"] + [
            "| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows] + [""]
    if isinstance(block, Image):
        return [f"![{block.caption}]({image_path(block.name)})", "", f"*{block.caption}*", ""]
    raise TypeError(f"unknown block {block!r}")


def render_markdown(blocks: list) -> str:
    """Markdown with pipe tables and images linked as plots/<name>.png."""
    lines = [line for block in blocks for line in _markdown_block(block)]
    return "\n".join(lines).rstrip() + "\n"


_CSS = """
body{font-family:-apple-system,"Segoe UI","Noto Sans CJK SC","Noto Sans SC","PingFang SC",
"Microsoft YaHei",Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1f2328;
line-height:1.5}
h1{border-bottom:2px solid #d0d7de;padding-bottom:.3em}h2{border-bottom:1px solid #d0d7de;
padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.92em}
th,td{border:1px solid #d0d7de;padding:4px 9px;text-align:left;vertical-align:top}
th{background:#f6f8fa}tr:nth-child(even) td{background:#fbfcfd}
td{font-variant-numeric:tabular-nums}
.note{border-left:4px solid #d4a72c;background:#fff8e5;padding:.5em 1em;margin:1em 0}
figure{margin:1em 0 1.6em}figure img{max-width:100%;height:auto;border:1px solid #eaeef2}
figcaption{color:#57606a;font-size:.9em}
code{background:#f6f8fa;padding:1px 4px;border-radius:3px;font-size:.92em}
.tt{font-weight:600;margin-top:1em}
"""


def _inline(text: str) -> str:
    """Escape HTML, then turn `code` spans into <code>."""
    parts = str(text).split("`")
    out = []
    for i, part in enumerate(parts):
        escaped = html.escape(part)
        out.append(f"<code>{escaped}</code>" if i % 2 == 1 and i < len(parts) - 1 else escaped)
    return "".join(out)


def _html_block(block, images: dict[str, bytes]) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{_inline(block.text)}</h{block.level}>"
    if isinstance(block, Para):
        return f"<p>{_inline(block.text)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Note):
        return f'<div class="note">{_inline(block.text)}</div>'
    if isinstance(block, Table):
        title = f'<div class="tt">{_inline(block.title)}</div>\n' if block.title else ""
        head = "".join(f"<th>{_inline(h)}</th>" for h in block.headers)
        rows = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>"
                       for row in block.rows)
        return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    if isinstance(block, Image):
        data = base64.b64encode(images[block.name]).decode("ascii")
        return (f'<figure><img alt="{html.escape(block.caption)}" '
                f'src="data:image/png;base64,{data}"><figcaption>'
                f"{_inline(block.caption)}</figcaption></figure>")
    raise TypeError(f"unknown block {block!r}")


def render_html(blocks: list, *, title: str, images: dict[str, bytes], lang: str) -> str:
    """One self-contained HTML page; `images` maps plot name → PNG bytes (embedded as data URIs)."""
    body = "\n".join(_html_block(block, images) for block in blocks)
    return (f'<!DOCTYPE html>\n<html lang="{tr(lang, "html_lang")}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            + body + "\n</body>\n</html>\n")

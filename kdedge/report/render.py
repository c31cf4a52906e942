"""Render the report's blocks as Markdown (images linked) and as self-contained HTML (embedded).

The document is a flat list of blocks built once (`kdedge.report.sections`); both renderers walk
the same list, so report.md and report.html always say the same thing. The HTML needs nothing
outside the file: inline CSS, images as base64 `data:` URIs, no scripts, fonts or links.
"""

from __future__ import annotations

import base64
import html
import re
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


def _spans(text: str) -> list[tuple[bool, str]]:
    """(is_code, piece) of `text`: `code` spans between pairs of backticks; an unpaired backtick
    stays in the text."""
    parts = str(text).split("`")
    pieces = [(i % 2 == 1, part) for i, part in enumerate(parts)]
    if len(parts) % 2 == 0:
        pieces[-1] = (False, "`" + parts[-1])
    return pieces


# Where CommonMark would start raw HTML or an autolink: `<` before a letter, `/`, `!` or `?`.
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def _md_text(text: str) -> str:
    """Markdown of text that may carry names from the user's data (columns, classes, targets):
    no `<` that could open a tag (`<script>` is written `&lt;script>`); a code span holding one
    becomes an HTML <code> element with its text escaped, since inside backticks an entity would
    show as typed. `p < 0.0001` and plain code spans stay as they are."""
    pieces = []
    for code, piece in _spans(text):
        if not code:
            pieces.append(_TAG_START.sub("&lt;", piece))
        elif _TAG_START.search(piece):
            pieces.append(f"<code>{html.escape(piece, quote=False)}</code>")
        else:
            pieces.append(f"`{piece}`")
    return "".join(pieces)


def _md_cell(text: str) -> str:
    return _md_text(text).replace("|", "\\|").replace("\n", " ")


def _markdown_block(block) -> list[str]:
    if isinstance(block, Heading):
        return ["#" * block.level + " " + _md_text(block.text), ""]
    if isinstance(block, Para):
        return [_md_text(block.text), ""]
    if isinstance(block, Bullets):
        return [f"- {_md_text(item)}" for item in block.items] + [""]
    if isinstance(block, Note):
        return [f"> {_md_text(block.text)}", ""]
    if isinstance(block, Table):
        title = [f"**{_md_text(block.title)}**", ""] if block.title else []
        return title + ["| " + " | ".join(_md_cell(h) for h in block.headers) + " |",
                        "|" + "|".join("---" for _ in block.headers) + "|"] + [
            "| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows] + [""]
    if isinstance(block, Image):
        caption = _md_text(block.caption)
        alt = caption.replace("[", "\\[").replace("]", "\\]")
        return [f"![{alt}]({image_path(block.name)})", "", f"*{caption}*", ""]
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
    return "".join(f"<code>{html.escape(piece)}</code>" if code else html.escape(piece)
                   for code, piece in _spans(text))


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

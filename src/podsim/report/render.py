"""Render sections to Markdown and to one self-contained HTML page (inline CSS, PNGs as base64)."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from podsim.report.section import Figure, Note, Section, Table, Text

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #444; padding-bottom: .2em; }
h2 { border-bottom: 1px solid #bbb; padding-bottom: .15em; margin-top: 2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; vertical-align: top; }
th { background: #f0f0f0; }
td.n { text-align: right; white-space: nowrap; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: .3em 0; }
.note { color: #555; background: #f7f7f7; border-left: 3px solid #bbb; padding: .4em .8em; }
.unavailable { border-left-color: #d90; }
.error { border-left-color: #c00; }
figure { margin: 1em 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: .85em; color: #555; }
code { background: #f2f2f2; padding: 0 .2em; }
ul.toc { columns: 2; }
"""

_CODE = re.compile(r"`([^`]+)`")


def _inline_html(text: str) -> str:
    return _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", html.escape(text, quote=False))


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _anchor(key: str) -> str:
    return "sec-" + re.sub(r"[^a-z0-9]+", "-", key.lower())


# ----------------------------------------------------------------------------- Markdown


def block_markdown(b) -> str:
    if isinstance(b, Text):
        return b.text
    if isinstance(b, Note):
        return "> " + b.text.replace("\n", "\n> ")
    if isinstance(b, Table):
        out = []
        if b.caption:
            out.append(f"**{b.caption}**\n")
        out.append("| " + " | ".join(_md_cell(c) for c in b.columns) + " |")
        out.append(
            "|" + "|".join(":---" if i in b.left else "---:" for i in range(len(b.columns))) + "|"
        )
        for r in b.rows:
            out.append("| " + " | ".join(_md_cell(c) for c in r) + " |")
        return "\n".join(out)
    if isinstance(b, Figure):
        return f"![{b.caption}]({b.path})\n\n*{b.caption}*"
    raise TypeError(f"unknown report block {type(b).__name__}")


def section_markdown(s: Section) -> str:
    parts = [f"## {s.title}"]
    parts += [block_markdown(b) for b in s.blocks]
    return "\n\n".join(parts)


def markdown(title: str, preface: list[str], sections: list[Section]) -> str:
    parts = [f"# {title}", *preface, "## Contents"]
    parts.append("\n".join(f"- {s.title}: {s.summary}" for s in sections))
    parts += [section_markdown(s) for s in sections]
    return "\n\n".join(parts) + "\n"


# ----------------------------------------------------------------------------- HTML


def _img_src(fig: Figure, root: Path, embed: bool) -> str:
    if not embed:
        return html.escape(fig.path)
    data = base64.b64encode((root / fig.path).read_bytes()).decode("ascii")
    return f"data:image/png;base64,{data}"


def block_html(b, root: Path, embed: bool, status: str = "ok") -> str:
    if isinstance(b, Text):
        return f"<p>{_inline_html(b.text)}</p>"
    if isinstance(b, Note):
        cls = "note" if status == "ok" else f"note {status}"
        return f'<p class="{cls}">{_inline_html(b.text)}</p>'
    if isinstance(b, Table):
        out = ["<table>"]
        if b.caption:
            out.append(f"<caption>{_inline_html(b.caption)}</caption>")
        out.append("<tr>" + "".join(f"<th>{_inline_html(c)}</th>" for c in b.columns) + "</tr>")
        for r in b.rows:
            cells = []
            for i, c in enumerate(r):
                cls = "" if i in b.left else ' class="n"'
                cells.append(f"<td{cls}>{_inline_html(str(c))}</td>")
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</table>")
        return "\n".join(out)
    if isinstance(b, Figure):
        return (
            f'<figure><img src="{_img_src(b, root, embed)}" alt="{html.escape(b.caption)}">'
            f"<figcaption>{_inline_html(b.caption)}</figcaption></figure>"
        )
    raise TypeError(f"unknown report block {type(b).__name__}")


def page_html(
    title: str, preface: list[str], sections: list[Section], root: Path, *, embed: bool = True
) -> str:
    body = [f"<h1>{html.escape(title)}</h1>"]
    body += [f"<p>{_inline_html(p)}</p>" for p in preface]
    body.append('<h2>Contents</h2><ul class="toc">')
    body += [
        f'<li><a href="#{_anchor(s.key)}">{html.escape(s.title)}</a>: '
        f"{_inline_html(s.summary)}</li>"
        for s in sections
    ]
    body.append("</ul>")
    for s in sections:
        body.append(f'<h2 id="{_anchor(s.key)}">{html.escape(s.title)}</h2>')
        body += [block_html(b, root, embed, s.status) for b in s.blocks]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )

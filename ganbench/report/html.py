"""HTML rendering: one self-contained page (inline CSS, images embedded as base64 data URIs, no scripts)."""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from .document import Figure, Report, Table

def escape(text: str) -> str:
    """HTML-escaped text; `code` spans become <code>."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(str(text)))


CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.85em; }
th, td { border-bottom: 1px solid #ccc; padding: 0.25em 0.6em; vertical-align: top; }
th { border-bottom: 2px solid #444; background: #f4f4f4; }
td.r, th.r { text-align: right; } td.l, th.l { text-align: left; }
figure { margin: 1.2em 0 2em 0; }
figcaption { font-size: 0.85em; color: #444; max-width: 1100px; }
ul.notes { font-size: 0.8em; color: #555; max-width: 1100px; }
div.scroll { overflow-x: auto; }
.gallery figure { display: inline-block; width: 30%; vertical-align: top; margin: 0.5em; }
.gallery img { width: 100%; image-rendering: pixelated; }
img.plot { max-width: 800px; width: 100%; }
"""


def _img(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def table(t: Table, number: int) -> str:
    al = t.alignment()
    head = "".join(f'<th class="{al[j]}">{escape(c)}</th>' for j, c in enumerate(t.columns))
    body = []
    for i, row in enumerate(t.rows):
        cells = "".join(f'<td class="{al[j]}">' + (f"<strong>{escape(c)}</strong>" if (i, j) in t.bold else escape(c))
                        + "</td>" for j, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    notes = ("<ul class=\"notes\">" + "".join(f"<li>{escape(n)}</li>" for n in t.notes) + "</ul>") if t.notes else ""
    return (f'<figure id="tab-{html.escape(t.key)}"><figcaption><strong>Table {number}: {escape(t.title)}.</strong> '
            f'{escape(t.caption)}</figcaption><div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>'
            + "".join(body) + f"</tbody></table></div>{notes}</figure>")


def figure(f: Figure, number: int) -> str:
    cls = "" if f.width < 0.5 else ' class="plot"'
    return (f'<figure id="fig-{html.escape(f.key)}"><img{cls} src="{_img(f.path)}" alt="{html.escape(f.title)}">'
            f"<figcaption><strong>Figure {number}: {escape(f.title)}.</strong> {escape(f.caption)}</figcaption>"
            "</figure>")


def render(report: Report, out_dir: Path) -> str:
    parts = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{escape(report.title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{escape(report.title)}</h1>"]
    parts += [f"<p>{escape(p)}</p>" for p in report.intro]
    parts.append("<nav><ul>" + "".join(f'<li><a href="#sec-{i}">{escape(s.title)}</a></li>'
                                      for i, s in enumerate(report.sections)) + "</ul></nav>")
    n_tab = n_fig = 0
    for i, s in enumerate(report.sections):
        parts.append(f'<section id="sec-{i}"><h2>{escape(s.title)}</h2>')
        parts += [f"<p>{escape(p)}</p>" for p in s.text]
        for t in s.tables:
            n_tab += 1
            parts.append(table(t, n_tab))
        if s.figures:
            small = all(f.width < 0.5 for f in s.figures)
            parts.append('<div class="gallery">' if small else "<div>")
            for f in s.figures:
                n_fig += 1
                parts.append(figure(f, n_fig))
            parts.append("</div>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"

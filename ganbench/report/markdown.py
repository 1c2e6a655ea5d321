"""Markdown rendering (GitHub-flavoured pipe tables; figures referenced by relative path)."""
from __future__ import annotations

from pathlib import Path

from .document import Report, Table


def _cell(text: str, bold: bool) -> str:
    text = str(text).replace("|", "\\|").replace("\n", " ")
    return f"**{text}**" if bold and text else text


def table(t: Table, number: int) -> list[str]:
    align = {"l": ":--", "r": "--:", "c": ":-:"}
    out = [f"### Table {number}: {t.title}", "",
           "| " + " | ".join(_cell(c, False) for c in t.columns) + " |",
           "|" + "|".join(align[a] for a in t.alignment()) + "|"]
    for i, row in enumerate(t.rows):
        out.append("| " + " | ".join(_cell(c, (i, j) in t.bold) for j, c in enumerate(row)) + " |")
    out += ["", f"*Table {number}.* {t.caption}", ""]
    if t.notes:
        out += [f"- {n}" for n in t.notes] + [""]
    return out


def render(report: Report, out_dir: Path) -> str:
    lines = [f"# {report.title}", ""]
    for p in report.intro:
        lines += [p, ""]
    n_tab = n_fig = 0
    for s in report.sections:
        lines += [f"## {s.title}", ""]
        for p in s.text:
            lines += [p, ""]
        for t in s.tables:
            n_tab += 1
            lines += table(t, n_tab)
        for f in s.figures:
            n_fig += 1
            rel = f.path.relative_to(out_dir).as_posix()
            lines += [f"![{f.title}]({rel})", "", f"*Figure {n_fig}.* {f.caption}", ""]
    return "\n".join(lines).rstrip() + "\n"

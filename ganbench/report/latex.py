"""LaTeX rendering: one standalone article (booktabs tables, graphicx figures with paths relative to the report
folder). Compile with ``pdflatex report.tex`` inside the report folder."""
from __future__ import annotations

import re
from pathlib import Path

from .document import Figure, Report, Table

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_UNICODE = {"±": r"$\pm$", "×": r"$\times$", "↓": r"$\downarrow$", "↑": r"$\uparrow$", "†": r"\dag{}",
            "‡": r"\ddag{}", "≤": r"$\le$", "≥": r"$\ge$", "Δ": r"$\Delta$", "–": "--", "—": "---",
            "→": r"$\rightarrow$", "…": r"\ldots{}", "’": "'"}


def escape(text: str) -> str:
    """LaTeX-safe text; `code` spans become \texttt."""
    out = "".join(_SPECIAL.get(c) or _UNICODE.get(c) or c for c in str(text))
    return re.sub(r"`([^`]*)`", r"\\texttt{\1}", out)


def table(t: Table) -> list[str]:
    wide = len(t.columns) > 6
    body = [r"\begin{tabular}{" + t.alignment() + "}", r"\toprule",
            " & ".join(escape(c) for c in t.columns) + r" \\", r"\midrule"]
    for i, row in enumerate(t.rows):
        cells = [(r"\textbf{" + escape(c) + "}") if (i, j) in t.bold else escape(c) for j, c in enumerate(row)]
        body.append(" & ".join(cells) + r" \\")
    body += [r"\bottomrule", r"\end{tabular}"]
    if wide:
        body = [r"\resizebox{\linewidth}{!}{%"] + body + ["}"]
    out = [r"\begin{table}[H]", r"\centering", r"\caption{\textbf{" + escape(t.title) + ".} " + escape(t.caption)
           + "}", r"\label{tab:" + t.key + "}"] + body
    if t.notes:
        out += [r"\par\smallskip\begin{minipage}{\linewidth}\footnotesize"]
        out += [escape(n) + r"\par" for n in t.notes]
        out += [r"\end{minipage}"]
    out += [r"\end{table}", ""]
    return out


def figure(f: Figure, out_dir: Path) -> list[str]:
    rel = f.path.relative_to(out_dir).as_posix()
    return [r"\begin{figure}[H]", r"\centering",
            r"\includegraphics[width=" + f"{f.width:g}" + r"\linewidth]{" + rel + "}",
            r"\caption{\textbf{" + escape(f.title) + ".} " + escape(f.caption) + "}",
            r"\label{fig:" + f.key + "}", r"\end{figure}", ""]


def render(report: Report, out_dir: Path) -> str:
    lines = [r"\documentclass[10pt]{article}", r"\usepackage[margin=2cm,landscape]{geometry}",
             r"\usepackage[T1]{fontenc}", r"\usepackage[utf8]{inputenc}", r"\usepackage{booktabs,graphicx,float}",
             r"\begin{document}", r"\section*{" + escape(report.title) + "}", ""]
    lines += [escape(p) + "\n" for p in report.intro]
    for s in report.sections:
        lines += [r"\subsection*{" + escape(s.title) + "}", ""]
        lines += [escape(p) + "\n" for p in s.text]
        for t in s.tables:
            lines += table(t)
        for f in s.figures:
            lines += figure(f, out_dir)
    lines += [r"\end{document}"]
    return "\n".join(lines) + "\n"

"""The report as data: sections of tables and figures with captions and notes; renderers turn it into Markdown,
LaTeX or HTML. Cells are plain text (numbers already formatted); ``bold`` marks best cells."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Table:
    key: str  # unique slug (LaTeX label, HTML anchor)
    title: str
    caption: str
    columns: list[str]
    rows: list[list[str]]
    bold: set[tuple[int, int]] = field(default_factory=set)  # (row, column) of best values
    notes: list[str] = field(default_factory=list)
    align: str = ""  # one of l/r per column; default: first column left, others right

    def alignment(self) -> str:
        return self.align or "l" + "r" * (len(self.columns) - 1)


@dataclass
class Figure:
    key: str
    title: str
    caption: str
    path: Path  # the PNG inside the report folder
    width: float = 0.8  # fraction of the line width (LaTeX/HTML)


@dataclass
class Section:
    title: str
    text: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


@dataclass
class Report:
    title: str
    intro: list[str]
    sections: list[Section]

    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables]

    def figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures]

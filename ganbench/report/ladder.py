"""The disturbance ladder rendered: a Markdown table and a figure of ``analysis.ladder.Ladder``."""
from __future__ import annotations

from pathlib import Path


def plot_ladder(lad, path: Path) -> None:
    """Distance vs disturbance strength (level index), one line per family; degenerate sets as a strip."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io import atomic_write

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [3, 2]})
    for fam, pts in lad.families.items():
        a.plot(range(len(pts)), [d for _, d in pts], marker="o",
               label=f"{fam} ({'PASS' if lad.family_passed(fam) else 'FAIL'})")
    a.set_xticks(range(4), ["clean", "mild", "medium", "strong"])
    a.set_ylabel(f"{lad.metric} to {lad.reference}")
    a.set_title(f"{lad.extractor}: disturbance ladder (n={lad.n})")
    a.legend(fontsize=7)
    kinds = list(lad.degenerate)
    b.bar(kinds, [lad.degenerate[k] for k in kinds],
          color=["tab:green" if lad.degenerate_passed(k) else "tab:red" for k in kinds])
    b.axhline(3 * lad.worst_mild, ls="--", c="k", lw=1, label="3x worst mild")
    b.set_title("degenerate sets")
    b.legend(fontsize=7)
    b.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110))
    plt.close(fig)


def ladder_table(lad) -> str:
    lines = ["| family | clean | mild | medium | strong | verdict |", "|---|---|---|---|---|---|"]
    for fam, pts in lad.families.items():
        levels = " / ".join(f"{lv:g}" for lv, _ in pts[1:])
        cells = " | ".join(f"{d:.3f}" for _, d in pts)
        lines.append(f"| {fam} ({levels}) | {cells} | {'PASS' if lad.family_passed(fam) else 'FAIL'} |")
    for k, v in lad.degenerate.items():
        lines.append(f"| degenerate: {k} | {v:.3f} | | | | {'PASS' if lad.degenerate_passed(k) else 'FAIL'} |")
    return "\n".join(lines)


def write_ladder(lad, out: Path, record: bool = False) -> str:
    """Write ``<extractor>.md/.csv/.png/.json`` into ``out`` (and, with ``record``, the verdict next to the
    extractor's weights, which reports cite); returns the Markdown table."""
    import pandas as pd

    from ..analysis.ladder import validation_path
    from ..errors import GanbenchError
    from ..io import write_json, write_text

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GanbenchError(f"cannot write to {out}: {e.strerror}") from None
    doc = lad.to_json()
    table = ladder_table(lad)
    head = (f"# Metric validation: {lad.extractor} ({lad.metric})\n\n{lad.n} held-out images, {lad.held_out}, against "
            f"{lad.reference}; seed {lad.seed}. Criteria: {doc['criteria']}.\n\n")
    write_text(out / f"{lad.extractor}.md", head + table + f"\n\n**{'PASS' if lad.passed else 'FAIL'}**\n")
    write_text(out / f"{lad.extractor}.csv", pd.DataFrame(lad.rows()).to_csv(index=False))
    plot_ladder(lad, out / f"{lad.extractor}.png")
    write_json(out / f"{lad.extractor}.json", doc)
    if record:
        write_json(validation_path(lad.extractor), doc)
    return table


def write_copy_ladder(lad, out: Path | None = None) -> Path:
    """``<extractor>.copying.json`` and ``.md`` into ``out`` (default: beside the extractor's weights, what reports
    cite); returns the JSON's path."""
    from ..analysis.copy_ladder import copy_validation_path
    from ..io import write_json, write_text

    path = (Path(out) / f"{lad.extractor}.copying.json") if out else copy_validation_path(lad.extractor)
    write_json(path, lad.to_json())
    write_text(path.with_suffix(".md"), lad.markdown())
    return path

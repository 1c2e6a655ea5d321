"""Tuning rendered: the report's Tuning section (the committed record) and the ``selection.md`` of ``ganbench tune``."""
from __future__ import annotations

from typing import Any

from . import fmt
from .document import Section, Table
from ..results import ResultSet


def _g(x: float | None) -> str:
    return "—" if x is None else f"{x:g}"


def tuning_section(rs: ResultSet, record: dict[str, Any] | None) -> Section | None:
    """The equal-tuning record (``ganbench tune --record``) for the models run at its preset: the grid, every
    point's selection metric, the chosen point and the learning rates it means."""
    from ..analysis.tuning import on_edge, tuned_rates

    runs = rs.runs
    if record is None or not len(runs):
        return None
    models = sorted(set(runs.loc[runs["preset"] == record.get("preset"), "model"].dropna()) & set(record["chosen"]))
    if not models:
        return None
    grid = list(record.get("points") or record["grid"])  # the suite's order (the JSON's keys are sorted)
    cells: dict[tuple[str, str], str] = {}
    for r in record.get("table", []):
        sd = r.get("std")
        cells[(r["model"], r["point"])] = fmt.num(r["mean"]) + (f" ± {fmt.num(sd)}" if r.get("seeds", 1) > 1 else "")
    rows = []
    for m in models:
        rates = tuned_rates(m, record) or {}
        rows.append([m] + [cells.get((m, p), "—") for p in grid] + [record["chosen"][m]["point"],
                                                                     _g(rates.get("lr_g")), _g(rates.get("lr_d"))])
    points = "; ".join(f"{k}: " + ", ".join(f"{a} {v}" for a, v in record["grid"][k].items()) for k in grid)
    windows = record.get("windows") or {}
    where = ("each model at a window of consecutive points of one grid (— outside it)" if windows
             else "every model at the same grid")
    caption = (f"Equal tuning budget (`ganbench tune`, suite {record['suite']}): {where} "
               f"({points}; \"xN\" = N times the model's paper-preset value), seeds {record['seeds']}, "
               f"{record['kimg']:g} kimg, {record['preset']} preset, {record.get('dataset', 'fashion-mnist')}; "
               f"cells: {record['select_by']} at the last evaluation (held-out split), lower is better; the lowest "
               f"is chosen and is what the {record['preset']} presets carry. Measured at "
               f"{fmt.join(record.get('git_commits', ['unknown']))} on "
               f"{'; '.join(record.get('devices', ['unknown']))}.")
    notes = []
    edge = [m for m in models if m in on_edge(record)]
    if edge:
        notes.append(f"Chosen at the edge of the {'window' if windows else 'grid'}: {', '.join(edge)} (a wider "
                     f"{'window' if windows else 'grid'} might pick another value).")
    if len(record["seeds"]) == 1:
        notes.append("One seed per point: the pick is not tested against seed noise.")
    table = Table("tuning", "Tuning", caption, ["model"] + grid + ["chosen", "lr_g", "lr_d"], rows, notes=notes)
    return Section("Tuning", tables=[table])


def selection_markdown(suite, payload: dict[str, Any], table) -> list[str]:
    """The lines of ``selection.md``: grid, rule, metric and the table of mean ± SD per model and grid point."""
    from ..metrics.protocols import PROTOCOLS

    grid, chosen = payload["grid"], {m: c["point"] for m, c in payload["chosen"].items()}
    windows = payload.get("windows")
    md = [f"# Tuning: suite {suite.name}", "",
          f"Grid (same seeds {list(suite.seeds)} and {suite.kimg:g} kimg for every model, {suite.preset} preset, "
          f"{suite.dataset}): " + "; ".join(f"{k} = {v}" for k, v in grid.items()) + "."
          + (" Each model runs its window of the grid (— outside it)." if windows else ""),
          f"Selected by the lowest mean {suite.select_by} at the last evaluation; (edge): the pick is the first or "
          f"last point the model ran.",
          f"Metric: {suite.select_by} = {PROTOCOLS.get(suite.select_by).description}; {suite.dataset}, "
          f"{suite.resolution}x{suite.resolution}; images seen at the last evaluation: "
          f"{int(table.images_seen.min())}-{int(table.images_seen.max())}; cells: mean ± SD over seeds. "
          f"Measured at {', '.join(payload['git_commits'])} on {'; '.join(payload['devices'])}.", "",
          "| model | " + " | ".join(grid) + " | chosen |", "|---|" + "---|" * (len(grid) + 1)]
    for m, g in table.groupby("model"):
        cells = {r.point: f"{r.mean:.3f}" + (f" ± {r.std:.3f}" if r.seeds > 1 else "") for r in g.itertuples()}
        md.append(f"| {m} | " + " | ".join(cells.get(p, "—") for p in grid) + f" | {chosen[m]}"
                  + (" (edge)" if m in payload["edge"] else "") + " |")
    return md


def write_selection(suite, payload: dict[str, Any], table, out, record: bool = False, log=None) -> list[str]:
    """Write ``selection.md`` and ``selection.json`` into ``out`` (and, with ``record``, the committed tuning
    record that presets and reports cite); returns the Markdown lines."""
    from ..suites.tuning_record import RECORD
    from ..io import write_json, write_text

    md = selection_markdown(suite, payload, table)
    write_text(out / "selection.md", "\n".join(md) + "\n")
    write_json(out / "selection.json", payload)
    if record:
        write_json(RECORD, payload)
        if log:
            log(f"recorded: {RECORD}")
    return md

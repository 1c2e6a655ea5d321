"""``ganbench report RESULTS_DIR``: tables, plots and sample grids from the tidy results, as Markdown, LaTeX and one
self-contained HTML page.

Contents (sections appear when there is data for them): main comparison per suite (model x metrics), ablation
tables (LRM GAN in its paper's layout: Ours / w/o Meta / w/o LRM / w/ Residual / w/ SA x FD-type metric, IT, NoP-G,
NoP-D; a generic per-model table for the other ablation suites), convergence (best/final value, images seen and
wall-clock to reach thresholds, 95% t-intervals over seeds), efficiency (parameters, FLOPs, time for 100 images),
published numbers next to ours (``baselines/published.yaml``) with the protocol differences, runs that did not
complete, the models' deviations (one entry per model, referenced from the tables by [n]), seaborn plots (the
pairwise p-values behind the main table's ranks among them) and the latest sample grid of every run. Every caption
names the dataset, resolution, extractor, sample counts, images seen and device; values are mean ± 95% t-interval over
seeds, with rank intervals from Welch's t-tests of every pair and Holm correction over all pairs
(``analysis.ranks``; bold only a model significantly better than every other; fewer than two seeds: not ranked). The
main table puts stability next to quality (best value, collapsed and bounced seeds, diverged runs) and shows copy rates
as checks, never ranked. Notes carry shared-backbone warnings
(†) and the ‡ mark of models that draw real images at sampling time; the header names each extractor's metric
validation (``ganbench validate-metric``). Without efficiency runs the efficiency tables are replaced by one line
saying how to get them.

The text output depends only on the results (no dates, no absolute paths), so reports diff cleanly.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Sequence


from ..errors import GanbenchError
from ..io import read_yaml, write_text
from . import fmt
from .document import Report, Section
from ..analysis.groups import groups as make_groups
from ..analysis.ladder import load_validation
from ..results import ResultSet, load
from .marks import Marks
from .tables import (EfficiencyIndex, ablation_tables, convergence_tables, efficiency_tables, main_table,
                     paper_tables, status_table)

FORMATS = {"md": ("report.md", "markdown"), "latex": ("report.tex", "latex"), "tex": ("report.tex", "latex"),
           "html": ("report.html", "html")}
DEFAULT_PUBLISHED = Path(__file__).resolve().parents[2] / "baselines" / "published.yaml"

__all__ = ["build", "build_report", "load", "FORMATS"]


def load_published(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    data = read_yaml(path, "published numbers file")
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise GanbenchError(f"{path}: expected a mapping with 'models'")
    return data


EFFICIENCY_HOWTO = ("Efficiency (parameters, FLOPs, time to generate images) was not measured: run `ganbench run "
                    "--suite efficiency` (the report reads an `efficiency` folder next to the results folder, or "
                    "`--efficiency DIR`).")


def validation_lines(rs: ResultSet, loader: Callable[[str], dict | None] = load_validation) -> list[str]:
    """One line per feature extractor the training suites use: its disturbance-ladder verdict."""
    rows = rs.rows
    out = []
    for ext in sorted(rows["extractor"].dropna().unique()) if len(rows) else []:
        suites = fmt.join(sorted(rows.loc[rows["extractor"] == ext, "suite"].dropna().unique()))
        v = loader(ext)
        if v is None:
            verdict = "not validated (no `ganbench validate-metric` result)"
        elif "unreadable" in v:
            verdict = f"not validated (validation file unreadable: {v['unreadable']})"
        else:
            fams = v.get("families") or {}
            failed = sorted(f for f, r in fams.items() if isinstance(r, dict) and not r.get("passed"))
            cmd = f", `{v['command']}`" if v.get("command") else ""
            verdict = (f"{'PASS' if v.get('passed') else 'FAIL'} (ladder of {v.get('date', 'unknown date')}{cmd}"
                       + (f"; failed families: {', '.join(failed)}" if failed else "") + ")")
        out.append(f"Metric validation: {ext} {verdict}; used by suite{'s' if ',' in suites else ''} {suites}.")
    return out


def _intro(rs: ResultSet, root: Path, loader: Callable[[str], dict | None] = load_validation) -> list[str]:
    runs = rs.runs
    counts = runs["status"].value_counts().to_dict()
    states = ", ".join(f"{counts[s]} {s}" for s in sorted(counts))
    suites = fmt.join(sorted(runs["suite"].dropna().unique()))
    commits = fmt.join(sorted(str(c) for c in runs["git_commit"].dropna().unique())) or "not recorded"
    devices = "; ".join(sorted(runs["device"].dropna().unique())) or "not recorded"
    return [f"Generated by `ganbench report` from the results folder `{root.name}`"
            + (f" (with {', '.join(f'`{r.name}`' for r in rs.roots[1:])})" if len(rs.roots) > 1 else "")
            + f": {len(runs)} runs ({states}) in suites {suites}.",
            f"Devices: {devices}. Code versions (git commit of each run): {commits}.",
            "Numbers are read from each run's metrics.csv at its final evaluation unless a caption says otherwise; "
            "FD-type metrics with different extractors or sample counts are not comparable with each other or "
            "with published FIDs."] + validation_lines(rs, loader)


def build(root: Path, out: Path, published: dict[str, Any] | None = None, extra_roots: Iterable[Path] = (),
          thresholds: dict[str, list[float]] | None = None, plots: bool = True,
          validation: Callable[[str], dict | None] = load_validation,
          tuning: Callable[[], dict | None] | None = None, claims: Sequence[Any] | None = None,
          samples: str = "run") -> Report:
    """Read the results and assemble the report (figures are written into ``out``); ``validation`` reads an
    extractor's metric-validation result (default: the committed ganbench/metrics/weights/*.validation.json);
    ``tuning`` reads the tuning record (default: the committed ganbench/suites/tune.selection.json); ``claims``: the
    claims to test (default: the committed ganbench/claims.yaml); ``samples``: a grid per "run" or per "arm"."""
    from ..suites.tuning_record import load_record
    from .tuning import tuning_section
    root = Path(root)
    rs = load(root, list(extra_roots))
    if not len(rs.runs):
        raise GanbenchError(f"no runs found under {root}")
    gs = make_groups(rs)
    eff = EfficiencyIndex(rs)
    marks = Marks.from_runs(rs.runs)
    eff_tables = efficiency_tables(rs, marks)
    paper = paper_tables(rs, gs, published, eff, marks)
    paper_text = ["Published numbers come from other datasets, feature extractors, sample counts and training "
                  "lengths; they are listed for orientation, not as a comparison."]
    if published and not any(t.key == "paper-params" for t in paper) and paper:
        paper_text.append("Parameter counts next to the published ones need the efficiency suite: run `ganbench run "
                          "--suite efficiency`.")
    from ..analysis.claims import plan_for
    from .claims import claims_section
    from .plan import plan_section
    from .power import power_section
    plan, plan_path = plan_for(root)
    record = (tuning or load_record)()
    sections = [
        plan_section(rs, plan, plan_path, record),
        Section("Main results", tables=[t for g in gs if (t := main_table(g, eff, marks))]),
    ]
    sections += [s for s in (power_section(gs), claims_section(rs, claims, plan, out / "figures" if plots else None))
                 if s]
    sections += [
        Section("Ablations", tables=[t for g in gs for t in ablation_tables(g, eff, marks)]),
        Section("Convergence", tables=[t for g in gs for t in convergence_tables(g, thresholds, marks)]),
        Section("Efficiency", [] if eff_tables else [EFFICIENCY_HOWTO], eff_tables),
        Section("Paper vs ours", paper_text, paper),
    ]
    tune = tuning_section(rs, record)
    sections += [tune] if tune else []
    dev = marks.section()
    sections += [dev] if dev else []
    st = status_table(rs)
    sections.append(Section("Runs that did not complete", tables=[st] if st else []))
    if plots:
        from .plots import metric_plots, pvalue_heatmaps, sample_figures
        from .samples import arm_nearest_figures, arm_sample_figures
        sections.append(Section("Figures", figures=[f for g in gs for f in metric_plots(g, out / "figures")
                                                    + pvalue_heatmaps(g, out / "figures")]))
        if samples == "arm":
            sections.append(Section("Samples", ["The latest sample grid of each arm (suite, model, variant), its "
                                                "first complete seed (the generator that was evaluated: the EMA copy "
                                                "where the model keeps one)."],
                                    figures=arm_sample_figures(rs, out / "samples")))
        else:
            sections.append(Section("Samples", ["The latest sample grid of every training run (the generator "
                                                "that was evaluated: the EMA copy where the model keeps one)."],
                                    figures=sample_figures(rs, out / "samples")))
        nearest = arm_nearest_figures(rs, out / "samples")
        if nearest:
            sections.append(Section("Nearest training images", [
                "Does a model copy its training images? Generated samples at each arm's last evaluation (its first "
                "complete seed) beside their nearest training images; the copy rate and C_T in the main table are "
                "the same check over 2,000 samples and every seed."], figures=nearest))
    sections = [s for s in sections if s.tables or s.figures
                or s.title in ("Efficiency", "Deviations", "Plan and deviations")]
    return Report(f"ganbench report: {root.name}", _intro(rs, root, validation), sections)


def build_report(root: Path, out: Path, formats: Iterable[str] = ("md", "latex", "html"),
                 published: Path | None | str = "default", efficiency: Iterable[Path] | None = None,
                 thresholds: dict[str, list[float]] | None = None, plots: bool = True,
                 validation: Callable[[str], dict | None] = load_validation,
                 tuning: Callable[[], dict | None] | None = None, claims: Sequence[Any] | None = None,
                 samples: str = "run") -> dict[str, Path]:
    """Render the report of ``root`` into ``out``; returns {format: file}. ``published="default"`` uses
    baselines/published.yaml when it exists; ``efficiency`` None looks for an ``efficiency`` results folder next to
    ``root``."""
    root, out = Path(root), Path(out)
    formats = list(dict.fromkeys(formats))
    for f in formats:
        if f not in FORMATS:
            raise GanbenchError(f"unknown report format {f!r}; choose from: md, latex, html")
    if published == "default":
        published = DEFAULT_PUBLISHED if DEFAULT_PUBLISHED.exists() else None
    if efficiency is None:
        sib = root.parent / "efficiency"
        efficiency = [sib] if root.name != "efficiency" and sib.is_dir() and sib.resolve() != root.resolve() else []
    out.mkdir(parents=True, exist_ok=True)
    report = build(root, out, load_published(Path(published)) if published else None, efficiency, thresholds, plots,
                   validation, tuning, claims, samples)
    written = {}
    for f in formats:
        name, kind = FORMATS[f]
        if kind == "markdown":
            from .markdown import render
        elif kind == "latex":
            from .latex import render
        else:
            from .html import render
        written[f] = write_text(out / name, render(report, out))
    return written

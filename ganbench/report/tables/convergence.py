"""Convergence: best and final values per model, and the images and time to reach thresholds."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .. import fmt
from ..document import Table
from ...analysis.groups import Group, MetricKey
from ...analysis.summary import t_interval
from ..labels import seeds_text, status_text
from ..marks import Marks
from ._shared import NO_MARKS, _caption_common, _model_notes, rank_caption, ranked, ranks_of
from .main import main_entries


def _round_lenient(x: float, up: bool) -> float:
    """x to 3 significant digits, rounded towards the easier side (so the model it came from still reaches it)."""
    if x == 0 or not math.isfinite(x):
        return x
    q = 10.0 ** (math.floor(math.log10(abs(x))) - 2)
    return float(f"{(math.ceil(x / q - 1e-9) if up else math.floor(x / q + 1e-9)) * q:.6g}")


def auto_thresholds(bests: list[float], higher: bool) -> list[float]:
    """The level every model reaches (the worst model's best) and the median model's best, 3 significant digits."""
    if len(bests) < 2:
        return []
    worst = min(bests) if higher else max(bests)
    ts = [_round_lenient(t, up=not higher) for t in (worst, float(np.median(bests)))]
    return sorted(set(ts), reverse=not higher)


def _reached(rr: pd.DataFrame, t: float, higher: bool) -> tuple[float, float] | None:
    ok = rr["value"] >= t if higher else rr["value"] <= t
    if not ok.any():
        return None
    first = rr[ok].iloc[0]
    return float(first["images_seen"]), float(first["wall_s"]) if not pd.isna(first["wall_s"]) else math.nan


def _ci_cell(values: list[float], scale: float = 1.0, places: int | None = None) -> str:
    if not values:
        return "—"
    m, hw = t_interval([v / scale for v in values])
    return fmt.pm(m, hw, places)


def _init_values(g: Group, entry: tuple[str, str], mk: MetricKey) -> list[float]:
    """Each seed's value at initialisation (the evaluation at 0 images seen), where one was made."""
    return [float(rr.loc[rr["images_seen"] == 0, "value"].iloc[0]) for _, rr in g.curves(*entry, mk)
            if (rr["images_seen"] == 0).any()]


def _beats(t: float, init: list[float], higher: bool) -> bool:
    """T counts as an achievement only when it is strictly better than every seed's value at initialisation."""
    return all(t > v if higher else t < v for v in init)


def convergence_tables(g: Group, thresholds: dict[str, list[float]] | None = None,
                       marks: Marks = NO_MARKS) -> list[Table]:
    entries = main_entries(g) or [(m, v) for m in g.models() for v in g.variants(m)]
    out = []
    for mk in g.quality_metrics:  # a check (copy rate) has no convergence to rank
        # the value at initialisation is a reference, not an achievement: best and thresholds use trained points
        curves = {e: [(run, rr[rr["images_seen"] > 0]) for run, rr in g.curves(*e, mk)] for e in entries}
        curves = {e: [(run, rr) for run, rr in cs if len(rr)] for e, cs in curves.items()}
        if not any(len(rr) >= 2 for cs in curves.values() for _, rr in cs):
            continue
        best_of = (lambda rr: rr["value"].max()) if mk.higher else (lambda rr: rr["value"].min())
        bests = [float(np.mean([best_of(rr) for _, rr in cs])) for cs in curves.values() if cs]
        given = (thresholds or {}).get(mk.protocol) or (thresholds or {}).get(mk.metric)
        ts = sorted(given, reverse=not mk.higher) if given else auto_thresholds(bests, mk.higher)
        rel = "≥" if mk.higher else "≤"
        cols = (["Model", "Status", "Seeds", "Best", "Rank", "kimg at best", "Final"]
                + [c for t in ts for c in (f"kimg to {rel} {fmt.num(t)}", f"time (s) to {rel} {fmt.num(t)}")])
        rows, labels = [], []
        best_vals: list[list[float]] = []
        at_init: list[str] = []
        no_init: list[str] = []
        for (m, v), cs in curves.items():
            sub = g.subset(m, v)
            label = marks.label(m, v)
            if not cs:
                rows.append([label, status_text(sub), seeds_text(sub)] + ["—"] * (len(cols) - 3))
                labels.append(label)
                best_vals.append([])
                continue
            b_vals, b_imgs, finals = [], [], []
            for run, rr in cs:
                i = rr["value"].idxmax() if mk.higher else rr["value"].idxmin()
                b_vals.append(float(rr.loc[i, "value"]))
                b_imgs.append(float(rr.loc[i, "images_seen"]))
                if run.status == "complete":
                    finals.append(float(rr["value"].iloc[-1]))
            cells = [label, status_text(sub), seeds_text(sub), _ci_cell(b_vals), "—", _ci_cell(b_imgs, 1000, 2),
                     _ci_cell(finals)]
            best_vals.append(b_vals)
            labels.append(label)
            init = _init_values(g, (m, v), mk)
            if not init:
                no_init.append(label)
            for t in ts:
                if not _beats(t, init, mk.higher):
                    cells += ["— (init)", "— (init)"]
                    at_init.append(f"{label} (T = {fmt.num(t)}; at 0 images: "
                                   f"{'/'.join(fmt.num(x) for x in init)})")
                    continue
                hits = [_reached(rr, t, mk.higher) for _, rr in cs]
                got = [h for h in hits if h]
                if not got:
                    cells += ["not reached", "not reached"]
                    continue
                tail = "" if len(got) == len(hits) else f" ({len(got)}/{len(hits)} seeds)"
                cells += [_ci_cell([h[0] for h in got], 1000, 2) + tail,
                          _ci_cell([h[1] for h in got if not math.isnan(h[1])], 1, 1) + tail]
            rows.append(cells)
        ranks = ranks_of(labels, best_vals, mk.higher)
        bold: set[tuple[int, int]] = set()
        for i, e in enumerate(ranks.entries):
            rows[i][4] = e.interval
            bold |= {(i, 3), (i, 4)} if e.bold else set()
        if not ranked(ranks):
            cols.pop(4)
            rows = [r[:4] + r[5:] for r in rows]
        every = sorted({float(x) for x in g.runs["eval_every_kimg"].dropna()})
        every_txt = (f"evaluated every {'/'.join(f'{e:g}' for e in every)} kimg" if every
                     else "evaluation points as recorded")
        how = ("none (fewer than two models)" if not ts else "given on the command line" if given else
               "chosen from the data: the worst model's best value (reached by every model on average) and the "
               "median model's best value, rounded to 3 significant digits towards the reachable side")
        caption = (f"Convergence, {g.title}, {mk.protocol}: {_caption_common(g, [mk])} {every_txt.capitalize()} "
                   f"(best and thresholds count only evaluations after training started). Best: each seed's best "
                   f"evaluation, and the images seen at it; Final: the last evaluation of complete seeds. Thresholds "
                   f"T ({how}): images seen and training wall-clock (without evaluations) at the first evaluation "
                   f"with value {rel} T, reported only where T is better than the model's value at initialisation "
                   f"(0 images seen) for every seed, \"— (init)\" otherwise; seeds that never reach T are left out "
                   f"and counted. ± is the half-width of the 95% Student-t confidence interval over seeds "
                   f"(scipy.stats.t; none for one seed). {rank_caption([('Best', ranks)], 'the per-seed best values')}")
        notes = []
        if at_init:
            notes.append("— (init): the threshold does not beat the model's own value at initialisation, so reaching "
                         "it is no sign of training: " + "; ".join(at_init) + ".")
        if no_init:
            notes.append(f"No evaluation at 0 images for {', '.join(no_init)}: thresholds not checked against "
                         f"initialisation.")
        out.append(Table(f"convergence-{g.key}-{mk.protocol}-{mk.metric}",
                         f"Convergence, {g.title}, {mk.protocol}", caption, cols, rows, bold,
                         notes + _model_notes(g.runs, sorted({m for m, _ in entries}), [mk], marks)))
    return out

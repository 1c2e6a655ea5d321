"""Paper vs ours: published parameter counts and results next to ours, with the protocol differences."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import fmt
from ..document import Table
from ...analysis.groups import Finals, Group, MetricKey
from ..labels import finals_cell
from ...results import ResultSet
from ..marks import Marks
from ._shared import CI, NO_MARKS, EfficiencyIndex, _first


def _ours(groups: list[Group], model: str) -> tuple[Group, MetricKey, Finals] | None:
    """Our headline number for a model: its default variant in the group with the most images seen, first FD-type
    metric."""
    best = None
    for g in groups:
        sub = g.subset(model, "default")
        if not len(sub) or not g.metrics:
            continue
        seen = sub.loc[sub["status"] == "complete", "images_seen"].dropna()
        score = (float(seen.mean()) if len(seen) else -1.0)
        if best is None or score > best[0]:
            best = (score, g)
    if best is None:
        return None
    g = best[1]
    mk = next((m for m in g.metrics if m.kind in ("fd", "fid")), g.metrics[0])
    return g, mk, g.finals(model, "default", mk)


def _our_protocol(g: Group, mk: MetricKey, f: Finals) -> str:
    n_real = f"{fmt.count(mk.n_real)} {mk.split}" if mk.split else "no real images"
    kimg = fmt.kimg(float(np.mean(f.images))) if f.images else "—"
    return (f"{g.dataset} {g.resolution}×{g.resolution}×{g.channels}, {mk.protocol}: {mk.extractor}, "
            f"{fmt.count(mk.n_samples)} generated vs {n_real}; {kimg} kimg, {g.preset} preset, "
            f"{len(f.values)} complete seed(s)")


def _differences(pub: dict[str, Any], g: Group, mk: MetricKey, conditional: bool) -> str:
    d = []
    theirs = "is" if str(pub.get("metric", "")).lower().startswith("is") else "fd"
    if theirs != ("is" if mk.kind == "is" else "fd"):
        d.append(f"metric {pub.get('metric')} → {mk.metric}")
    if str(pub.get("dataset", "")).lower() != g.dataset.lower():
        d.append(f"dataset {pub.get('dataset')} → {g.dataset}")
    if pub.get("resolution") and int(pub["resolution"]) != g.resolution:
        d.append(f"resolution {pub['resolution']} → {g.resolution}")
    if pub.get("extractor") and pub["extractor"].lower() not in mk.extractor.lower():
        d.append(f"features {pub['extractor']} → {mk.extractor}")
    if pub.get("n_gen") and pub["n_gen"] != mk.n_samples:
        d.append(f"{fmt.count(pub['n_gen'])} → {fmt.count(mk.n_samples)} generated")
    if pub.get("real_split") and pub["real_split"] != mk.split:
        d.append(f"real split {pub['real_split']} → {mk.split}")
    if pub.get("conditional") is not None and bool(pub["conditional"]) != conditional:
        d.append(f"{'conditional' if pub['conditional'] else 'unconditional'} → "
                 f"{'conditional' if conditional else 'unconditional'}")
    if g.preset != "paper":
        d.append(f"{g.preset} preset (not the paper's configuration)")
    d.append("training length differs")
    return "; ".join(d)


def paper_tables(rs: ResultSet, groups: list[Group], published: dict[str, Any] | None,
                 eff: EfficiencyIndex, marks: Marks = NO_MARKS) -> list[Table]:
    if not published:
        return []
    pubs = published.get("models", {})
    ours_models = sorted(set(rs.runs["model"].dropna()))
    models = [m for m in ours_models if m in pubs]
    if not models:
        return []
    out = []
    # parameters: published counts vs our paper preset measured by the efficiency suite (left out without it)
    rows = []
    for m in models if any(eff.get(m, "paper", "default") for m in models) else []:
        p = pubs[m].get("params") or {}
        e = eff.get(m, "paper", "default")
        ev = e["values"] if e else {}
        cells = [m + marks.suffix(m)]
        for k in ("params_g", "params_d"):
            pv, ov = p.get(k), ev.get(k)
            cells += [fmt.count(pv) if pv else "not published", fmt.count(ov) if ov is not None else "—",
                      f"{100 * (ov - pv) / pv:+.2f}%" if pv and ov is not None else "—"]
        cells += [f"{fmt.count(ev.get('params_g_frozen'))} / {fmt.count(ev.get('params_d_frozen'))}" if e else "—",
                  f"{p.get('source', '—')}" + (f" [{p['evidence']}]" if p.get("evidence") else "")]
        rows.append(cells)
    shape = sorted({f"{int(e['channels'])}×{int(e['resolution'])}×{int(e['resolution'])}"
                    for e in (eff.get(m, "paper", "default") for m in models) if e})
    out += [] if not rows else [Table(
        "paper-params", "Parameter counts, paper vs ours",
        f"Parameters of the paper preset: published (or computed from the official code where the paper prints "
        f"none; evidence tags as in baselines/published.yaml: R read in the primary source, R-2 secondary source, "
        f"C computed, C-log equal to a logged count) vs measured by the efficiency suite at "
        f"{', '.join(shape) or 'no measurement'} (trainable; Frozen: requires_grad-off parameters). Δ: relative "
        f"difference.",
        ["Model", "G published", "G ours", "Δ G", "D published", "D ours", "Δ D", "Frozen G / D ours", "Source"],
        rows, align="lrrrrrrrl", notes=marks.notes(models))]
    # metrics: published numbers next to ours, with the protocol differences spelled out
    rows = []
    for m in models:
        ours = _ours(groups, m)
        o_val = o_proto = "no training run"
        conditional = False
        if ours:
            g, mk, f = ours
            o_val = f"{finals_cell(f)} ({mk.protocol})"
            o_proto = _our_protocol(g, mk, f)
            cfg = _first(g.subset(m, "default"), "model_config")
            conditional = bool(cfg.get("conditional")) if isinstance(cfg, dict) else False
        results = pubs[m].get("results") or []
        if not results:
            rows.append([m + marks.suffix(m), "—", "—", "not retrieved", "—", "—", o_val, o_proto, "—"])
            continue
        for i, r in enumerate(results):
            val = f"{float(r['value']):g}" + (f" ± {float(r['std']):g}" if r.get("std") else "")  # as published
            src = f"{r.get('source', '—')}" + (f" [{r['evidence']}]" if r.get("evidence") else "")
            rows.append([m + marks.suffix(m) if i == 0 else "", f"{r['dataset']} {r.get('resolution', '')}".strip(),
                         r["metric"], val,
                         r.get("protocol", "—"), src, o_val if i == 0 else "", o_proto if i == 0 else "",
                         _differences(r, *ours[:2], conditional) if ours else "—"])
    out.append(Table(
        "paper-metrics", "Published results vs ours",
        "Published numbers (baselines/published.yaml; nothing is filled in where a paper's numbers could not be "
        "retrieved) next to our headline number per model: its default variant in the results group with the most "
        f"images seen, first FD-type metric, {CI}. The values are NOT comparable: "
        "the last column lists the protocol differences (dataset, feature extractor, sample counts, conditioning, "
        "configuration, training length).",
        ["Model", "Published on", "Metric", "Value", "Their protocol", "Source", "Ours", "Our protocol",
         "Differences"], rows, align="lllrlllll", notes=marks.notes(models)))
    return out

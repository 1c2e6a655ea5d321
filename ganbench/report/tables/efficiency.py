"""Efficiency: parameters, FLOPs and generation time per model and preset (the efficiency suite)."""
from __future__ import annotations

import pandas as pd

from .. import fmt
from ..document import Table
from ...results import ResultSet
from ..marks import Marks
from ._shared import NO_MARKS, _devices, _first


def efficiency_tables(rs: ResultSet, marks: Marks = NO_MARKS) -> list[Table]:
    runs = rs.eff_runs()
    if not len(runs):
        return []
    eff = rs.eff
    preset_order = {"paper": 0, "tiny": 1}
    recs = []
    for run in runs.itertuples():
        rows = eff[(eff["run"] == run.run) & (eff["suite"] == run.suite)]
        vals = dict(zip(rows["metric"], rows["value"]))
        it = [m for m in vals if m.startswith("it") and m.endswith("_s")]
        recs.append({"run": run, "vals": vals, "it": it[0] if it else None,
                     "device": _first(rows, "device") or run.device,
                     "shape": (int(run.channels) if not pd.isna(run.channels) else 3,
                               int(run.resolution) if not pd.isna(run.resolution) else 32)})
    recs.sort(key=lambda r: (r["run"].model, preset_order.get(r["run"].preset, 9), r["run"].preset,
                             r["run"].variant != "default", r["run"].variant))
    out = []
    for part, title in (("default", "default variants"), ("variants", "ablation variants")):
        sel = [r for r in recs if (r["run"].variant == "default") == (part == "default")]
        if not sel:
            continue
        bf16 = any(r["it"] and f"{r['it']}_bf16" in r["vals"] for r in sel)  # measured since IT has both
        cols = (["Model", "Preset"] + (["Variant"] if part == "variants" else [])
                + ["NoP-G", "NoP-D", "Frozen G", "Frozen D", "GFLOPs / image", "IT (s)", "images / s"]
                + (["IT bf16 (s)"] if bf16 else []))
        rows = []
        for r in sel:
            run, v = r["run"], r["vals"]
            head = [run.model + marks.suffix(run.model), run.preset] + ([run.variant] if part == "variants" else [])
            if run.status != "complete":
                rows.append(head + [run.status] + ["—"] * (len(cols) - len(head) - 1))
                continue
            it = v.get(r["it"]) if r["it"] else None
            n = int(r["it"][2:-2]) if r["it"] else None
            rows.append(head + [fmt.count(v.get("params_g")), fmt.count(v.get("params_d")),
                                fmt.count(v.get("params_g_frozen")), fmt.count(v.get("params_d_frozen")),
                                f"{v['flops_per_image'] / 1e9:.3f}" if "flops_per_image" in v else "—",
                                fmt.seconds(it), f"{n / it:.1f}" if it and n else "—"]
                        + ([fmt.seconds(v.get(f"{r['it']}_bf16")) if r["it"] else "—"] if bf16 else []))
        shapes = sorted({f"{c}×{s}×{s}" for c, s in (r["shape"] for r in sel)})
        ns = sorted({r["it"][2:-2] for r in sel if r["it"]})
        timing = sorted({str(r["run"].timing) for r in sel if isinstance(r["run"].timing, str)})
        caption = (f"Efficiency ({title}) at {', '.join(shapes)}, randomly initialised weights, no dataset (cost does "
                   f"not depend on the images; models that sample from real images draw training images). NoP: "
                   f"trainable parameters of G and D; Frozen: requires_grad-off parameters (pretrained feature "
                   f"networks, fixed random projections). GFLOPs / image: torch FlopCounterMode around "
                   f"model.sample(1), everything sampling runs (mapping, posterior or meta-data encoders), a "
                   f"multiply-add = 2 FLOPs, element-wise operations not counted. IT: seconds to generate "
                   f"{'/'.join(ns) or '?'} images{' in fp32 (IT bf16: under bf16 autocast)' if bf16 else ''} "
                   f"({'; '.join(timing) or 'timing method not recorded'}). "
                   f"Device: {_devices(r['device'] for r in sel)}.")
        out.append(Table(f"efficiency-{part}", f"Efficiency, {title}", caption, cols, rows,
                         notes=marks.notes(r["run"].model for r in sel)))
    return out

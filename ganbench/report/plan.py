"""A frozen plan rendered: its summary for the command line and the report's "Plan and deviations" section."""
from __future__ import annotations

import math

from ..analysis.plan import Plan


def plan_summary(plan: Plan) -> str:
    """Arms and seeds, each claim's status and n, thresholds, and the expected compute."""
    lines = [f"plan {plan.name}: suite {plan.suite}, profile {plan.profile}, {plan.protocol} at {plan.kimg:g} kimg "
             f"(evaluated every {plan.eval_every_kimg:g}), alpha {plan.alpha:g}, {plan.correction}; sized at "
             f"{plan.power:.0%} power, alpha/{plan.m_sizing} per claim, from {plan.exploratory['results']} "
             f"(seeds {', '.join(map(str, plan.exploratory['seeds']))}, without {plan.exploratory['seeds_left_out']})",
             f"seeds {plan.seeds[0]}-{plan.seeds[-1]}; arms (seeds each): "
             + ", ".join(f"{a} {n}" for a, n in plan.arms.items())]
    for c in plan.claims:
        th = f", threshold {c.threshold:g} ({c.threshold_rule})" if c.threshold is not None else ""
        n = f"n {c.n}" if c.n else f"needs {'inf' if math.isinf(c.n_needed) else int(c.n_needed)}"
        e = c.exploratory
        lines.append(f"  {c.id}: {c.status}, {n}{th}; exploratory effect {e['effect']:.4g} (SD {e['sd']:.4g}, "
                     f"d {e['d']:.3g}, {len(e['seeds'])} seeds)")
    cp = plan.compute
    lines.append(f"expected compute: {cp['thread_hours']} thread-hours, about {cp['wall_hours_estimate']} h on "
                 f"{cp['workers']} workers ({cp['note']})")
    return "\n".join(lines)

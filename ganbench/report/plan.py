"""A frozen plan rendered: its summary for the command line and the report's "Plan and deviations" section."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..analysis.plan import RUN_LOG, Plan, committed_plan, deviations, frozen_by, run_log, tuning_seed_reuse
from ..results import ResultSet
from .document import Section, Table


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


def _seeds(seeds: list[int]) -> str:
    return ", ".join(map(str, seeds))


def _reuse(rs: ResultSet, record: dict[str, Any] | None) -> str:
    if not record:
        return ("No tuning record was found, so whether runs reuse the tuning runs' seeds is not known.")
    used = _seeds(sorted(int(s) for s in record.get("seeds", [])))
    reuse = tuning_seed_reuse(rs, record)
    if not reuse:
        return f"No run evaluates a tuned model on a seed its tuning runs used (tuning seeds: {used})."
    n = sum(len(s) for s in reuse.values())
    by_seeds: dict[tuple[int, ...], list[str]] = {}
    for arm, seeds in reuse.items():
        by_seeds.setdefault(tuple(seeds), []).append(arm)
    return (f"{n} run(s) evaluate a tuned model on a seed its tuning runs used (tuning record: seeds {used}, "
            f"{record.get('preset', '?')} preset on {record.get('dataset', '?')}): "
            + "; ".join(f"seed{'s' if len(s) > 1 else ''} {_seeds(list(s))} of {', '.join(arms)}"
                        for s, arms in by_seeds.items())
            + ". Such a run reproduces a tuning run, which favours the tuned default arms.")


def _claims_table(plan: Plan) -> Table:
    rows = []
    for c in plan.claims:
        n = str(c.n) if c.n else "—"
        needed = "inf" if math.isinf(c.n_needed) else f"{c.n_needed:.0f}"
        th = "—" if c.threshold is None else f"{c.threshold:g} ({c.threshold_rule})"
        rows.append([c.id, f"{c.a} vs {c.b}", c.kind, c.status, n, needed, th, c.test])
    caption = (f"The claims of plan {plan.name} as frozen: status (confirmatory, or not affordable at this budget), "
               f"the pairs or seeds per arm each is tested on (n), the n its power analysis asked for "
               f"({plan.power:.0%} power at alpha {plan.alpha:g}/{plan.m_sizing}, on the exploratory effect and seed "
               f"SD; at most {plan.n_max}), the threshold fixed for a threshold claim and the test.")
    return Table("plan-claims", "The plan's claims", caption,
                 ["Claim", "A vs B", "Kind", "Status", "n", "n needed", "Threshold", "Test"], rows,
                 align="lllllrll")


def _where(p: Path | None) -> str:
    """A plan file as the report names it: ``plans/NAME.yaml`` of the checkout, or the results folder's copy."""
    from ..analysis.plan import PLANS

    if p is None:
        return "—"
    p = Path(p).resolve()
    return str(p.relative_to(PLANS.parent)) if p.is_relative_to(PLANS.parent) else f"{p.parent.name}/{p.name}"


def plan_lines(rs: ResultSet, plan: Plan | None, path: Path | None,
               record: dict[str, Any] | None) -> tuple[list[str], list[Table]]:
    """The section's paragraphs and tables: the plan, its arms and seeds and every deviation from it; without a
    plan, that the results are exploratory (and which runs reuse tuning seeds)."""
    if plan is None:
        return ([("Exploratory results: the results folder holds no pre-registered plan (`plan.yaml`: `ganbench plan "
                  "freeze`, then `ganbench run --plan`), so the thresholds, the claims tested and their tests were "
                  "not fixed before these data were seen. The verdicts in Claims are exploratory: they suggest what "
                  "a confirmatory run should test and confirm nothing."), _reuse(rs, record)], [])
    text = [f"Plan {plan.name}, hash {plan.hash}; frozen {plan.frozen_on} from the code at "
            f"{plan.made_at_commit[:12]}; frozen by commit "
            f"{frozen_by(committed_plan(plan, path)) if path else 'unknown'} ({_where(committed_plan(plan, path))}).",
            f"Suite {plan.suite}, profile {plan.profile}: {plan.protocol} at {plan.kimg:g} kimg, evaluated every "
            f"{plan.eval_every_kimg:g} kimg; alpha {plan.alpha:g}, {plan.correction}. Seeds {plan.seeds[0]}–"
            f"{plan.seeds[-1]} (an arm with n seeds runs the first n); arms (seeds each): "
            + ", ".join(f"{a} {n}" for a, n in plan.arms.items()) + "."]
    dev = deviations(plan, rs)
    if dev:
        text.append(f"Deviations from the plan ({len(dev)}; the analysis keeps to the plan's seeds and thresholds):")
        text += [f"{i}. {d}" for i, d in enumerate(dev, 1)]
    else:
        text.append("Deviations from the plan: none.")
    log = [e for root in rs.roots for e in run_log(root)]
    if log:
        text.append(f"Run log ({RUN_LOG} in the results folder, kept by hand: what happened to the runs that the "
                    f"results cannot show):")
        text += [f"- {e}" for e in log]
    reuse = tuning_seed_reuse(rs, record) if record else {}
    if reuse:
        text.append(_reuse(rs, record))
    return text, [_claims_table(plan)]


def plan_section(rs: ResultSet, plan: Plan | None, path: Path | None, record: dict[str, Any] | None) -> Section:
    """The report's "Plan and deviations" section."""
    text, tables = plan_lines(rs, plan, path, record)
    return Section("Plan and deviations", text, tables)

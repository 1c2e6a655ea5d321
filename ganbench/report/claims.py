"""The report's Claims section: each seed-paper claim (``ganbench/claims.yaml``) whose arms are in the results, with
our effect, its CI, the Holm-adjusted p, the minimum detectable effect and the verdict (``analysis.claims``), and
for every threshold claim a sweep of the threshold (text and figure), so that a verdict that flips with it shows."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from ..analysis.claims import (CONFIRMATORY, CONTRADICTED, MIN_SEEDS, N_BOOT, N_BOOT_SWEEP, NOT_TESTED, REPRODUCED,
                               Claim, Outcome, evaluate, has_arms)
from ..analysis.plan import THRESHOLD_RULES, Plan
from ..analysis.sample_size import POWER, rule as mde_rule
from ..analysis.survival import rules as reach_rules
from ..results import ResultSet
from . import fmt
from .document import Figure, Section, Table
from .labels import describe_group, describe_metric


def _v(x: float | None) -> str:
    return fmt.num(x)


def _p(p: float | None) -> str:
    if p is None:
        return "—"
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


def _k(x: float | None) -> str:
    """kimg, two decimals (the evaluation schedule's unit)."""
    return fmt.num(x, 2)


def _effect(o: Outcome) -> list[str]:
    """Effect, 95% CI, p, adj. p, MDE."""
    if o.mde is None:
        mde = "—"
    elif o.mde.sd == 0:
        mde = "— (no spread)"
    else:
        mde = f"{_k(o.mde.mde)} kimg" if o.reach is not None else _v(o.mde.mde)
    if o.test is not None:
        t = o.test
        ci = f"[{_v(t.ci[0])}, {_v(t.ci[1])}] (t); [{_v(t.boot_ci[0])}, {_v(t.boot_ci[1])}] (bootstrap)"
        return [_v(t.diff), ci, _p(t.p), _p(o.p_adj), mde]
    if o.reach is not None:
        r = o.reach
        return [f"{_k(r.effect)} kimg", f"[{_k(r.ci[0])}, {_k(r.ci[1])}] (bootstrap)", _p(r.p_perm), _p(o.p_adj),
                mde]
    return ["—"] * 5


def _test(o: Outcome) -> str:
    n = " / ".join(str(x) for x in o.n) if o.n else (str(len(o.seeds)) if o.seeds else "0")
    if o.test is not None:
        return f"{o.test.kind}, {n}"
    if o.reach is not None:
        how = "sign flips within seeds" if o.reach.paired else "label permutation"
        return f"RMST, {how} ({o.reach.perm}); log-rank p {_p(o.reach.p_logrank)}; {n}"
    return n if o.seeds else "—"


def _rule_short(o: Outcome) -> str:
    c = o.claim
    if o.threshold_rule.startswith("the plan's"):
        return " (the plan's)"
    if c.threshold == "pooled_median":
        return " (pooled median at the budget)"
    if c.threshold == "b_final_mean":
        return f" ({c.b.label}'s mean at the budget)"
    return ""


def _what(o: Outcome) -> str:
    c = o.claim
    if o.budget is None:
        return c.metric
    if c.kind == "final":
        return f"{c.metric} at {fmt.kimg(o.budget)} kimg"
    better = "≥" if o.higher else "≤"
    th = "—" if o.threshold is None else fmt.num(o.threshold)
    out = f"kimg until {c.metric} stays {better} {th}{_rule_short(o)}, within {fmt.kimg(o.budget)} kimg"
    r = o.reach
    if r is not None:
        cens = " (the rest censored)" if r.a.censored or r.b.censored else ""
        out += (f"; reached by {r.a.events}/{r.a.n} and {r.b.events}/{r.b.n} runs{cens}; RMST {_k(r.a.rmst)} vs "
                f"{_k(r.b.rmst)} kimg")
    return out


def data_labels(rs: ResultSet, metrics: Sequence[str]) -> str:
    """Dataset, split, resolution, preset, device and the metrics' extractor and sample counts of the groups that hold
    claim arms, for the caption (every number names what made it)."""
    from ..analysis.groups import groups

    out = []
    for g in groups(rs):
        mks = [describe_metric(mk) for mk in g.metrics if mk.protocol in metrics]
        if mks:
            out.append(f"{g.title}: {describe_group(g)}; {'; '.join(mks)}; device {', '.join(g.devices()) or '—'}")
    return " ".join(f"{x}." for x in out)


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))


def _status_text(outcomes: Sequence[Outcome], plan: Plan | None) -> str:
    if plan is None:
        return ("Exploratory: the results folder holds no pre-registered plan, so the thresholds, the claims tested "
                "and the tests were not fixed before these data (see Plan and deviations); these verdicts confirm "
                "nothing.")
    n = sum(c.status == CONFIRMATORY for c in plan.claims)
    return (f"Confirmatory, under the frozen plan {plan.name} ({plan.hash[:19]}): its confirmatory claims ({n}) are "
            f"tested, each on its planned seeds, with the plan's thresholds, alpha {plan.alpha:g} and Holm over those "
            f"{n}; claims the plan found not affordable are listed without a test.")


def claims_table(outcomes: Sequence[Outcome], labels: str = "", plan: Plan | None = None) -> Table:
    shown = [o for o in outcomes if o.verdict != NOT_TESTED]
    rows = []
    for o in shown:
        c = o.claim
        rows.append([c.id, f"{c.statement} ({c.source})", f"{c.a.label} vs {c.b.label}", _what(o), _test(o)]
                    + _effect(o) + [o.verdict + (f" ({o.reason})" if o.reason else "")])
    bold = {(i, len(rows[i]) - 1) for i, o in enumerate(shown) if o.verdict in (REPRODUCED, CONTRADICTED)}
    exts = sorted({o.extractor for o in shown if o.extractor})
    adjusted = [o for o in shown if o.p_adj is not None]
    alpha = adjusted[0].alpha if adjusted else (plan.alpha if plan else 0.05)
    m = adjusted[0].m if adjusted else 0
    kinds = {o.claim.kind for o in shown}
    parts = [_status_text(outcomes, plan),
             "Arm A (first) is claimed better than arm B; the paper's direction of A - B is negative for "
             "lower-is-better metrics and for images to a threshold."]
    if "final" in kinds:
        parts.append(f"Final values: the value at the budget (the last evaluation every complete run of both arms "
                     f"reached); effect = mean of A - B over seeds with its 95% Student-t interval and a percentile "
                     f"bootstrap interval over seeds ({N_BOOT:,} resamples). Same model: paired by seed (every "
                     f"variant trains on the same latents and data order for a seed), paired t-test; different "
                     f"models: Welch's t-test; no spread at all, where t is infinite: the exact sign-flip or "
                     f"permutation test.")
    reach = [o for o in shown if o.reach is not None]
    if reach:
        parts.append("Images to a threshold, in kimg of the evaluation schedule (evaluation k of a run evaluated every "
                     "s kimg counts as k * s kimg; the images seen there exceed it by less than one batch):")
        parts += _unique(s for o in reach for s in reach_rules(o.reach.tau, "kimg", o.reach.paired, o.reach.higher,
                                                               "", N_BOOT))
        rules = _unique(o.claim.threshold for o in reach if isinstance(o.claim.threshold, str)
                        and not o.threshold_rule.startswith("the plan's"))
        parts += [f"Threshold {r}: {THRESHOLD_RULES[r]}." for r in rules]
        if any(o.threshold_rule.startswith("the plan's") for o in reach):
            parts.append("Threshold (the plan's): the value the plan fixed when it was frozen, by its rule on the "
                         "exploratory runs.")
    if adjusted:
        claims_ = "claim" if m == 1 else "claims"
        fam = (f"the {m} confirmatory {claims_} of the plan" if plan is not None else f"the {m} {claims_} tested here")
        parts.append(f"p: two-sided (t-test, or the permutation test of the RMST difference); adj. p: Holm "
                     f"(statsmodels multipletests) over {fam}.")
        paired = _unique(o.claim.paired for o in adjusted)
        parts += [("MDE, same model: " if pr else "MDE, different models: ")
                  + mde_rule(pr, alpha, POWER, m).removeprefix("MDE: ") for pr in sorted(paired, reverse=True)]
        if reach:
            parts.append("For images to a threshold the MDE is on the per-run restricted times to the threshold "
                         "(min(time, budget), a run censored early carried by the Kaplan-Meier curve), the values "
                         "whose mean is each arm's RMST.")
    parts.append(f"Verdict: reproduced (adj. p < {alpha:g}, the paper's sign), contradicted (adj. p < {alpha:g}, the "
                 f"opposite sign), inconclusive at this budget otherwise and whenever fewer than {MIN_SEEDS} seeds "
                 f"(pairs, or per arm) are there. Extractor: {', '.join(exts) or '—'}.")
    if labels:
        parts.append(labels)
    notes = []
    missing = [o for o in outcomes if o.verdict == NOT_TESTED]
    if missing:
        notes.append("Not tested here: " + "; ".join(f"{o.claim.id} ({o.reason})" for o in missing) + ".")
    return Table("claims", "Claims of the seed papers", " ".join(parts),
                 ["Claim", "Paper's statement (source)", "A vs B", "Measured", "Test, n", "Effect A - B", "95% CI",
                  "p", "adj. p", "MDE", "Verdict"], rows, bold, notes, align="lllllrrrrrl")


# ---- threshold sensitivity -------------------------------------------------------------------------------------
def _spans(ths: Sequence[float], keep: Sequence[bool]) -> list[str]:
    """The kept thresholds as contiguous ranges of the sweep ("8.74-10.06", "26.97")."""
    out, run = [], []
    for t, k in zip(list(ths) + [math.nan], list(keep) + [False]):
        if k:
            run.append(t)
        elif run:
            out.append(fmt.num(run[0]) if len(run) == 1 else f"{fmt.num(run[0])}–{fmt.num(run[-1])}")
            run = []
    return out


def sensitivity_text(o: Outcome) -> str:
    """One paragraph: the effect at the claim's threshold, over which thresholds each arm is sooner at p < alpha
    (unadjusted), and whether the sign or the verdict depends on the threshold."""
    s, c, r = o.sensitivity, o.claim, o.reach
    ths, eff, p = s.thresholds, s.effects, s.p_perm
    alpha = o.alpha
    a_sooner = _spans(ths, [e < 0 and q < alpha for e, q in zip(eff, p)])
    b_sooner = _spans(ths, [e > 0 and q < alpha for e, q in zip(eff, p)])
    every = list(eff) + ([r.effect] if r is not None else [])
    text = (f"{c.id} ({c.a.label} vs {c.b.label}): at the claim's threshold {fmt.num(o.threshold)}, A - B = "
            f"{_k(r.effect) if r else '—'} kimg (p {_p(r.p_perm if r else None)}); over {len(ths)} thresholds from "
            f"{fmt.num(ths[0])} to {fmt.num(ths[-1])} it runs from {_k(min(eff))} to {_k(max(eff))} kimg, "
            f"{c.a.label} sooner at p < {alpha:g} for T in {', '.join(a_sooner) or 'none'} and {c.b.label} sooner for "
            f"T in {', '.join(b_sooner) or 'none'}. ")
    if a_sooner and b_sooner:
        return text + "The verdict depends on the threshold: each arm is significantly sooner at some thresholds."
    if min(every) < 0 < max(every):
        return text + "The sign of the effect changes with the threshold (significantly in one direction at most)."
    return text + "The sign of the effect does not change over the range."


def sensitivity_figure(o: Outcome, out: Path) -> Figure:
    """Effect (RMST difference, bootstrap 95% band) and p-values (permutation, log-rank) against the threshold; the
    claim's threshold marked."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s, c, r = o.sensitivity, o.claim, o.reach
    ths = list(s.thresholds)
    lo = [x.ci[0] for x in s.comparisons]
    hi = [x.ci[1] for x in s.comparisons]
    out.mkdir(parents=True, exist_ok=True)
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(6.4, 5.2), dpi=110, sharex=True,
                                 gridspec_kw={"height_ratios": [3, 2]})
    ax.fill_between(ths, lo, hi, color="tab:blue", alpha=0.2, label="bootstrap 95% interval")
    ax.plot(ths, s.effects, "o-", color="tab:blue", label="RMST A - B")
    ax.axhline(0, color="black", lw=0.8)
    if o.threshold is not None and r is not None:
        for axis in (ax, bx):
            axis.axvline(o.threshold, color="tab:red", ls="--", lw=1)
        ax.errorbar([o.threshold], [r.effect], yerr=[[r.effect - r.ci[0]], [r.ci[1] - r.effect]], fmt="s",
                    color="tab:red", capsize=3, label=f"the claim's threshold ({fmt.num(o.threshold)})")
    ax.set_ylabel("A - B (kimg; < 0: A sooner)")
    ax.set_title(f"{c.id}\nA = {c.a.label}, B = {c.b.label}", fontsize=9)
    ax.legend(fontsize=7)
    bx.plot(ths, [max(p, 1e-6) for p in s.p_perm], "o-", label="permutation p")
    bx.plot(ths, [max(p, 1e-6) for p in s.p_logrank], "x--", label="log-rank p")
    bx.axhline(o.alpha, color="grey", lw=0.8, ls=":", label=f"alpha {o.alpha:g} (unadjusted)")
    if o.threshold is not None and r is not None:
        bx.plot([o.threshold], [max(r.p_perm, 1e-6)], "s", color="tab:red")
    bx.set_yscale("log")
    if min(ths) > 0:
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        bx.set_xscale("log")
        bx.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        bx.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
        bx.xaxis.set_minor_formatter(NullFormatter())
    direction = "higher" if o.higher else "lower"
    bx.set(xlabel=f"threshold T on {c.metric} ({direction} is harder to reach)", ylabel="p (two-sided)")
    bx.legend(fontsize=7)
    fig.tight_layout()
    path = out / f"claims-sensitivity-{c.id}.png"
    fig.savefig(path)
    plt.close(fig)
    spacing = "log" if min(ths) > 0 else "linear"
    caption = (f"Threshold sensitivity of {c.id} ({c.a.label} vs {c.b.label}, {c.metric}, {o.group}): the "
               f"restricted-mean difference A - B in kimg with its percentile bootstrap 95% interval "
               f"({N_BOOT_SWEEP:,} resamples over seeds) and the permutation and log-rank p-values (unadjusted) at "
               f"{len(ths)} thresholds spaced evenly on a {spacing} scale from the best value any run reached to the "
               f"value at 0 images every run starts from; the same reach rule, censoring and budget "
               f"({fmt.num(r.tau if r else None)} kimg) as the claim. Dashed: the claim's threshold.")
    return Figure(f"claims-sensitivity-{c.id}", f"Threshold sensitivity: {c.id}", caption, path)


def claims_section(rs: ResultSet, claims: Sequence[Claim] | None = None, plan: Plan | None = None,
                   figures: Path | None = None) -> Section | None:
    """The Claims section, or None when no group holds both arms of any claim; ``figures``: where the threshold
    sensitivity figures go (None: none drawn)."""
    from ..analysis.claims import load_claims

    claims = load_claims() if claims is None else list(claims)
    if not claims or not has_arms(rs, claims):
        return None
    outcomes = evaluate(rs, claims, plan)
    swept = [o for o in outcomes if o.sensitivity is not None]
    text = []
    if swept:
        text.append("Threshold sensitivity: each threshold claim tested again at a range of thresholds with the same "
                    "rules (unadjusted p-values, descriptive).")
        text += [sensitivity_text(o) for o in swept]
    figs = [sensitivity_figure(o, figures) for o in swept] if figures is not None else []
    return Section("Claims", text,
                   tables=[claims_table(outcomes, data_labels(rs, [c.metric for c in claims]), plan)], figures=figs)


def claims_markdown(rs: ResultSet, root: Path, claims: Sequence[Claim], plan_file: Path | str | None = None) -> str:
    """``ganbench claims``: the Plan and deviations section and the Claims table with its threshold sensitivity
    (no figures), as Markdown."""
    from ..analysis.claims import plan_for
    from ..suites.tuning_record import load_record
    from .markdown import table
    from .plan import plan_lines

    plan, path = plan_for(root, plan_file)
    text, tables = plan_lines(rs, plan, path, load_record())
    lines = ["## Plan and deviations", ""]
    for p in text:
        lines += [p, ""]
    n = 0
    for t in tables:
        n += 1
        lines += table(t, n)
    outcomes = evaluate(rs, claims, plan)
    lines += ["## Claims", ""]
    lines += table(claims_table(outcomes, data_labels(rs, [c.metric for c in claims]), plan), n + 1)
    swept = [o for o in outcomes if o.sensitivity is not None]
    if swept:
        lines += ["Threshold sensitivity (unadjusted p-values, descriptive):", ""]
        lines += [x for o in swept for x in (sensitivity_text(o), "")]
    return "\n".join(lines).rstrip()

"""The report's Claims section: each seed-paper claim (``ganbench/claims.yaml``) whose arms are in the results, with
our effect, its CIs, the Holm-adjusted p, the minimum detectable effect and the verdict (``ganbench.claims``)."""
from __future__ import annotations

from typing import Sequence

from ..analysis.claims import ALPHA, MIN_SEEDS, NOT_TESTED, Claim, Outcome, evaluate, has_arms
from ..analysis.inference import N_BOOT
from . import fmt
from .document import Section, Table
from ..results import ResultSet
from .labels import describe_group, describe_metric


def _v(x: float, unit: str) -> str:
    return fmt.kimg(x) if unit == "images" else fmt.num(x)


def _p(p: float | None) -> str:
    if p is None:
        return "—"
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.1e}"


def _effect(o: Outcome) -> list[str]:
    t = o.test
    if t is None:
        return ["—", "—", "—", "—", "—"]
    u = o.unit
    unit = " kimg" if u == "images" else ""
    return [f"{_v(t.diff, u)} [{_v(t.ci[0], u)}, {_v(t.ci[1], u)}]{unit}",
            f"[{_v(t.boot_ci[0], u)}, {_v(t.boot_ci[1], u)}]", _p(t.p), _p(o.p_adj), _v(t.mde, u) + unit]


def _n(o: Outcome) -> str:
    if o.test is not None:
        return " / ".join(str(n) for n in o.test.n)
    return str(len(o.seeds)) if o.seeds else "0"


def _what(o: Outcome) -> str:
    c = o.claim
    if c.kind == "final":
        return f"{c.metric} at {fmt.kimg(o.budget)} kimg" if o.budget is not None else c.metric
    th = "—" if o.threshold is None else fmt.num(o.threshold)
    rule = " (pooled median)" if c.threshold == "pooled_median" else ""
    cens = f"; never reached: {o.censored[0]} / {o.censored[1]} runs" if any(o.censored) else ""
    return f"kimg to {c.metric} ≤ {th}{rule} within {fmt.kimg(o.budget)} kimg{cens}"


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


def claims_table(outcomes: Sequence[Outcome], labels: str = "") -> Table:
    shown = [o for o in outcomes if o.verdict != NOT_TESTED]
    rows = []
    for o in shown:
        c = o.claim
        rows.append([c.id, f"{c.statement} ({c.source})", f"{c.a.label} vs {c.b.label}", _what(o),
                     f"{o.test.kind if o.test else '—'}, {_n(o)}"] + _effect(o)
                    + [o.verdict + (f" ({o.reason})" if o.reason else "")])
    bold = {(i, len(rows[i]) - 1) for i, o in enumerate(shown) if o.verdict in ("reproduced", "contradicted")}
    exts = sorted({o.extractor for o in shown if o.extractor})
    caption = (f"The seed papers' claims (ganbench/claims.yaml) on these results: arm A (first) is claimed better "
               f"than arm B. Effect: mean of A - B over seeds with its 95% Student-t interval (metric units, or kimg "
               f"to the threshold; the paper's direction is negative for lower-is-better metrics and for images to a "
               f"threshold), and a percentile bootstrap 95% interval over seeds ({N_BOOT:,} resamples). Same model: "
               f"paired by seed (every variant trains on the same latents and data order for a seed), paired t-test; "
               f"different models: Welch's t-test (no spread at all, where t is infinite: the exact sign-flip or "
               f"permutation test). p: two-sided; adj. p: Holm over every claim tested here. MDE: the "
               f"smallest effect detectable with 80% power at alpha {ALPHA:g} at this n. Verdict: reproduced "
               f"(adj. p < {ALPHA:g}, the paper's sign), contradicted (adj. p < {ALPHA:g}, the opposite sign), "
               f"inconclusive at this budget otherwise and whenever fewer than {MIN_SEEDS} seeds (pairs, or per "
               f"arm) are there. Images to a threshold: the first evaluation after 0 images at or better than it; a "
               f"run that never reaches it is counted at its last evaluation (so a difference keeps its sign and is "
               f"understated). Extractor: {', '.join(exts) or '—'}." + (f" {labels}" if labels else ""))
    notes = []
    missing = [o for o in outcomes if o.verdict == NOT_TESTED]
    if missing:
        notes.append("Not tested here: " + "; ".join(f"{o.claim.id} ({o.reason})" for o in missing) + ".")
    return Table("claims", "Claims of the seed papers", caption,
                 ["Claim", "Paper's statement (source)", "A vs B", "Measured", "Test, n", "Effect A - B (95% CI)",
                  "Bootstrap 95% CI", "p", "adj. p", "MDE", "Verdict"], rows, bold, notes, align="lllllrrrrrl")


def claims_section(rs: ResultSet, claims: Sequence[Claim] | None = None) -> Section | None:
    """The Claims section, or None when no group holds both arms of any claim."""
    from ..analysis.claims import load_claims

    claims = load_claims() if claims is None else list(claims)
    if not claims or not has_arms(rs, claims):
        return None
    return Section("Claims", tables=[claims_table(evaluate(rs, claims), data_labels(rs, [c.metric for c in claims]))])

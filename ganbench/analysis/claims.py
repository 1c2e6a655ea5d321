"""The seed papers' claims put to the test: ``ganbench/claims.yaml`` (data) evaluated on a results directory, under
its pre-registered plan when the folder holds one (``plan.yaml``, ``analysis.plan``).

Each claim names two arms (model/variant) and says arm A is better than arm B on a metric protocol, either at the
budget (``final``) or in images to a threshold (``images_to_threshold``). The budget of a claim is the last
evaluation every complete run of both arms reached; evaluations are placed on their run's schedule (evaluation k of
a run evaluated every s kimg at k * s kimg: the trainer evaluates at the first batch boundary past it, so the images
seen there exceed it by less than one batch), so that arms with different batch sizes meet at the same budget.

Tests, per comparable group of runs (``groups``: one suite, dataset, shape and preset):

- ``final``, same model (paired by seed: the trainer gives every variant the same latents and data order for a
  seed): per-seed differences A - B, paired t-test (``inference.paired_test``), Student-t and bootstrap 95% CIs;
  different models: Welch's t-test (``inference.welch_test``); no spread at all: the exact sign-flip / permutation
  test (p >= 2 / 2^n, never 0).
- ``images_to_threshold``: a run reaches the threshold T when its curve gets there *and stays there*
  (``survival.reach_time``); a run that never does, or diverged, is censored. Effect: the difference in restricted
  mean time to T (Kaplan-Meier, up to the budget), its p from a permutation test (sign flips within seeds for arms
  of one model, label permutation otherwise), the log-rank p beside it and a bootstrap CI over seeds
  (``survival.compare_reach``). T is a number, a rule of the data (``plan.THRESHOLD_RULES``, one implementation:
  ``plan.threshold_of``) or, under a plan, the plan's frozen value. Every threshold claim also gets a sweep over
  ``N_SWEEP`` thresholds (``survival.threshold_sensitivity``), so that a verdict that flips with T is visible.

Holm's correction (``statsmodels.stats.multitest.multipletests``) runs over the family: every claim tested, or under
a plan its confirmatory claims (one that could not be tested counts with p = 1). MDE: one definition,
``sample_size.detectable_effect`` at alpha / m (m = the family's size, Holm's first step): paired = SD of the per-seed
differences, unpaired = pooled SD (two-sample); for threshold claims on the per-run restricted times. Verdict:
``reproduced`` when the adjusted p < alpha and the effect has the paper's sign, ``contradicted`` when adjusted
p < alpha and the opposite sign, ``inconclusive at this budget`` otherwise, and always when fewer than MIN_SEEDS
seeds (pairs, or per arm) are there; ``not tested`` when an arm has no complete run. Under a plan only its
confirmatory claims are tested, each on its planned seeds, and a claim the plan found not affordable is listed as
such with no test.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from statsmodels.stats.multitest import multipletests

from ..errors import GanbenchError
from ..io import read_yaml
from .inference import ALPHA, Test, paired_test, welch_test
from .plan import THRESHOLD_RULES as RULE_TEXTS
from .plan import Plan, budget_of, load_plan, plan_of, threshold_of, value_at
from .sample_size import DetectableEffect, detectable_effect_of
from .survival import ReachComparison, ThresholdSensitivity, compare_reach, threshold_sensitivity

DEFAULT_CLAIMS = Path(__file__).resolve().parents[1] / "claims.yaml"
FORMAT = "ganbench-claims/1"
KINDS = ("final", "images_to_threshold")
THRESHOLD_RULES = tuple(RULE_TEXTS)  # pooled_median, b_final_mean
MIN_SEEDS = 3  # nothing is called reproduced or contradicted on fewer seeds (pairs, or per arm)
N_SWEEP = 15  # thresholds in a claim's sensitivity sweep
N_BOOT = 10_000  # bootstrap resamples of a threshold claim's interval
N_BOOT_SWEEP = 2_000  # ... of each point of its sweep
REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_TESTED = ("reproduced", "contradicted", "inconclusive at this budget",
                                                      "not tested")
NOT_AFFORDABLE = "not affordable at this budget"
EXPLORATORY, CONFIRMATORY, NOT_PLANNED = "exploratory", "confirmatory", "not in the plan"


@dataclass(frozen=True)
class Arm:
    model: str
    variant: str = "default"

    @property
    def label(self) -> str:
        return self.model if self.variant == "default" else f"{self.model}/{self.variant}"


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str
    source: str
    a: Arm  # the paper says A is better than B
    b: Arm
    metric: str  # a metric protocol name
    kind: str = "final"
    threshold: float | str | None = None  # images_to_threshold: a value or a rule (THRESHOLD_RULES)

    @property
    def paired(self) -> bool:
        return self.a.model == self.b.model


# ---- the claims file ------------------------------------------------------------------------------------------
def _arm(d: Any, where: str) -> Arm:
    if not isinstance(d, dict) or not isinstance(d.get("model"), str) or set(d) - {"model", "variant"}:
        raise GanbenchError(f"{where}: an arm is {{model, variant}}, got {d!r}")
    from ..models import MODELS
    from ..registry import unknown
    cls = MODELS.get(d["model"])  # unknown model: GanbenchError
    variant = str(d.get("variant", "default"))
    if variant not in cls.variants:
        what = "variant for " + d["model"]
        raise GanbenchError(f"{where}: {unknown(what, variant, cls.variants)}")
    return Arm(d["model"], variant)


def parse_claims(data: Any, where: str = "claims") -> list[Claim]:
    """Claims from the parsed YAML (validated: keys, arms, metric protocol, kind, threshold, unique ids)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("claims"), list):
        raise GanbenchError(f"{where}: expected a mapping with format: {FORMAT} and a list 'claims'")
    from ..metrics import PROTOCOLS
    required = {"id", "statement", "source", "a", "b", "metric", "kind"}
    out: list[Claim] = []
    for i, c in enumerate(data["claims"]):
        at = f"{where}: claim {i + 1}"
        if not isinstance(c, dict) or required - set(c) or set(c) - required - {"threshold"}:
            raise GanbenchError(f"{at}: needs exactly {sorted(required)} (and 'threshold' for images_to_threshold)")
        at = f"{where}: claim {c['id']}"
        if c["kind"] not in KINDS:
            raise GanbenchError(f"{at}: kind must be one of {', '.join(KINDS)}, got {c['kind']!r}")
        if c["metric"] not in PROTOCOLS:
            raise GanbenchError(f"{at}: unknown metric protocol {c['metric']!r}")
        th = c.get("threshold")
        if c["kind"] == "images_to_threshold":
            if not (th in THRESHOLD_RULES or (isinstance(th, (int, float)) and not isinstance(th, bool)
                                              and math.isfinite(th))):
                raise GanbenchError(f"{at}: threshold must be a number or one of {', '.join(THRESHOLD_RULES)}, "
                                    f"got {th!r}")
        elif th is not None:
            raise GanbenchError(f"{at}: 'threshold' only goes with kind images_to_threshold")
        a, b = _arm(c["a"], at), _arm(c["b"], at)
        if a == b:
            raise GanbenchError(f"{at}: arms a and b are the same ({a.label})")
        out.append(Claim(str(c["id"]), str(c["statement"]), str(c["source"]), a, b, c["metric"], c["kind"],
                         float(th) if isinstance(th, (int, float)) else th))
    ids = [c.id for c in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise GanbenchError(f"{where}: duplicate claim id(s): {', '.join(dup)}")
    return out


def load_claims(path: Path | str = DEFAULT_CLAIMS) -> list[Claim]:
    """The claims of a YAML file (default: the committed ganbench/claims.yaml)."""
    return parse_claims(read_yaml(path, "claims file"), str(path))


# ---- evaluation -----------------------------------------------------------------------------------------------
@dataclass
class ArmRuns:
    """One arm's runs in a group: per seed, its (images_seen, value) curve on the claim's metric, evaluations placed
    on the run's schedule (``_on_schedule``)."""
    curves: dict[int, list[tuple[float, float]]] = field(default_factory=dict)  # complete runs
    diverged: dict[int, list[tuple[float, float]]] = field(default_factory=dict)  # runs that diverged
    incomplete: int = 0  # runs of the arm that did not complete (diverged, failed, running)


@dataclass
class Outcome:
    claim: Claim
    group: str  # the group (suite) the arms were found in
    verdict: str
    reason: str = ""
    status: str = EXPLORATORY  # exploratory (no plan) | confirmatory | not affordable | not in the plan
    test: Test | None = None  # final: the t-test (or its exact stand-in)
    reach: ReachComparison | None = None  # images_to_threshold: the restricted-mean comparison
    sensitivity: ThresholdSensitivity | None = None  # images_to_threshold: the same at N_SWEEP thresholds
    p_adj: float | None = None
    mde: DetectableEffect | None = None
    alpha: float = ALPHA
    m: int = 0  # the size of the Holm family the claim was adjusted in
    budget: float | None = None  # images seen at the budget (final: the evaluation compared; threshold: tau)
    threshold: float | None = None
    threshold_rule: str = ""  # how the threshold was set
    censored: tuple[int, int] = (0, 0)  # images_to_threshold: runs of A / B that never reached the threshold
    seeds: tuple[int, ...] = ()
    extractor: str = ""
    unit: str = ""  # what the effect is measured in: the metric protocol, or "kimg"
    expected_sign: int = -1  # the sign of A - B the paper predicts
    higher: bool = False  # the metric's direction (higher is better)
    incomplete: tuple[int, int] = (0, 0)
    n_needed: float | None = None  # not affordable: the seeds the plan's power analysis asked for
    values: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())  # per-seed values the MDE uses (paired: aligned)

    @property
    def p(self) -> float | None:
        """The raw two-sided p that Holm adjusts (t / exact test, or the permutation test of the RMST)."""
        if self.test is not None:
            return self.test.p
        return self.reach.p_perm if self.reach is not None else None

    @property
    def effect(self) -> float | None:
        if self.test is not None:
            return self.test.diff
        return self.reach.effect if self.reach is not None else None

    @property
    def n(self) -> tuple[int, ...]:
        """(pairs,) or (runs of A, runs of B) the test used."""
        if self.test is not None:
            return self.test.n
        if self.reach is not None:
            return (self.reach.a.n,) if self.reach.paired else (self.reach.a.n, self.reach.b.n)
        return ()


def _on_schedule(images: list[float], every_kimg: Any) -> list[float]:
    """Evaluation k of a run evaluated every s kimg placed at k * s kimg (the images seen there exceed it by less
    than one batch); the recorded images when the run has no schedule or an evaluation lies a quarter of an interval
    or more off it."""
    try:
        step = float(every_kimg) * 1000
    except (TypeError, ValueError):
        return images
    if not (math.isfinite(step) and step > 0):
        return images
    placed = [round(i / step) * step for i in images]
    if len(set(placed)) != len(placed) or any(abs(i - p) >= step / 4 for i, p in zip(images, placed)):
        return images
    return placed


def _arm_runs(group, arm: Arm, metric: str, seeds: set[int] | None = None) -> ArmRuns:
    """The arm's runs in ``group`` (only ``seeds`` when given: a plan's seeds)."""
    out = ArmRuns()
    runs = group.subset(arm.model, arm.variant)
    rows = group.rows[group.rows["protocol"] == metric]
    for run in runs.itertuples():
        if seeds is not None and int(run.seed) not in seeds:
            continue
        if run.status != "complete":
            out.incomplete += 1
            if run.status != "diverged":
                continue
        rr = rows[rows["run"] == run.run].sort_values("images_seen")
        if len(rr):
            images = _on_schedule([float(i) for i in rr["images_seen"]], getattr(run, "eval_every_kimg", None))
            curve = [(i, float(v)) for i, v in zip(images, rr["value"])]
            (out.curves if run.status == "complete" else out.diverged)[int(run.seed)] = curve
    return out


def _higher(group, metric: str) -> bool:
    """The metric's direction as its rows record it (``higher_is_better``); a metric with no row here (the claim is
    then not tested) takes its protocol's declared direction."""
    mk = next((mk for mk in group.metrics if mk.protocol == metric), None)
    if mk is not None:
        return mk.higher
    from ..metrics import PROTOCOLS
    return bool(PROTOCOLS.get(metric).higher_is_better)


def sweep_thresholds(curves: Sequence[list[tuple[float, float]]], higher: bool, budget: float,
                     n: int = N_SWEEP) -> list[float]:
    """``n`` thresholds from the best value any run reached (after 0 images, by the budget) to the value at 0 images
    that every run starts from (the lowest of them for a lower-is-better metric): evenly spaced on a log scale when
    both ends are positive, else linearly. Empty when the runs never got better than where they started."""
    after = [v for c in curves for i, v in c if 0 < i <= budget and math.isfinite(v)]
    start = [v for c in curves for i, v in c if i == 0 and math.isfinite(v)]
    if not after:
        return []
    if not start:  # no evaluation at 0 images: the first evaluations stand in
        start = [next(v for i, v in c if i > 0) for c in curves if any(i > 0 for i, _ in c)]
    best = max(after) if higher else min(after)
    init = max(start) if higher else min(start)
    if (init <= best) if not higher else (init >= best):
        return []
    grid = np.geomspace(best, init, n) if best > 0 and init > 0 else np.linspace(best, init, n)
    return [float(x) for x in grid]


def _test_final(o: Outcome, c: Claim, ra: ArmRuns, rb: ArmRuns, budget: float) -> None:
    va = {s: value_at(cv, budget) for s, cv in ra.curves.items()}
    vb = {s: value_at(cv, budget) for s, cv in rb.curves.items()}
    if c.paired:
        seeds = sorted(set(va) & set(vb))
        o.seeds = tuple(seeds)
        if len(seeds) < 2:
            o.reason = f"{len(seeds)} seed(s) with complete runs of both arms: no test"
            return
        o.values = (tuple(va[s] for s in seeds), tuple(vb[s] for s in seeds))
        o.test = paired_test(*o.values)
    else:
        o.seeds = tuple(sorted(set(va) | set(vb)))
        if min(len(va), len(vb)) < 2:
            o.reason = f"{len(va)} and {len(vb)} complete seeds: no test (Welch needs 2+ per arm)"
            return
        o.values = (tuple(va[s] for s in sorted(va)), tuple(vb[s] for s in sorted(vb)))
        o.test = welch_test(*o.values)


def _test_threshold(o: Outcome, c: Claim, ra: ArmRuns, rb: ArmRuns, budget: float, higher: bool,
                    fixed: tuple[float, str] | None, sweep: bool) -> None:
    t, o.threshold_rule = fixed if fixed is not None else threshold_of(c.threshold, ra.curves, rb.curves, budget)
    o.threshold = float(t)
    kimg = lambda arm: {s: [(i / 1000, v) for i, v in cv] for s, cv in {**arm.curves, **arm.diverged}.items()}  # noqa: E731
    ca, cb = kimg(ra), kimg(rb)
    common = dict(paired=c.paired, higher=higher, tau=budget / 1000, unit="kimg", diverged_a=set(ra.diverged),
                  diverged_b=set(rb.diverged))
    o.seeds = tuple(sorted(set(ca) & set(cb))) if c.paired else tuple(sorted(set(ca) | set(cb)))
    try:
        r = compare_reach(ca, cb, o.threshold, n_boot=N_BOOT, **common)
    except GanbenchError as e:
        o.reason = f"no test: {e}"
        return
    o.reach = r
    o.censored = (r.a.censored, r.b.censored)
    o.values = (r.a.restricted, r.b.restricted)
    if sweep:
        ths = sweep_thresholds([*ca.values(), *cb.values()], higher, budget / 1000)
        if ths:
            o.sensitivity = threshold_sensitivity(ca, cb, ths, n_boot=N_BOOT_SWEEP, **common)


def evaluate_group(group, claims: Sequence[Claim], plan: Plan | None = None, sweep: bool = True) -> list[Outcome]:
    """Every claim whose two arms both have runs in ``group`` (unadjusted; ``adjust`` adds Holm and verdicts).
    ``plan``: its thresholds replace the claims' rules and each arm is read on its planned seeds only."""
    out = []
    for c in claims:
        if not len(group.subset(c.a.model, c.a.variant)) or not len(group.subset(c.b.model, c.b.variant)):
            continue
        higher = _higher(group, c.metric)
        seeds = {}
        if plan is not None:
            seeds = {a: set(plan.seeds[:plan.arms.get(a.label, 0)]) for a in (c.a, c.b)}
        ra, rb = (_arm_runs(group, a, c.metric, seeds.get(a)) for a in (c.a, c.b))
        ext = group.rows.loc[group.rows["protocol"] == c.metric, "extractor"].dropna()
        o = Outcome(c, group.title, NOT_TESTED, extractor=str(ext.iloc[0]) if len(ext) else "",
                    status=CONFIRMATORY if plan is not None else EXPLORATORY, higher=higher,
                    incomplete=(ra.incomplete, rb.incomplete),
                    expected_sign=-1 if c.kind == "images_to_threshold" or not higher else 1,
                    unit="kimg" if c.kind == "images_to_threshold" else c.metric)
        out.append(o)
        if not ra.curves or not rb.curves:
            o.reason = (f"no complete run with {c.metric} of "
                        + " and ".join(a.label for a, r in ((c.a, ra), (c.b, rb)) if not r.curves))
            continue
        o.budget = budget_of(ra.curves, rb.curves)
        if c.kind == "final":
            _test_final(o, c, ra, rb, o.budget)
        else:
            fixed = None
            cp = plan.claim(c.id) if plan is not None else None
            if cp is not None and cp.threshold is not None:
                fixed = (float(cp.threshold), f"the plan's, fixed when it was frozen ({cp.threshold_rule}, on the "
                                              f"exploratory runs)")
            _test_threshold(o, c, ra, rb, o.budget, higher, fixed, sweep)
    return out


def adjust(outcomes: list[Outcome], alpha: float = ALPHA, family: Sequence[str] | None = None) -> list[Outcome]:
    """Holm's correction (statsmodels ``multipletests``) over the family, the MDE at alpha / m, then the verdicts
    (in place; returns them). ``family``: the claim ids of a plan's confirmatory claims (each that has no test
    counts with p = 1); default: every outcome with a test."""
    tested = [o for o in outcomes if o.p is not None]
    untested = 0
    if family is not None:
        tested = [o for o in tested if o.claim.id in set(family)]
        untested = len(set(family) - {o.claim.id for o in tested})
    m = len(tested) + untested
    if m:
        p_adj = multipletests([o.p for o in tested] + [1.0] * untested, alpha=alpha, method="holm")[1]
    for o, p in zip(tested, p_adj if m else []):
        o.p_adj, o.alpha, o.m = float(p), alpha, m
        o.mde = detectable_effect_of(*o.values, paired=o.claim.paired, alpha=alpha, m=m)
        n = min(o.n)
        sign = (o.effect > 0) - (o.effect < 0)
        if n < MIN_SEEDS:
            o.verdict = INCONCLUSIVE
            o.reason = (f"{n} {'pair' if o.claim.paired else 'seed'}(s) per arm: fewer than {MIN_SEEDS}, no verdict "
                        f"is drawn")
        elif p < alpha and sign == o.expected_sign:
            o.verdict = REPRODUCED
        elif p < alpha and sign == -o.expected_sign:
            o.verdict = CONTRADICTED
        else:
            o.verdict = INCONCLUSIVE
            o.reason = f"adjusted p {p:.3g} >= {alpha:g}" if p >= alpha else "effect of neither sign"
    for o in outcomes:
        if o.p_adj is None and o.verdict == NOT_TESTED and o.budget is not None:
            o.verdict = INCONCLUSIVE
        if family is not None and o.p_adj is None and o.claim.id in set(family):
            o.reason = (o.reason + "; " if o.reason else "") + f"counted in the Holm family (m = {m}) with p = 1"
    return outcomes


def _plan_claims(claims: Sequence[Claim], plan: Plan) -> tuple[list[Claim], list[Outcome]]:
    """The claims a plan tests (confirmatory), and outcomes for the others (not affordable: with the n it would
    need; not in the plan). A claim whose arms or kind differ from the plan's is a one-line error."""
    tested, other = [], []
    for c in claims:
        cp = plan.claim(c.id)
        if cp is None:
            other.append(Outcome(c, "—", NOT_TESTED, status=NOT_PLANNED,
                                 reason=f"not in the plan {plan.name}: not tested"))
            continue
        if (cp.a, cp.b, cp.kind) != (c.a.label, c.b.label, c.kind):
            raise GanbenchError(f"claim {c.id}: the claims file says {c.a.label} vs {c.b.label} ({c.kind}), the plan "
                                f"{plan.name} {cp.a} vs {cp.b} ({cp.kind}); analyse with the claims the plan was "
                                f"frozen with")
        if cp.status == CONFIRMATORY:
            tested.append(c)
        else:
            what = "pairs" if cp.paired else "seeds per arm"
            sizing = str(cp.exploratory.get("sizing", ""))
            if math.isinf(cp.n_needed):  # the exploratory effect pointed away from the paper: power never comes
                eff = cp.exploratory.get("effect")
                why = (f"the exploratory effect A - B{'' if eff is None else f' = {eff:+.3g}'} had the sign opposite "
                       f"to the paper's: no number of {what} gives power")
                sizing = f"n needed {sizing}"
            else:
                why = f"needs n = {cp.n_needed:.0f} {what}"
            other.append(Outcome(c, "—", f"{NOT_AFFORDABLE} ({why})", status=cp.status, n_needed=cp.n_needed,
                                 reason=f"the plan's power analysis: {sizing}"))
    return tested, other


def evaluate(rs, claims: Sequence[Claim] | None = None, plan: Plan | None = None,
             sweep: bool = True) -> list[Outcome]:
    """Every claim in every group of a ``results.ResultSet`` (or a results directory), Holm-adjusted together;
    claims whose arms are in no group are ``not tested``. ``plan``: the frozen plan the results were run under
    (``plan_for``): it decides which claims are tested, their thresholds, seeds, alpha and Holm family."""
    from ..results import ResultSet, load
    from .groups import groups

    if not isinstance(rs, ResultSet):
        rs = load(Path(rs))
    claims = load_claims() if claims is None else list(claims)
    order = {c.id: i for i, c in enumerate(claims)}
    tested, out = (claims, []) if plan is None else _plan_claims(claims, plan)
    if plan is not None:
        out = list(out)
        gs = [g for g in groups(rs) if g.suite == plan.suite]
    else:
        gs = groups(rs)
    found = set()
    for g in gs:
        for o in evaluate_group(g, tested, plan, sweep):
            out.append(o)
            found.add(o.claim.id)
    for c in tested:
        if c.id not in found:
            missing = [a.label for a in (c.a, c.b) if not ((rs.runs["model"] == a.model)
                                                          & (rs.runs["variant"] == a.variant)).any()]
            out.append(Outcome(c, "—", NOT_TESTED, status=CONFIRMATORY if plan is not None else EXPLORATORY,
                               reason=("no runs of " + " and ".join(missing)) if missing
                               else "the arms are in different suites/datasets/presets"))
    out.sort(key=lambda o: order[o.claim.id])  # stable: a claim's groups in group order
    if plan is None:
        return adjust(out)
    return adjust(out, plan.alpha, [c.id for c in plan.claims if c.status == CONFIRMATORY])


def plan_for(root: Path | str, plan_file: Path | str | None = None) -> tuple[Plan | None, Path | None]:
    """The plan a results folder is analysed under, and its file: ``plan_file`` when given (a one-line error when
    the folder holds another plan), else the folder's ``plan.yaml`` (``ganbench run --plan`` copies it there), else
    (None, None): the results are exploratory."""
    copy = Path(root) / "plan.yaml"
    if plan_file is None:
        plan = plan_of(Path(root))
        return (plan, copy) if plan is not None else (None, None)
    plan = load_plan(plan_file)
    held = plan_of(Path(root))
    if held is not None and held.hash != plan.hash:
        raise GanbenchError(f"{root} was run under another plan ({copy}: {held.name}, {held.hash[:19]}), not "
                            f"{plan_file}")
    return plan, Path(plan_file)


def has_arms(rs, claims: Sequence[Claim]) -> bool:
    """Whether some group of the results holds both arms of some claim (the report then shows the Claims table)."""
    from .groups import groups
    return any(len(g.subset(c.a.model, c.a.variant)) and len(g.subset(c.b.model, c.b.variant))
               for g in groups(rs) for c in claims)

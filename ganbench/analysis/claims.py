"""The seed papers' claims put to the test: ``ganbench/claims.yaml`` (data) evaluated on a results directory.

Each claim names two arms (model/variant) and says arm A is better than arm B on a metric protocol, either at the
budget (``final``: the value at the last evaluation every run of both arms reached) or in images to a threshold
(``images_to_threshold``; see the YAML header for the threshold rule and how runs that never reach it are censored).

Tests, per comparable group of runs (``groups``: one suite, dataset, shape and preset):

- same model (paired by seed, as the trainer gives every variant the same latents and data order for a seed):
  per-seed differences A - B, paired t-test (``scipy.stats.ttest_rel``), Student-t 95% CI of the mean difference,
  a percentile bootstrap 95% CI over seeds, and the minimum detectable effect at 80% power, alpha 0.05 two-sided:
  MDE = (t(0.975, n-1) + t(0.8, n-1)) * sd / sqrt(n);
- different models (not paired): Welch's t-test, Welch-Satterthwaite df, the same CI/bootstrap/MDE with
  se = sqrt(sA^2/nA + sB^2/nB);
- no spread at all (constant differences, or identical values within each arm: common for images to a threshold,
  which moves in steps of the evaluation interval), where a t statistic is infinite: the exact sign-flip (paired) or
  permutation (unpaired) test instead, so constant differences on n pairs give p = 2 / 2^n, never 0.

Holm's correction runs over every claim tested (every one with a p-value). Verdict: ``reproduced`` when the
adjusted p < ALPHA and the mean difference has the paper's sign, ``contradicted`` when adjusted p < ALPHA and the
opposite sign, ``inconclusive at this budget`` otherwise, and always when fewer than MIN_SEEDS seeds (pairs, or
per arm) are there; ``not tested`` when an arm has no complete run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import GanbenchError
from ..io import read_yaml
from .inference import ALPHA, Test, holm, paired_test, welch_test

DEFAULT_CLAIMS = Path(__file__).resolve().parents[1] / "claims.yaml"
FORMAT = "ganbench-claims/1"
KINDS = ("final", "images_to_threshold")
THRESHOLD_RULES = ("pooled_median", "b_final_mean")
MIN_SEEDS = 3  # nothing is called reproduced or contradicted on fewer seeds (pairs, or per arm)
REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_TESTED = ("reproduced", "contradicted", "inconclusive at this budget",
                                                      "not tested")


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
    """One arm's complete runs in a group: per seed, its (images_seen, value) curve on the claim's metric."""
    curves: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    incomplete: int = 0  # runs of the arm that did not complete (diverged, failed, running)


@dataclass
class Outcome:
    claim: Claim
    group: str  # the group (suite) the arms were found in
    verdict: str
    reason: str = ""
    test: Test | None = None
    p_adj: float | None = None
    budget: float | None = None  # images seen at the evaluation compared (final) / the last one searched
    threshold: float | None = None
    censored: tuple[int, int] = (0, 0)  # images_to_threshold: runs of A / B that never reached the threshold
    seeds: tuple[int, ...] = ()
    extractor: str = ""
    unit: str = ""  # what the difference is measured in
    expected_sign: int = -1  # the sign of A - B the paper predicts
    incomplete: tuple[int, int] = (0, 0)


def _arm_runs(group, arm: Arm, metric: str) -> ArmRuns:
    out = ArmRuns()
    runs = group.subset(arm.model, arm.variant)
    rows = group.rows[group.rows["protocol"] == metric]
    for run in runs.itertuples():
        if run.status != "complete":
            out.incomplete += 1
            continue
        rr = rows[rows["run"] == run.run].sort_values("images_seen")
        if len(rr):
            out.curves[int(run.seed)] = [(float(i), float(v)) for i, v in zip(rr["images_seen"], rr["value"])]
    return out


def _at(curve: list[tuple[float, float]], budget: float) -> float:
    return [v for i, v in curve if i <= budget][-1]


def _first_reach(curve: list[tuple[float, float]], t: float, higher: bool, budget: float) -> tuple[float, bool]:
    """(images seen at the first evaluation after 0 images at or better than t, reached); else (the last
    evaluation's images seen, False): censored."""
    pts = [(i, v) for i, v in curve if 0 < i <= budget]
    for i, v in pts:
        if (v >= t if higher else v <= t):
            return i, True
    return (pts[-1][0] if pts else budget), False


def _higher(group, metric: str) -> bool:
    """The metric's direction as its rows record it (``higher_is_better``); a metric with no row here (the claim is
    then not tested) takes its protocol's declared direction."""
    mk = next((mk for mk in group.metrics if mk.protocol == metric), None)
    if mk is not None:
        return mk.higher
    from ..metrics import PROTOCOLS
    return bool(PROTOCOLS.get(metric).higher_is_better)


def evaluate_group(group, claims: Sequence[Claim]) -> list[Outcome]:
    """Every claim whose two arms both have runs in ``group`` (unadjusted; ``adjust`` adds Holm and verdicts)."""
    out = []
    for c in claims:
        if not len(group.subset(c.a.model, c.a.variant)) or not len(group.subset(c.b.model, c.b.variant)):
            continue
        higher = _higher(group, c.metric)
        ra, rb = _arm_runs(group, c.a, c.metric), _arm_runs(group, c.b, c.metric)
        ext = group.rows.loc[group.rows["protocol"] == c.metric, "extractor"].dropna()
        o = Outcome(c, group.title, NOT_TESTED, extractor=str(ext.iloc[0]) if len(ext) else "",
                    incomplete=(ra.incomplete, rb.incomplete),
                    expected_sign=-1 if c.kind == "images_to_threshold" or not higher else 1,
                    unit="images" if c.kind == "images_to_threshold" else c.metric)
        out.append(o)
        if not ra.curves or not rb.curves:
            o.reason = (f"no complete run with {c.metric} of "
                        + " and ".join(a.label for a, r in ((c.a, ra), (c.b, rb)) if not r.curves))
            continue
        budget = min(curve[-1][0] for r in (ra, rb) for curve in r.curves.values())
        o.budget = budget
        if c.kind == "final":
            va = {s: _at(cv, budget) for s, cv in ra.curves.items()}
            vb = {s: _at(cv, budget) for s, cv in rb.curves.items()}
        else:
            t = c.threshold
            if t == "pooled_median":
                t = float(np.median([_at(cv, budget) for r in (ra, rb) for cv in r.curves.values()]))
            elif t == "b_final_mean":
                t = float(np.mean([_at(cv, budget) for cv in rb.curves.values()]))
            o.threshold = float(t)
            ha = {s: _first_reach(cv, t, higher, budget) for s, cv in ra.curves.items()}
            hb = {s: _first_reach(cv, t, higher, budget) for s, cv in rb.curves.items()}
            va, vb = {s: h[0] for s, h in ha.items()}, {s: h[0] for s, h in hb.items()}
        if c.paired:
            seeds = sorted(set(va) & set(vb))
            o.seeds = tuple(seeds)
            if c.kind == "images_to_threshold":
                o.censored = (sum(not ha[s][1] for s in seeds), sum(not hb[s][1] for s in seeds))
            if len(seeds) < 2:
                o.reason = f"{len(seeds)} seed(s) with complete runs of both arms: no test"
                continue
            o.test = paired_test([va[s] for s in seeds], [vb[s] for s in seeds])
        else:
            o.seeds = tuple(sorted(set(va) | set(vb)))
            if c.kind == "images_to_threshold":
                o.censored = (sum(not h[1] for h in ha.values()), sum(not h[1] for h in hb.values()))
            if min(len(va), len(vb)) < 2:
                o.reason = f"{len(va)} and {len(vb)} complete seeds: no test (Welch needs 2+ per arm)"
                continue
            o.test = welch_test(list(va.values()), list(vb.values()))
    return out


def adjust(outcomes: list[Outcome], alpha: float = ALPHA) -> list[Outcome]:
    """Holm's correction over every outcome with a test, then the verdicts (in place; returns them)."""
    tested = [o for o in outcomes if o.test is not None]
    for o, p in zip(tested, holm([o.test.p for o in tested])):
        o.p_adj = p
        n = min(o.test.n)
        sign = (o.test.diff > 0) - (o.test.diff < 0)
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
        if o.test is None and o.verdict == NOT_TESTED and o.budget is not None:
            o.verdict = INCONCLUSIVE
    return outcomes


def evaluate(rs, claims: Sequence[Claim] | None = None) -> list[Outcome]:
    """Every claim in every group of a ``results.ResultSet`` (or a results directory), Holm-adjusted together;
    claims whose arms are in no group are ``not tested``."""
    from ..results import ResultSet, load
    from .groups import groups

    if not isinstance(rs, ResultSet):
        rs = load(Path(rs))
    claims = load_claims() if claims is None else list(claims)
    out: list[Outcome] = []
    for g in groups(rs):
        out += evaluate_group(g, claims)
    order = {c.id: i for i, c in enumerate(claims)}
    out.sort(key=lambda o: order[o.claim.id])  # stable: a claim's groups in group order
    found = {o.claim.id for o in out}
    for c in claims:
        if c.id not in found:
            missing = [a.label for a in (c.a, c.b) if not ((rs.runs["model"] == a.model)
                                                          & (rs.runs["variant"] == a.variant)).any()]
            out.append(Outcome(c, "—", NOT_TESTED, reason=("no runs of " + " and ".join(missing)) if missing
                               else "the arms are in different suites/datasets/presets"))
    out.sort(key=lambda o: order[o.claim.id])
    return adjust(out)


def has_arms(rs, claims: Sequence[Claim]) -> bool:
    """Whether some group of the results holds both arms of some claim (the report then shows the Claims table)."""
    from .groups import groups
    return any(len(g.subset(c.a.model, c.a.variant)) and len(g.subset(c.b.model, c.b.variant))
               for g in groups(rs) for c in claims)

"""The pre-registered analysis plan of a confirmatory run (``ganbench plan freeze``; issue #32).

A plan is frozen before its runs, committed, and then read by everything that runs or analyses them: which arms
train on which seeds (seeds no tuning run used), the budget, the metric protocol, every claim's test and fixed
threshold, alpha and the correction. It is sized by a power analysis on an *exploratory* results folder: per claim,
the exploratory effect and seed SD (tuning seeds left out) give the seeds needed to detect that effect with
``POWER`` at alpha / m (m claims, the threshold of Holm's first step, so Bonferroni's bound); a claim needing more
than ``n_max`` seeds is declared *not affordable at this budget* with the n it would need, and is not run.

The file carries a sha256 of its content (``hash``): an edited plan no longer loads. Running under a plan copies it
into the results folder (``plan.yaml``); the analysis takes every threshold and test from the plan and lists each
departure from it as a deviation (``deviations``): seeds or arms added or missing, another budget, metric or
evaluation schedule, runs made from a dirty tree or from code older than the plan.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import math
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import GanbenchError

FORMAT = "ganbench-plan/1"
POWER = 0.8
ALPHA = 0.05
N_MAIN = 10  # seeds of every model's default arm (the main table)
N_MIN = 5  # no arm of a confirmatory claim runs on fewer
N_MAX = 30  # the most seeds an arm may need before its claim is not affordable at this budget
FIRST_SEED = 100  # confirmatory seeds start here: above every tuning and exploratory seed
REACH_RULE = ("stay-below: a run reaches T at the first evaluation after 0 images from which every later evaluation is "
              "at or better than T; a run that never does (or ends worse than T, or diverges) is censored")
MAIN_TABLE = ("every model's default arm on all its planned seeds, the primary protocol at the budget: rank intervals "
              "from all-pairs two-sided Welch t-tests (a permutation test where a pair has no spread) with Holm over "
              "all pairs (statsmodels), alpha {alpha}; best rank = 1 + models significantly better, worst = K - "
              "models significantly worse; bold only a model significantly better than every other. Beside it: "
              "each run's best value (mean and 95% t-interval), the share of runs that collapsed (final > "
              "{factor} x own best) and diverged runs; the copying checks ({secondary}) as mean and 95% t-interval "
              "over seeds and the share of runs flagged, never ranked.")
BUDGET_RULE = "the budget = the last evaluation every complete run of both arms reached"
THRESHOLD_RULES = {  # the one implementation of the rules: threshold_of (ganbench claims and plan freeze use it)
    "pooled_median": f"the median, over every complete run of both arms, of its value at the budget ({BUDGET_RULE})",
    "b_final_mean": f"arm B's mean value at the budget over its complete runs ({BUDGET_RULE}; the paper's 'passes "
                    f"B's best')",
}


@dataclass(frozen=True)
class ClaimPlan:
    """How one claim is tested: its arms, test, threshold (fixed here) and the seeds it gets."""

    id: str
    kind: str  # final | images_to_threshold
    a: str  # arm labels: model or model/variant
    b: str
    paired: bool
    test: str
    status: str  # confirmatory | not affordable
    n: int | None  # pairs (paired) or seeds per arm it is tested on at least; None when not affordable
    n_needed: float  # from the power analysis (inf: the exploratory estimate has the wrong sign or is 0)
    threshold: float | None = None
    threshold_rule: str | None = None
    exploratory: dict[str, Any] = field(default_factory=dict)  # effect, sd, d, seeds of the power analysis


@dataclass(frozen=True)
class Plan:
    name: str
    suite: str
    profile: str
    protocol: str  # the metric protocol every table and claim uses
    secondary: tuple[str, ...]  # protocols reported beside it, tested by nothing
    seeds: tuple[int, ...]  # the confirmatory seeds; an arm with n seeds runs the first n
    arms: dict[str, int]  # arm label -> seeds
    kimg: float
    eval_every_kimg: float
    alpha: float
    correction: str
    power: float
    n_main: int
    n_min: int
    n_max: int
    m_sizing: int  # the number of claims alpha was divided by when sizing
    reach_rule: str
    collapse_factor: float
    main_table: str  # how the models are ranked and what stands beside their quality
    claims: tuple[ClaimPlan, ...]
    exploratory: dict[str, Any]  # results folder, seeds used and left out (and why), commits, devices
    compute: dict[str, Any]  # the expected cost, from the exploratory runs' train times
    made_at_commit: str
    frozen_on: str
    hash: str = ""

    def claim(self, cid: str) -> ClaimPlan | None:
        return next((c for c in self.claims if c.id == cid), None)

    def planned_runs(self) -> set[tuple[str, int]]:
        """Every (arm, seed) the plan runs."""
        return {(arm, s) for arm, n in self.arms.items() for s in self.seeds[:n]}

    def to_doc(self) -> dict[str, Any]:
        d = asdict(self)
        d["seeds"], d["secondary"] = list(self.seeds), list(self.secondary)
        d["claims"] = [{k: (None if isinstance(v, float) and math.isinf(v) and k != "n_needed" else v)
                        for k, v in asdict(c).items()} for c in self.claims]
        for c in d["claims"]:
            c["n_needed"] = "inf" if math.isinf(c["n_needed"]) else c["n_needed"]
        return {"format": FORMAT, **d}


def arm_label(model: str, variant: str) -> str:
    return model if variant == "default" else f"{model}/{variant}"


def content_hash(doc: dict[str, Any]) -> str:
    """sha256 of the plan's content (everything but ``hash``), canonical JSON."""
    body = {k: v for k, v in doc.items() if k != "hash"}
    return "sha256:" + hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def write_plan(plan: Plan, path: Path) -> Path:
    import yaml

    from ..io import write_text

    doc = plan.to_doc()
    doc["hash"] = content_hash(doc)
    head = (f"# Pre-registered analysis plan (ganbench plan freeze). Frozen {plan.frozen_on} at {plan.made_at_commit}; "
            f"edit nothing: the hash below no longer matches an edited plan.\n")
    return write_text(Path(path), head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def load_plan(path: Path | str) -> Plan:
    """A frozen plan; a missing file, another format or a content that does not match its hash is a one-line error."""
    from ..io import read_yaml

    path = Path(path)
    doc = read_yaml(path, "plan")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise GanbenchError(f"{path} is not a ganbench plan ({FORMAT})")
    if doc.get("hash") != content_hash(doc):
        raise GanbenchError(f"{path} was edited after it was frozen (its content does not match its hash "
                            f"{doc.get('hash')}); freeze a new plan, and report the change as a deviation")
    try:
        claims = tuple(ClaimPlan(**{**c, "n_needed": math.inf if c["n_needed"] == "inf" else float(c["n_needed"])})
                       for c in doc["claims"])
        body = {k: v for k, v in doc.items() if k not in ("format", "claims")}
        return Plan(**{**body, "seeds": tuple(body["seeds"]), "secondary": tuple(body["secondary"]),
                       "claims": claims})
    except (KeyError, TypeError) as e:
        raise GanbenchError(f"{path} is not a complete plan: {e}") from None


# ---- freezing ---------------------------------------------------------------------------------------------------
def _exploratory_curves(rs, claim, exclude: set[int]):
    """{seed: curve} of both arms of ``claim`` in the exploratory results (complete runs, tuning seeds left out)."""
    from .claims import _arm_runs
    from .groups import groups

    for g in groups(rs):
        if len(g.subset(claim.a.model, claim.a.variant)) and len(g.subset(claim.b.model, claim.b.variant)):
            ca = {s: c for s, c in _arm_runs(g, claim.a, claim.metric).curves.items() if s not in exclude}
            cb = {s: c for s, c in _arm_runs(g, claim.b, claim.metric).curves.items() if s not in exclude}
            return ca, cb
    return {}, {}


def value_at(curve, budget: float) -> float:
    """A run's value at the budget: its last evaluation at or before ``budget`` images."""
    return [v for i, v in curve if i <= budget][-1]


def budget_of(ca, cb) -> float:
    """The budget of a comparison: the last evaluation every run of both arms ({seed: curve}) reached."""
    return min(c[-1][0] for c in [*ca.values(), *cb.values()])


def threshold_of(rule: Any, ca, cb, budget: float) -> tuple[float, str]:
    """(threshold, how it was set) for a number or a rule (THRESHOLD_RULES) on the complete runs ``ca``, ``cb`` of
    arms A and B ({seed: curve}) at ``budget`` images."""
    if isinstance(rule, (int, float)) and not isinstance(rule, bool):
        return float(rule), "fixed in the claims file"
    if rule == "pooled_median":
        return float(np.median([value_at(c, budget) for c in [*ca.values(), *cb.values()]])), THRESHOLD_RULES[rule]
    if rule == "b_final_mean":
        return float(np.mean([value_at(c, budget) for c in cb.values()])), THRESHOLD_RULES[rule]
    raise GanbenchError(f"unknown threshold rule {rule!r}; choose from: {', '.join(THRESHOLD_RULES)}")


def _measure(claim, ca, cb, higher: bool) -> dict[str, Any]:
    """The exploratory per-seed values a claim's power analysis uses (finals, or restricted reach times)."""
    from .survival import reach_time

    budget = budget_of(ca, cb)
    out: dict[str, Any] = {"budget": budget}
    if claim.kind == "final":
        va = {s: value_at(c, budget) for s, c in ca.items()}
        vb = {s: value_at(c, budget) for s, c in cb.items()}
        unit = claim.metric
    else:
        t, why = threshold_of(claim.threshold, ca, cb, budget)
        out.update(threshold=round(t, 4), threshold_rule=why)
        cut = lambda c: [(i, v) for i, v in c if i <= budget]  # noqa: E731
        va = {s: min(reach_time(cut(c), t, higher)[0], budget) for s, c in ca.items()}
        vb = {s: min(reach_time(cut(c), t, higher)[0], budget) for s, c in cb.items()}
        unit = "images (restricted time to threshold)"
    if claim.paired:
        seeds = sorted(set(va) & set(vb))
        d = np.array([va[s] - vb[s] for s in seeds])
        effect, sd = float(d.mean()), float(d.std(ddof=1)) if len(d) > 1 else math.nan
    else:
        seeds = sorted(set(va) | set(vb))
        a, b = np.array(list(va.values())), np.array(list(vb.values()))
        effect = float(a.mean() - b.mean())
        sd = math.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    return {**out, "effect": effect, "sd": sd, "seeds": seeds, "unit": unit}


def _cost(rs, exclude: set[int]) -> dict[str, float]:
    """Mean train seconds per run of every arm in the exploratory results (for the compute estimate)."""
    runs = rs.train_runs()
    runs = runs[(runs["status"] == "complete") & ~runs["seed"].isin(exclude)]
    return {arm_label(m, v): float(g["wall_s"].mean()) for (m, v), g in runs.groupby(["model", "variant"])}


def freeze(exploratory: Path, suite: str, profile: str, claims: Sequence[Any], *, name: str | None = None,
           protocol: str | None = None, secondary: Sequence[str] = (), tuning_seeds: Sequence[int] = (),
           n_main: int = N_MAIN, n_min: int = N_MIN, n_max: int = N_MAX, alpha: float = ALPHA,
           power: float = POWER, first_seed: int = FIRST_SEED, workers: int = 2,
           collapse_factor: float = 1.5) -> Plan:
    """Size and freeze a plan from an exploratory results folder (see the module docstring)."""
    from ..provenance import git_commit
    from ..results import load
    from ..suites import SuiteOptions, apply_profile, expand, load_suite
    from .sample_size import sample_size

    commit = git_commit()
    if commit == "unknown" or commit.endswith("-dirty"):
        raise GanbenchError(f"a plan is frozen from a clean, committed tree (the code is at {commit}); commit first")
    s = apply_profile(load_suite(suite), profile)
    protocol = protocol or s.metrics[0]
    if protocol not in s.metrics:
        raise GanbenchError(f"suite {suite} profile {profile} does not evaluate {protocol}")
    secondary = tuple(secondary) or tuple(s.final_metrics)
    missing = set(secondary) - set(s.metrics) - set(s.final_metrics)
    if missing:
        raise GanbenchError(f"suite {suite} profile {profile} does not evaluate {', '.join(sorted(missing))}")
    specs = expand(suite, SuiteOptions(profile=profile, seeds=(first_seed,)), Path("results"))
    suite_arms = {arm_label(sp.model, sp.variant) for sp in specs}
    rs = load(Path(exploratory))
    if not len(rs.runs):
        raise GanbenchError(f"no runs found under {exploratory}")
    exclude = set(int(x) for x in tuning_seeds)
    from ..metrics import PROTOCOLS
    higher = PROTOCOLS.get(protocol).higher_is_better

    measured = {}
    for c in claims:
        if c.metric != protocol:
            raise GanbenchError(f"claim {c.id} uses {c.metric}, the plan's protocol is {protocol}")
        for arm in (c.a, c.b):
            if arm.label not in suite_arms:
                raise GanbenchError(f"claim {c.id}: arm {arm.label} is not in suite {suite} (profile {profile})")
        ca, cb = _exploratory_curves(rs, c, exclude)
        if len(ca) < 2 or len(cb) < 2:
            raise GanbenchError(f"claim {c.id}: the exploratory results hold fewer than 2 seeds of an arm "
                                f"(tuning seeds {sorted(exclude)} left out)")
        measured[c.id] = _measure(c, ca, cb, higher)

    def size(m: int) -> dict[str, Any]:
        out = {}
        for c in claims:
            e = measured[c.id]
            sign = -1 if (c.kind == "images_to_threshold" or not higher) else 1
            out[c.id] = sample_size(e["effect"], e["sd"], paired=c.paired, alpha=alpha, power_=power, m=m,
                                    n_max=n_max, expected_sign=sign)
        return out

    m, seen = len(claims), []
    while m not in seen:  # Bonferroni over the claims that are run: iterate to a fixed point, keep the largest m
        seen.append(m)
        k = sum(r.affordable for r in size(m).values())
        m = max(k, 1)
    m = max(seen[seen.index(m):]) if m in seen else m
    sizes = size(m)

    arms: dict[str, int] = {}
    for sp in specs:
        if sp.variant == "default":
            arms[arm_label(sp.model, "default")] = max(n_main, n_min)
    plans = []
    for c in claims:
        r, e = sizes[c.id], measured[c.id]
        ok = r.affordable
        n = max(int(r.n), n_min) if ok else None
        if ok:
            for arm in (c.a.label, c.b.label):
                arms[arm] = max(arms.get(arm, 0), n)
        if c.kind == "final":
            test = ("paired t-test on per-seed differences (scipy ttest_rel)" if c.paired
                    else "Welch t-test (scipy ttest_ind, equal_var=False)")
        else:
            test = ("restricted mean time to threshold (Kaplan-Meier, tau = the budget), difference A - B; "
                    + ("exact sign-flip permutation test over seeds" if c.paired else
                       "permutation test relabelling the pooled runs") + "; log-rank test reported beside it")
        plans.append(ClaimPlan(
            c.id, c.kind, c.a.label, c.b.label, c.paired, test, "confirmatory" if ok else "not affordable", n,
            float(r.n), e.get("threshold"), e.get("threshold_rule"),
            {"effect": round(e["effect"], 6), "sd": round(e["sd"], 6), "d": round(float(r.d), 4),
             "unit": e["unit"], "seeds": e["seeds"], "budget_images": e["budget"], "alpha_each": round(r.alpha, 6),
             "sizing": r.text}))
    seeds = tuple(range(first_seed, first_seed + max(arms.values())))
    cost = _cost(rs, exclude)
    thread_s = sum(cost.get(a, math.nan) * n for a, n in arms.items())
    compute = {"train_seconds_per_run": {a: round(cost[a], 1) for a in sorted(arms) if a in cost},
               "thread_hours": round(thread_s / 3600, 2), "workers": workers,
               "wall_hours_estimate": round(thread_s / 3600 / workers, 2),
               "note": "train time only, at the exploratory runs' speed (one torch thread per worker); evaluations "
                       "add to it"}
    runs = rs.train_runs()
    exploratory_info = {"results": str(exploratory), "seeds": sorted(int(x) for x in runs["seed"].dropna().unique()),
                        "seeds_left_out": sorted(exclude),
                        "why_left_out": "seeds the tuning runs used (their runs reproduce the tuning runs, which "
                                        "favours the tuned default arms)",
                        "commits": sorted(str(c) for c in runs["git_commit"].dropna().unique()),
                        "devices": sorted(str(d) for d in runs["device"].dropna().unique())}
    return Plan(name or f"{suite}-{profile}", suite, profile, protocol, tuple(secondary), seeds, dict(sorted(arms.items())),
                float(s.kimg), float(s.eval_every_kimg), alpha, "holm over the confirmatory claims", power, n_main,
                n_min, n_max, m, REACH_RULE, collapse_factor,
                MAIN_TABLE.format(alpha=alpha, factor=collapse_factor, secondary=", ".join(secondary) or "none"),
                tuple(plans), exploratory_info, compute, commit,
                datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"))


# ---- running and checking ---------------------------------------------------------------------------------------
def planned_specs(plan: Plan, root: Path, device: str = "auto") -> list[Any]:
    """The plan's runs (the suite under its profile, the planned arms and seeds only)."""
    from ..suites import SuiteOptions, expand

    specs = expand(plan.suite, SuiteOptions(profile=plan.profile, seeds=plan.seeds, device=device), Path(root))
    want = plan.planned_runs()
    out = [s for s in specs if (arm_label(s.model, s.variant), s.seed) in want]
    missing = want - {(arm_label(s.model, s.variant), s.seed) for s in out}
    if missing:
        raise GanbenchError(f"suite {plan.suite} (profile {plan.profile}) no longer holds planned runs: "
                            f"{sorted(missing)[:5]}")
    for s in out:
        if (s.kimg != plan.kimg or s.eval_every_kimg != plan.eval_every_kimg or plan.protocol not in s.metrics
                or not set(plan.secondary) <= set(s.final_metrics) | set(s.metrics)):
            raise GanbenchError(f"suite {plan.suite} (profile {plan.profile}) no longer matches the plan's budget, "
                                f"evaluation schedule or protocol ({s.run_id})")
    return out


def start_planned(path: Path, root: Path, device: str = "auto", deterministic: bool = False,
                  dry_run: bool = False) -> list[Any]:
    """The runs of the plan at ``path`` for ``ganbench run --plan``: refused from a dirty tree (the runs must be
    made by committed code) or into a results folder that holds another plan; the plan is copied to
    ``root/plan.yaml`` so that the analysis finds it."""
    import shutil

    from ..provenance import git_commit

    plan = load_plan(path)
    if deterministic:
        raise GanbenchError("--deterministic does not go with --plan (the plan's runs are as the suite defines them)")
    commit = git_commit()
    if not dry_run and (commit == "unknown" or commit.endswith("-dirty")):
        raise GanbenchError(f"a planned run needs a clean, committed tree (the code is at {commit}); commit first")
    copy = Path(root) / "plan.yaml"
    if copy.exists() and load_plan(copy).hash != plan.hash:
        raise GanbenchError(f"{root} holds the results of another plan ({copy}); use another --results folder")
    specs = planned_specs(plan, Path(root), device)
    if not dry_run:
        Path(root).mkdir(parents=True, exist_ok=True)
        if not copy.exists():
            shutil.copyfile(path, copy)
    return specs


def plan_of(root: Path) -> Plan | None:
    """The plan a results folder was run under (its ``plan.yaml``), or None."""
    p = Path(root) / "plan.yaml"
    return load_plan(p) if p.exists() else None


PLANS = Path(__file__).resolve().parents[2] / "plans"  # where a checkout keeps its frozen plans


def committed_plan(plan: Plan, path: Path | None = None) -> Path | None:
    """The committed plan file with ``plan``'s hash (``plans/*.yaml`` of the checkout), else ``path`` (the results
    folder's copy): the file whose history says which commit froze the plan."""
    for p in sorted(PLANS.glob("*.yaml")) if PLANS.is_dir() else []:
        try:
            if load_plan(p).hash == plan.hash:
                return p
        except GanbenchError:
            continue
    return path


def frozen_by(path: Path) -> str:
    """The commit that froze the plan file: the last commit that wrote it (an edit after freezing no longer matches
    the plan's hash, so the last commit of a plan that loads is the one that froze its content), or "not
    committed"."""
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%H", "--", str(Path(path).resolve())],
                             cwd=Path(path).resolve().parent, capture_output=True, text=True, timeout=10)
        lines = out.stdout.split()
        return lines[0] if out.returncode == 0 and lines else "not committed"
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"


def _descends(commit: str, ancestor: str) -> bool | None:
    try:
        r = subprocess.run(["git", "merge-base", "--is-ancestor", ancestor, commit], capture_output=True, timeout=10,
                           cwd=Path(__file__).resolve().parent)
        return {0: True, 1: False}.get(r.returncode)
    except (OSError, subprocess.SubprocessError):
        return None


def deviations(plan: Plan, rs) -> list[str]:
    """Every departure of the results ``rs`` from the plan, one sentence each (none: the results follow it)."""
    runs = rs.train_runs()
    runs = runs[runs["suite"] == plan.suite]
    out = []
    have: dict[tuple[str, int], Any] = {(arm_label(r.model, r.variant), int(r.seed)): r for r in runs.itertuples()}
    want = plan.planned_runs()
    extra = sorted(set(have) - want)
    by_arm: dict[str, list[int]] = {}
    for arm, s in extra:
        by_arm.setdefault(arm, []).append(s)
    for arm, seeds in sorted(by_arm.items()):
        what = "an arm the plan does not run" if arm not in plan.arms else "seeds the plan does not run"
        out.append(f"{arm}: {what} (seeds {', '.join(map(str, seeds))}) added after freezing")
    missing = sorted(want - set(have))
    if missing:
        out.append(f"{len(missing)} planned run(s) missing: " + ", ".join(f"{a} seed {s}" for a, s in missing[:8])
                   + (" ..." if len(missing) > 8 else ""))
    for key in sorted(want & set(have)):
        r = have[key]
        if r.status not in ("complete", "diverged"):
            out.append(f"{key[0]} seed {key[1]}: {r.status} (not complete)")
        if r.kimg is not None and not math.isnan(float(r.kimg)) and float(r.kimg) != plan.kimg:
            out.append(f"{key[0]} seed {key[1]}: budget {r.kimg} kimg, the plan's {plan.kimg}")
        if r.eval_every_kimg is not None and float(r.eval_every_kimg) != plan.eval_every_kimg:
            out.append(f"{key[0]} seed {key[1]}: evaluated every {r.eval_every_kimg} kimg, the plan's "
                       f"{plan.eval_every_kimg}")
    rows = rs.rows[rs.rows["suite"] == plan.suite]
    if len(rows) and plan.protocol not in set(rows["protocol"]):
        out.append(f"no run evaluated the plan's protocol {plan.protocol}")
    commits = sorted({str(c) for c in runs["git_commit"].dropna()})
    dirty = [c for c in commits if c.endswith("-dirty")]
    if dirty:
        out.append(f"runs made from a working tree with uncommitted changes ({', '.join(dirty)}; their diff is "
                   f"stored next to each run's config)")
    for c in commits:
        if not c.endswith("-dirty") and c != "unknown" and _descends(c, plan.made_at_commit) is False:
            out.append(f"runs made at {c[:12]}, code older than the plan (frozen at {plan.made_at_commit[:12]})")
    return out


RUN_LOG = "run-log.md"  # beside plan.yaml in a results folder: events of the runs that the results cannot show


def run_log(root: Path) -> list[str]:
    """The run log kept by hand in ``root/run-log.md``: one entry per ``- `` line (indented lines continue it), e.g.
    a launch that was lost and rerun. The report lists it under the deviations; an absent file is an empty log."""
    p = Path(root) / RUN_LOG
    if not p.exists():
        return []
    out: list[str] = []
    for line in p.read_text().splitlines():
        if line.startswith("- "):
            out.append(line[2:].strip())
        elif line.startswith((" ", "\t")) and line.strip() and out:
            out[-1] += " " + line.strip()
    return out


def tuning_seed_reuse(rs, record: dict[str, Any] | None) -> dict[str, list[int]]:
    """{arm: seeds} of the training runs in ``rs`` that evaluate a tuned model on a seed its tuning runs used (the
    tuning ``record``, ``suites.tuning_record``): such a run reproduces a tuning run, which favours the tuned arm."""
    from ..suites.tuning_record import tuning_seed_conflicts

    runs = rs.train_runs()
    runs = runs[runs["seed"].notna()]
    out: dict[str, list[int]] = {}
    for r in tuning_seed_conflicts(list(runs.itertuples()), record):
        out.setdefault(arm_label(r.model, r.variant), []).append(int(r.seed))
    return {a: sorted(set(s)) for a, s in sorted(out.items())}

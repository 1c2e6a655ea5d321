"""A suite with its profile applied and every run it expands to, as plain data (``ganbench resolve-suite``; kept
next to committed results, so they say exactly what was run)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from .expand import SuiteOptions, apply_profile, expand
from .suite import load_suite


def resolved(suite_name: str, profile: str | None, results_root: Path) -> dict:
    """The profiled suite's fields and its runs (run id, model, variant, seed, kimg, overrides)."""
    suite = apply_profile(load_suite(suite_name), profile)
    specs = expand(suite, SuiteOptions(profile=profile), results_root)
    fields = {k: v for k, v in dataclasses.asdict(suite).items() if k not in ("profiles", "default_profile")}

    def plain(x):
        if isinstance(x, (tuple, list)):
            return [plain(i) for i in x]
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        return x

    return {"suite": plain(fields), "profile": profile or suite.default_profile or "",
            "runs": [{"run": s.run_id, "suite": s.suite, "model": s.model, "variant": s.variant, "seed": s.seed,
                      "kimg": s.kimg, "eval_every_kimg": s.eval_every_kimg, "metrics": list(s.metrics),
                      **({"final_metrics": list(s.final_metrics)} if s.final_metrics else {}),
                      "overrides": {k: v for k, v in s.overrides}} for s in specs]}

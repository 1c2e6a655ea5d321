"""The baseline JSON (``ganbench-regress-baseline/1``), one format for both kinds: ``suite`` (a training suite's seed
means, ``gate: seed-mean/1``) and ``generator`` (a generator ganbench did not train). Loading, writing, listing, and
the torch thread count a gate runs with."""
from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import GanbenchError

FORMAT = "ganbench-regress-baseline/1"
SUITE = "suite"
GENERATOR = "generator"
GATE = "seed-mean/1"  # training-suite baselines whose checks are means over the suite's seeds

Log = Callable[[str], Any]


OLD_KEYS = {"preset_name": "protocol", "n_ref": "n_real"}


def load_baseline(path: Path) -> dict[str, Any]:
    """The baseline at ``path``; a one-line error when it is missing or not a baseline."""
    path = Path(path)
    if not path.exists():
        raise GanbenchError(f"baseline {path} not found (create it with: ganbench regress --baseline {path} "
                            f"--update --suite NAME --spread-seeds 0,1,2)")
    try:
        b = json.loads(path.read_text())
    except ValueError as e:
        raise GanbenchError(f"baseline {path} is not valid JSON: {e}") from None
    if not isinstance(b, dict) or b.get("format") != FORMAT or not isinstance(b.get("checks"), list):
        raise GanbenchError(f"{path} is not a ganbench regression baseline ({FORMAT})")
    for c in b["checks"]:  # baselines made before the renames (results columns preset_name, n_ref)
        if isinstance(c, dict):
            for old, new in OLD_KEYS.items():
                if old in c and new not in c:
                    c[new] = c.pop(old)
    return b


def kind_of(b: dict[str, Any]) -> str:
    """``suite`` or ``generator`` (baselines from before generators had no kind)."""
    return b.get("kind") or SUITE


def write_baseline(path: Path, b: dict[str, Any]) -> None:
    """Write ``b`` to ``path`` atomically."""
    from ..io import write_text

    write_text(Path(path), json.dumps(b, indent=2) + "\n")


def format_baseline(b: dict[str, Any]) -> str:
    """The baseline's checks as a table (what ``--update`` prints)."""
    import pandas as pd

    row = _suite_row if kind_of(b) == SUITE else _generator_row
    return pd.DataFrame([row(c) for c in b["checks"]]).to_string(index=False)


def _suite_row(c: dict[str, Any]) -> dict[str, Any]:
    return {"run": f"{c['model']}-{c['variant']}-{c['preset']}", "seeds": ",".join(map(str, c.get("seeds", []))),
            "kimg": c["images_seen"] / 1000, "metric": c["protocol"], "mean": c["value"],
            "tolerance": c["tolerance"], "tol %": 100 * c["tolerance"] / abs(c["value"]) if c["value"] else None,
            "gated": c.get("gated", True), "spread": json.dumps(c.get("spread", {}).get("values"))}


def _generator_row(c: dict[str, Any]) -> dict[str, Any]:
    return {"metric": c["protocol"], "seed": c["seed"], "value": c["value"], "tolerance": c["tolerance"],
            "spread": json.dumps([round(v, 4) for v in c.get("spread", {}).get("values", [])])}


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch threads (a baseline's ``torch_threads``; None or 0: as they are)."""
    import torch

    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)

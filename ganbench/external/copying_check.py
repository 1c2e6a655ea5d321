"""The copying check beside every evaluation of a generator ganbench did not train (``ganbench eval --generator``,
``ganbench regress --generator``): does it return training images? The copy rate and C_T (``metrics.copying``) in
the feature space of the first requested metric, against the train split and held-out test images."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from ..metrics import PROTOCOLS
from ..metrics.protocols import COPYING


def copy_protocols_for(metrics: Sequence[str], splits: Iterable[str]) -> list[str]:
    """The copying protocols (copy rate and C_T) in the space of the first of ``metrics`` that has them, at its
    sample count where registered (else the nearest); none when the dataset has no held-out test split or a
    copying protocol was asked for already."""
    if "test" not in set(splits) or any(PROTOCOLS.get(m).kind in COPYING for m in metrics):
        return []
    for m in metrics:
        p = PROTOCOLS.get(m)
        mine = [PROTOCOLS.get(n) for n in PROTOCOLS.names() if PROTOCOLS.get(n).kind in COPYING
                and PROTOCOLS.get(n).extractor == p.extractor and PROTOCOLS.get(n).split == "train"]
        if mine:
            out = []
            for kind in COPYING:
                cands = sorted((q for q in mine if q.kind == kind), key=lambda q: (abs(q.n_gen - p.n_gen), q.n_gen))
                out += [cands[0].name] if cands else []
            return out
    return []


def describe_copying(rows: Sequence[dict[str, Any]]) -> list[str]:
    """One line per copying protocol among ``rows`` (results rows): the value, its verdict and rule."""
    lines = []
    by = {(str(r["protocol"]), str(r["metric"])): r for r in rows}
    for (proto, metric), r in by.items():
        p = PROTOCOLS.get(proto)
        if p.kind not in COPYING:
            continue
        where = (f"{r.get('extractor')}, {r.get('n_samples')} samples vs {r.get('n_real')} {r.get('split')} images "
                 f"and held-out test images, seed {r.get('seed')}")
        if p.kind == "copy" and metric.startswith("copy_rate"):
            flag = next((x for (q, m), x in by.items() if q == proto and m.startswith("copy_flagged")), None)
            flagged = bool(flag and float(flag["value"]) > 0)
            lines.append(f"copying check: copy rate {float(r['value']):.3f} [{where}]: "
                         + ("COPIES TRAINING IMAGES (the exact test against 0.05, the share expected without "
                            "copying, gives p < 0.001)" if flagged else
                            "no sign of copying (about 0.05 is expected without copying)"))
        elif p.kind == "ct":
            v = float(r["value"])
            lines.append(f"copying check: C_T {v:.2f} [{where}]: "
                         + ("COPIES TRAINING IMAGES (C_T < -3, Meehan et al. 2020)" if v < -3 else
                            "no sign of copying (C_T < -3 would be)"))
    return lines

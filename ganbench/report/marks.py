"""Marks on model names in every table: [n] refers to the model's entry in the Deviations section (the deviations
text its runs recorded in config.yaml), ‡ flags models that draw real images at sampling time (the model class's
``samples_from_data``), with the split they draw from (the runs' ``sample_split``, where recorded)."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .document import Section

LEAK = "‡"


def _samples_from_data(model: str) -> bool:
    try:
        from ..models import MODELS
        return bool(getattr(MODELS.get(model), "samples_from_data", False))
    except Exception:  # noqa: BLE001  (unknown model names in old results)
        return False


@dataclass
class Marks:
    deviations: dict[str, tuple[int, str]] = field(default_factory=dict)  # model -> (number, text)
    leak: dict[str, str] = field(default_factory=dict)  # model -> split its samples draw real images from

    @classmethod
    def from_runs(cls, runs: pd.DataFrame) -> "Marks":
        texts: dict[str, list[str]] = {}
        splits: dict[str, set[str]] = {}
        for r in runs.itertuples():
            if not isinstance(r.model, str):
                continue
            if isinstance(r.deviations, str) and r.deviations and r.deviations not in texts.setdefault(r.model, []):
                texts[r.model].append(r.deviations)
            if r.task == "train" and isinstance(r.sample_split, str) and r.sample_split:
                splits.setdefault(r.model, set()).add(r.sample_split)
        devs = {m: (i + 1, " | other runs recorded: ".join(t)) for i, (m, t) in
                enumerate(sorted((m, t) for m, t in texts.items() if t))}
        models = sorted({m for m in runs["model"].dropna() if isinstance(m, str)})
        leak = {m: "the " + "/".join(sorted(splits[m])) + " split" if m in splits else "an unknown split (no "
                "sample_split in the runs' config.yaml)" for m in models if _samples_from_data(m)}
        return cls(devs, leak)

    def suffix(self, model: str) -> str:
        s = f" [{self.deviations[model][0]}]" if model in self.deviations else ""
        return s + (f" {LEAK}" if model in self.leak else "")

    def label(self, model: str, variant: str = "default") -> str:
        return (model if variant == "default" else f"{model} ({variant})") + self.suffix(model)

    def notes(self, models) -> list[str]:
        models = sorted(set(models))
        out = []
        dev = [f"[{self.deviations[m][0]}] {m}" for m in models if m in self.deviations]
        if dev:
            out.append(f"{', '.join(dev)}: deviations from the paper/official code, listed in the Deviations "
                       f"section.")
        for m in models:
            if m in self.leak:
                out.append(f"{LEAK} {m} draws real images at sampling time (model attribute samples_from_data; "
                           f"every variant is marked), from {self.leak[m]}: a metric that compares with that "
                           f"split may see them again.")
        return out

    def section(self) -> Section | None:
        if not self.deviations:
            return None
        items = sorted(self.deviations.items(), key=lambda kv: kv[1][0])
        return Section("Deviations", ["Deviations from the paper or the official code, as recorded by each model's "
                                      "runs (config.yaml); tables refer to them by [n]."]
                       + [f"[{n}] {m}: {text}" for m, (n, text) in items])

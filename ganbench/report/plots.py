"""Seaborn figures (PNG): each metric vs images seen (mean over seeds, ±1 std band), vs training wall-clock (one
line per seed), vs trainable parameters (final value, mean ± std over seeds); the Holm-adjusted p of every pair of the
main table's models (the tests behind its rank intervals) as an annotated heatmap; and the latest sample grid of every
training run, copied into the report folder."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from . import fmt
from .document import Figure
from ..analysis.groups import Group, MetricKey
from ..results import ResultSet
from .labels import describe_group, describe_metric, seeds_text
from .tables import main_entries
from .tables.main import main_ranks


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)


def _label(model: str, variant: str) -> str:
    return model if variant == "default" else f"{model} ({variant})"


def _frame(g: Group, mk: MetricKey) -> pd.DataFrame:
    entries = main_entries(g) or [(m, v) for m in g.models() for v in g.variants(m)]
    parts = []
    for m, v in entries:
        for run, rr in g.curves(m, v, mk):
            parts.append(pd.DataFrame({"label": _label(m, v), "seed": run.seed, "status": run.status,
                                       "kimg": rr["images_seen"].to_numpy() / 1000,
                                       "wall_s": rr["wall_s"].to_numpy(), "value": rr["value"].to_numpy(),
                                       "params": (run.params_g or 0) + (run.params_d or 0)}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def metric_plots(g: Group, out: Path) -> list[Figure]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    figs = []
    out.mkdir(parents=True, exist_ok=True)
    for mk in g.metrics:
        if mk.is_flag:  # a 0/1 verdict per run, counted in the copy rate's cell, not a curve
            continue
        df = _frame(g, mk)
        if not len(df):
            continue
        ylabel = f"{mk.protocol} [{mk.extractor}] {'(higher is better)' if mk.higher else '(lower is better)'}"
        stem = _slug(f"{g.key}-{mk.protocol}-{mk.metric}")
        where = f"{g.title}; {describe_group(g)}; device: {', '.join(g.devices()) or 'not recorded'}"
        if df.groupby(["label", "seed"]).size().max() >= 2:
            fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
            sns.lineplot(data=df, x="kimg", y="value", hue="label", errorbar="sd", marker="o", ax=ax)
            ax.set(xlabel="images seen (kimg)", ylabel=ylabel, title=f"{mk.protocol} vs images seen")
            ax.legend(title="run")
            figs.append(_save(fig, out / f"{stem}-kimg.png", f"{stem}-kimg", f"{mk.protocol} vs images seen",
                              f"{describe_metric(mk)} vs thousands of real images shown to D; line: mean over seeds, "
                              f"band: ±1 std over seeds (none for one seed). {where}."))
            fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
            sns.lineplot(data=df, x="wall_s", y="value", hue="label", units="seed", estimator=None, marker="o",
                         ax=ax)
            ax.set(xlabel="training wall-clock without evaluations (s)", ylabel=ylabel,
                   title=f"{mk.protocol} vs wall-clock")
            ax.legend(title="run")
            figs.append(_save(fig, out / f"{stem}-wall.png", f"{stem}-wall", f"{mk.protocol} vs wall-clock",
                              f"{describe_metric(mk)} vs training wall-clock (evaluation time excluded); one line per "
                              f"seed. {where}."))
        final = df[df["status"] == "complete"].sort_values("kimg").groupby(["label", "seed"]).tail(1)
        if final["label"].nunique() >= 2:
            agg = final.groupby("label").agg(value=("value", "mean"), std=("value", "std"),
                                             params=("params", "first")).reset_index()
            fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
            sns.scatterplot(data=agg, x="params", y="value", hue="label", s=60, ax=ax, legend=False)
            ax.errorbar(agg["params"], agg["value"], yerr=agg["std"].fillna(0), fmt="none", ecolor="grey")
            for r in agg.itertuples():
                ax.annotate(r.label, (r.params, r.value), textcoords="offset points", xytext=(4, 4), fontsize=7)
            ax.set_xscale("log")
            ax.set(xlabel="trainable parameters of G + D", ylabel=ylabel,
                   title=f"final {mk.protocol} vs parameters")
            figs.append(_save(fig, out / f"{stem}-params.png", f"{stem}-params",
                              f"final {mk.protocol} vs parameters",
                              f"{describe_metric(mk)} at the final evaluation (complete seeds; mean ± std) vs trainable "
                              f"parameters of G and D. {where}."))
    return figs


def p_text(p: float) -> str:
    """A p-value for a heatmap cell: 2 significant digits, scientific below 0.001."""
    return f"{p:.1e}" if p < 1e-3 else f"{p:.2g}"


def pvalue_matrix(g: Group):
    """(metric, names, K x K Holm-adjusted p of the ranked models, RankIntervals) per quality metric of the main
    table where two or more models are ranked."""
    import numpy as np

    out = []
    for mk, r in main_ranks(g):
        keep = [i for i, e in enumerate(r.entries) if e.best is not None]
        if len(keep) >= 2:
            out.append((mk, [r.names[i] for i in keep], r.p_adj[np.ix_(keep, keep)], r))
    return out


def pvalue_heatmaps(g: Group, out: Path) -> list[Figure]:
    """One annotated heatmap per quality metric of the main table: the Holm-adjusted p of every pair of models."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import seaborn as sns

    figs = []
    for mk, names, p, r in pvalue_matrix(g):
        out.mkdir(parents=True, exist_ok=True)
        k = len(names)
        pairs = k * (k - 1) // 2
        annot = np.array([["" if i == j else p_text(p[i, j]) for j in range(k)] for i in range(k)], dtype=object)
        size = max(4.0, 0.75 * k + 2.2)
        fig, ax = plt.subplots(figsize=(size, size * 0.85), dpi=110)
        sns.heatmap(p, mask=np.eye(k, dtype=bool), annot=annot, fmt="", vmin=0.0, vmax=1.0, cmap="rocket",
                    xticklabels=names, yticklabels=names, square=True, linewidths=0.5,
                    cbar_kws={"label": "Holm-adjusted p"}, annot_kws={"fontsize": 7}, ax=ax)
        ax.grid(False)
        ax.set_title(f"{mk.protocol}: pairwise Holm-adjusted p")
        ax.tick_params(axis="x", labelrotation=45)
        ax.tick_params(axis="y", labelrotation=0)
        done = g.runs.loc[g.runs["status"] == "complete", "images_seen"].dropna()
        budget = (f"{fmt.kimg(done.min())}–{fmt.kimg(done.max())} kimg" if len(done) and done.min() != done.max()
                  else f"{fmt.kimg(done.iloc[0])} kimg" if len(done) else "no complete run")
        stem = _slug(f"{g.key}-{mk.protocol}-{mk.metric}")
        figs.append(_save(fig, out / f"{stem}-pvalues.png", f"{stem}-pvalues",
                          f"Pairwise tests behind the rank intervals, {g.title}, {mk.protocol}",
                          f"Holm-adjusted two-sided p of every pair of the main table's {k} ranked models "
                          f"({pairs} pair{'s' if pairs != 1 else ''}), {describe_metric(mk)} at each run's final "
                          f"evaluation (images seen: {budget}; {'higher' if mk.higher else 'lower'} is better); a "
                          f"cell below "
                          f"{r.alpha:g} is a pair that differs significantly. {r.rules[0]} {r.rules[1]} Seeds: the "
                          f"complete ones of {seeds_text(g.runs)}. "
                          f"{describe_group(g)}; extractor {mk.extractor}; device: "
                          f"{', '.join(g.devices()) or 'not recorded'}."))
    return figs


def _save(fig, path: Path, key: str, title: str, caption: str) -> Figure:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Figure(key, title, caption, path)


def sample_figures(rs: ResultSet, out: Path) -> list[Figure]:
    """The latest sample grid of every training run (8x8 grid of 64 samples of the evaluated G)."""
    figs = []
    runs = rs.train_runs()
    for run in runs.itertuples():
        if not isinstance(run.sample, str) or not Path(run.sample).exists():
            continue
        out.mkdir(parents=True, exist_ok=True)
        dst = out / f"{_slug(run.suite)}-{_slug(run.run)}.png"
        shutil.copyfile(run.sample, dst)
        state = "" if run.status == "complete" else f", {run.status}"
        figs.append(Figure(f"samples-{_slug(run.suite)}-{_slug(run.run)}",
                           f"{_label(run.model, run.variant)}, seed {run.seed}",
                           f"Suite {run.suite}, {_label(run.model, run.variant)} ({run.preset} preset), seed "
                           f"{run.seed}: 64 samples at {fmt.kimg(run.sample_images)} kimg{state}.", dst, width=0.3))
    return figs

"""The package's layering: each package imports only from the layers below it, and no module imports a private name
of another package. The order, lowest first (a package may import itself and any package of a lower layer, never a
package of its own layer or above):

    errors
    paths, io, registry, rand, images       foundations
    config, provenance
    attention, augment, nets                building blocks of the networks
    losses
    data
    models
    metrics                                 extractors, protocols, evaluation
    results                                 the run-directory store and the one writer of a row
    training, efficiency, external          the jobs (and generators ganbench did not train)
    suites                                  suites as data, expanded into jobs
    executors                               how jobs are scheduled
    analysis                                statistics: tests, ranks, power, claims, tuning selection, ladders
    gate                                    the regression gate
    report                                  reads and renders
    cli                                     parses, makes one library call, prints

Imports inside functions count as much as module-level ones (a lazy upward import is still an upward dependency).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT

LAYERS: list[tuple[str, ...]] = [
    ("errors",),
    ("paths", "io", "registry", "rand", "images"),
    ("config", "provenance"),
    ("attention", "augment", "nets"),
    ("losses",),
    ("data",),
    ("models",),
    ("metrics",),
    ("results",),
    ("training", "efficiency", "external"),
    ("suites",),
    ("executors",),
    ("analysis",),
    ("gate",),
    ("report",),
    ("cli",),
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}
TOP = {"__init__", "__main__"}  # the package's entry points: the public API (lazy) and ``python -m ganbench``


def _module(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module, imported names) of every ``ganbench`` import in the file, lazy ones included."""
    mod = _module(path, root)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [a.name for a in node.names]
            if target == "ganbench" or target.startswith("ganbench."):
                out.append((node.lineno, target, names))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name, []) for a in node.names if a.name.split(".")[0] == "ganbench"]
    return out


def _package(module: str) -> str:
    """``ganbench.analysis.claims`` -> ``analysis``; ``ganbench`` -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def violations(root: Path) -> list[str]:
    """Every import that goes up (or sideways within a layer), and every private name taken from another package."""
    bad = []
    for path in sorted((root / "ganbench").rglob("*.py")):
        mod = _module(path, root)
        here = _package(mod)
        if here in TOP or here == "":
            continue
        if here not in LAYER:
            bad.append(f"{mod}: package {here!r} has no layer in tests/test_layout.py")
            continue
        for line, target, names in imports(path, root):
            there = _package(target)
            if there == here:
                continue
            if there == "":  # ``from .. import x``: the names are the modules imported
                pairs = [(n, f"ganbench.{n}") for n in names]
            else:
                pairs = [(None, target)]
            for name, tgt in pairs:
                pkg = _package(tgt)
                if pkg == here:
                    continue
                where = f"{path.relative_to(root)}:{line}"
                if pkg not in LAYER:
                    bad.append(f"{where}: imports {tgt} (no layer)")
                elif LAYER[pkg] >= LAYER[here]:
                    bad.append(f"{where}: {here} (layer {LAYER[here]}) imports {tgt} (layer {LAYER[pkg]})")
            for n in names:
                if n.startswith("_") and there != "" and _package(target) != here:
                    bad.append(f"{path.relative_to(root)}:{line}: imports the private name {n} from {target}")
            if any(part.startswith("_") and part != "__init__" for part in target.split(".")[2:]) \
                    and _package(target) != here:
                bad.append(f"{path.relative_to(root)}:{line}: imports the private module {target}")
    return bad


def test_every_package_imports_only_from_layers_below():
    assert violations(ROOT) == []


def test_every_package_has_a_layer():
    packages = {p.stem if p.is_file() else p.name for p in (ROOT / "ganbench").iterdir()
                if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))}
    assert packages - TOP - set(LAYER) == set()
    assert set(LAYER) - packages == set(), "a layer names a package that does not exist"


@pytest.mark.parametrize("planted,expect", [
    ("from ..report import fmt\n", "metrics (layer 7) imports ganbench.report"),  # upward
    ("from ..data import load_dataset\n", None),  # downward: allowed
    ("def f():\n    from ..analysis.claims import load_claims\n", "imports ganbench.analysis.claims"),  # lazy upward
    ("from ..models.base import _ModelRegistry\n", "private name _ModelRegistry"),
    ("from .. import report\n", "imports ganbench.report"),
])
def test_planted_imports_are_caught(tmp_path, planted, expect):
    """The checker itself: a copy of the package with one planted import in a metrics module."""
    import shutil

    shutil.copytree(ROOT / "ganbench", tmp_path / "ganbench", ignore=shutil.ignore_patterns("*.pt", "__pycache__"))
    f = tmp_path / "ganbench" / "metrics" / "frechet.py"
    f.write_text(f.read_text() + "\n" + planted)
    found = violations(tmp_path)
    if expect is None:
        assert found == []
    else:
        assert len(found) == 1 and expect in found[0], found


def test_each_kind_of_suite_has_its_own_expander(tmp_path):
    from ganbench.efficiency import EfficiencySpec
    from ganbench.suites import EXPANDERS, TASKS, SuiteOptions, expand
    from ganbench.training import TrainSpec

    assert set(EXPANDERS) == set(TASKS)
    eff = expand("efficiency", SuiteOptions(models=("dcgan",)), tmp_path)
    assert eff and all(type(s) is EfficiencySpec for s in eff)
    train = expand("smoke", SuiteOptions(), tmp_path)
    assert train and all(type(s) is TrainSpec for s in train)
    (tmp_path / "both.yaml").write_text("name: both\ninclude: [smoke]\ntask: efficiency\nruns:\n  - {model: dcgan}\n")
    both = expand(str(tmp_path / "both.yaml"), SuiteOptions(), tmp_path)  # includes keep their own kind
    assert [type(s) for s in both] == [TrainSpec] + [EfficiencySpec] * (len(both) - 1) and len(both) > 1


def test_jobs_share_one_interface():
    """Executors run ``results.Job``s: training runs and efficiency runs both implement it (no duck typing)."""
    import inspect

    from ganbench.efficiency import EfficiencySpec
    from ganbench.executors import base
    from ganbench.results import Job
    from ganbench.training import TrainSpec

    assert issubclass(TrainSpec, Job) and issubclass(EfficiencySpec, Job)
    assert "hasattr" not in inspect.getsource(base)

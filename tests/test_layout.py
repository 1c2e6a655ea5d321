"""The package's layout: no module over 400 lines, each kind of suite expanded by its own expander, and the import
paths that moved (``ganbench.report.tables``) still serving their old names."""
from __future__ import annotations

import pytest

from conftest import ROOT

MAX_LINES = 400


def test_no_module_over_400_lines():
    sizes = {p.relative_to(ROOT): len(p.read_text().splitlines()) for p in (ROOT / "ganbench").rglob("*.py")}
    assert not {p: n for p, n in sizes.items() if n > MAX_LINES}, sorted(sizes.items(), key=lambda x: -x[1])[:5]


def test_each_kind_of_suite_has_its_own_expander(tmp_path):
    from ganbench.efficiency_suite import EfficiencySpec
    from ganbench.runner import EXPANDERS, SuiteOptions, expand
    from ganbench.suites import TASKS
    from ganbench.training import TrainSpec

    assert set(EXPANDERS) == set(TASKS)
    eff = expand("efficiency", SuiteOptions(models=("dcgan",)), tmp_path)
    assert eff and all(type(s) is EfficiencySpec for s in eff)
    train = expand("smoke", SuiteOptions(), tmp_path)
    assert train and all(type(s) is TrainSpec for s in train)
    (tmp_path / "both.yaml").write_text("name: both\ninclude: [smoke]\ntask: efficiency\nruns:\n  - {model: dcgan}\n")
    both = expand(str(tmp_path / "both.yaml"), SuiteOptions(), tmp_path)  # includes keep their own kind
    assert [type(s) for s in both] == [TrainSpec] + [EfficiencySpec] * (len(both) - 1) and len(both) > 1


@pytest.mark.parametrize("module,names", [
    ("ganbench.report.tables", ["EfficiencyIndex", "ablation_tables", "convergence_tables", "efficiency_tables",
                                "main_entries", "main_table", "paper_tables", "status_table", "auto_thresholds"])])
def test_moved_names_keep_their_import_paths(module, names):
    import importlib

    m = importlib.import_module(module)
    assert not [n for n in names if not hasattr(m, n)]

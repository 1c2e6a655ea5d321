"""The regression gate, ``ganbench regress``: one baseline format and one comparison for two kinds of baseline.

- ``rules``: the tolerance formula and its text, ``--tolerance`` overrides, metric direction, which checks gate.
- ``baseline``: the baseline JSON (load, write, list) and the thread count a gate runs with.
- ``compare``: a value against its check, the verdict, the table and ``regress: PASS/FAIL`` text.
- ``suite``: training-suite baselines (the CI's ``baselines/ci-quick.json``): runs or reads the suite.
- ``generator``: generators ganbench did not train, evaluated at the baseline's seed.
- ``request``: the command's options, checked against the baseline's kind and run.
"""
from .baseline import format_baseline, load_baseline
from .compare import Comparison
from .request import Request, run

__all__ = ["Comparison", "Request", "format_baseline", "load_baseline", "run"]

"""The runs that did not complete."""
from __future__ import annotations

import pandas as pd

from .. import fmt
from ..document import Table
from ...results import ResultSet


def status_table(rs: ResultSet) -> Table | None:
    bad = rs.runs[rs.runs["status"] != "complete"]
    if not len(bad):
        return None
    rows = [[r.suite, r.run, r.task, r.status, fmt.kimg(r.images_seen) if not pd.isna(r.images_seen) else "—",
             str(r.reason or "—")] for r in bad.itertuples()]
    return Table("status", "Runs that did not complete",
                 "Every run whose status is not complete: diverged (non-finite losses or exploding weights; the "
                 "metrics up to that point are kept), failed (an error; see the reason), running or missing "
                 "(interrupted; `ganbench run` resumes it). Their values are left out of every other table.",
                 ["Suite", "Run", "Task", "Status", "kimg", "Reason"], rows, align="llllrl")

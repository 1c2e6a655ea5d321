"""The results store: one directory per run (``config.yaml``, ``metrics.csv``, ``status.json``, checkpoints and
samples), the one writer of a results row (``record``), the jobs that write run directories (``Job``) and the reader
that analysis and reports use (``load``)."""
from .job import Job, RunBusy, RunResult
from .load import ResultSet, load
from .record import COLUMNS, Record, RunLabels, record, write_records
from .store import check_writable, default_root, load_metrics, read_metrics, read_status, run_dirs, summary, write_status

__all__ = ["COLUMNS", "Job", "Record", "ResultSet", "RunBusy", "RunLabels", "RunResult", "check_writable",
           "default_root", "load", "load_metrics", "read_metrics", "read_status", "record", "run_dirs", "summary",
           "write_records", "write_status"]

"""Shared fixtures: hermetic caches and results, offline by default."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("GANBENCH_OFFLINE", "1")  # tests never download
os.environ.setdefault("GANBENCH_CACHE", str(Path(os.environ.get("TMPDIR", "/tmp")) / "ganbench-test-cache"))
if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test` runs one worker per core: one torch thread each
    _workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    _threads = str(max(1, (os.cpu_count() or 1) // _workers))
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = _threads  # also for CLI subprocesses
    import torch

    torch.set_num_threads(int(_threads))


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a test module (bit-level comparisons that must not depend on the thread split); use with
    ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def cli(tmp_path):
    """Run the ``ganbench`` CLI in a subprocess; returns CompletedProcess."""
    def run(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
        e = {**os.environ, "GANBENCH_RESULTS": str(tmp_path / "results"), **(env or {})}
        return subprocess.run([sys.executable, "-m", "ganbench", *args], capture_output=True, text=True,
                              env=e, cwd=cwd or tmp_path, timeout=600)
    return run


def one_line_error(p: subprocess.CompletedProcess) -> str:
    """Assert exit 2 with exactly one 'ganbench: error:' line on stderr and no traceback; return it."""
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("ganbench: error: "), p.stderr
    assert "Traceback" not in p.stderr
    return lines[0]

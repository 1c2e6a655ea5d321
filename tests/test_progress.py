"""Logs that read well: `ganbench run` into a file writes plain lines (no carriage returns), one per evaluation and per
finished run; --quiet prints only the summary; the mode is chosen once (bar on a terminal, plain elsewhere)."""
from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from ganbench.training import progress


def _run_smoke(tmp_path, *args: str) -> str:
    """`ganbench run --suite smoke ARGS > log 2>&1` in tmp_path; returns the log."""
    with open(tmp_path / "log", "wb") as f:
        p = subprocess.run([sys.executable, "-m", "ganbench", "run", "--suite", "smoke", "--results",
                            str(tmp_path / "res"), "--device", "cpu", *args], stdout=f, stderr=subprocess.STDOUT,
                           cwd=tmp_path, timeout=600)
    text = (tmp_path / "log").read_bytes().decode()
    assert p.returncode == 0, text
    return text


def test_run_into_a_file_writes_plain_lines_and_quiet_only_the_summary(tmp_path):
    log = _run_smoke(tmp_path)
    assert "\r" not in log
    run = re.search(r"^(dcgan-default-tiny-s0-\w+)  eval at 0/500 img  fd_domain [\d.]+  - img/s$", log, re.M)
    assert run, log  # at initialisation
    rid = run.group(1)
    evals = re.findall(rf"^{rid}  eval at (\d+)/500 img  fd_domain [\d.]+  loss_d \S+  loss_g \S+  [\d.]+ img/s$",
                       log, re.M)
    assert evals == ["256", "500"], log  # smoke: 0.5 kimg (the count stops at it), evaluations every 0.25
    assert re.search(rf"^{rid}  done 500/500 img  fd_domain [\d.]+  loss_d \S+  loss_g \S+  [\d.]+ img/s$", log, re.M)
    assert f"[complete] {rid}" in log
    # a finished suite: its runs are skipped, and --quiet leaves the summary alone
    quiet = _run_smoke(tmp_path, "--quiet")
    assert quiet.strip().splitlines() == [f"suite smoke: 1 runs: 1 complete, 0 diverged, 0 failed -> "
                                          f"{tmp_path / 'res' / 'smoke'}"], quiet


def test_quiet_fresh_run_prints_only_the_summary(tmp_path):
    log = _run_smoke(tmp_path, "--quiet", "--metrics", "", "--kimg", "0.128")
    assert log.strip().splitlines() == [f"suite smoke: 1 runs: 1 complete, 0 diverged, 0 failed -> "
                                        f"{tmp_path / 'res' / 'smoke'}"], log


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize("tty,fmt,quiet,mode", [
    (True, "auto", False, "bar"), (False, "auto", False, "plain"), (True, "plain", False, "plain"),
    (False, "bar", False, "bar"), (True, "auto", True, "quiet"), (False, "plain", True, "quiet")])
def test_mode_is_chosen_from_the_terminal_and_the_flags(monkeypatch, tty, fmt, quiet, mode):
    monkeypatch.setattr(sys, "stderr", _Stream(tty))
    assert progress.choose(fmt, quiet) == mode
    assert progress.resolve(True) == ("bar" if tty else "plain") and progress.resolve(False) == "quiet"
    assert progress.for_workers(mode) == ("quiet" if quiet else "plain")


def test_plain_progress_lines(monkeypatch):
    err = _Stream(False)
    monkeypatch.setattr(sys, "stderr", err)
    p = progress.make_progress(True, "r1", 100, 20)
    p.update(30)
    p.evaluated({"fd_domain": "12.3"})
    p.update(10)
    p.close()
    p.close()  # once: the loop closes again on its way out
    lines = err.getvalue().splitlines()
    assert [re.sub(r"[\d.]+ img/s$", "N img/s", ln) for ln in lines] == [
        "r1  eval at 50/100 img  fd_domain 12.3  N img/s", "r1  stopped at 60/100 img  fd_domain 12.3  N img/s"]
    q = progress.make_progress("quiet", "r2", 10)
    q.evaluated({"m": "1"})
    q.close()
    assert len(err.getvalue().splitlines()) == 2


@pytest.mark.ray
def test_ray_tasks_print_plain_lines_that_reach_the_log(tmp_path):
    pytest.importorskip("ray")
    log = _run_smoke(tmp_path, "--executor", "ray", "--metrics", "", "--kimg", "0.128")
    assert "\r" not in log and "\x1b" not in log, log  # no bar, no colour codes from Ray's forwarding
    assert re.search(r"\(ganbench:(dcgan-default-tiny-s0-\w+) pid=\d+\) \1  done 128/128 img  loss_d \S+  loss_g \S+  "
                     r"[\d.]+ img/s$", log, re.M), log  # the last line of the last task, before the cluster stops

"""Provenance for every run: git commit, package versions, hardware."""
from __future__ import annotations

import functools
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import torch


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    try:
        root = Path(__file__).resolve().parent.parent
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def git_diff() -> str:
    """What a dirty working tree holds beyond its commit: ``git diff HEAD`` (tracked files) and the untracked files'
    names, so that a run made from uncommitted code records the code it ran ("" on a clean tree or without git)."""
    root = Path(__file__).resolve().parent.parent
    try:
        diff = subprocess.run(["git", "diff", "HEAD", "--binary"], cwd=root, capture_output=True, text=True,
                              timeout=30).stdout
        new = subprocess.run(["git", "ls-files", "--others", "--exclude-standard"], cwd=root, capture_output=True,
                             text=True, timeout=30).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return ""
    return diff + "".join(f"# untracked: {f}\n" for f in new)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: str | torch.device) -> str:
    """Human label for a device: 'cuda: NVIDIA H100 80GB HBM3' or 'cpu: <model> x<threads>'."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"cpu: {cpu_name()} x{torch.get_num_threads()}"


def resolve_device(device: str = "auto") -> str:
    from .errors import GanbenchError

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        d = torch.device(device)
    except (RuntimeError, TypeError):
        d = None
    if d is None or d.type not in ("cpu", "cuda"):
        raise GanbenchError(f"unknown device {device!r}; use cpu, cuda, cuda:N or auto")
    if d.type == "cuda" and not torch.cuda.is_available():
        raise GanbenchError(f"device {device!r} requested but CUDA is not available here")
    if d.type == "cuda" and d.index is not None and d.index >= torch.cuda.device_count():
        raise GanbenchError(f"device {device!r} requested but there are {torch.cuda.device_count()} CUDA devices")
    return device


def environment(device: str) -> dict:
    pkgs = {}
    for name in ("torch", "torchvision", "numpy", "scipy", "torch-fidelity", "clean-fid", "ganbench"):
        try:
            pkgs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pkgs[name] = None
    return {"git_commit": git_commit(), "packages": pkgs, "python": platform.python_version(),
            "device": device_name(device), "cpu": cpu_name(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "host": platform.node()}


def run_environment(device: str, run_dir: Path) -> dict:
    """``environment`` for a run's config.yaml; on a dirty tree the uncommitted code goes to ``run_dir/git.diff``
    (named in ``environment.git_diff``), so what a run ran can be recovered."""
    from .io import write_text

    env = environment(device)
    if env["git_commit"].endswith("-dirty"):
        env["git_diff"] = "git.diff"
        write_text(Path(run_dir) / "git.diff", git_diff())
    return env

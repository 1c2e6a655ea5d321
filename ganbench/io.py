"""Atomic file writes (write a temporary file in the same folder, fsync, then rename) and YAML reads that fail in
one line."""
from __future__ import annotations

import contextlib
import io as _io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None], mode: str = "wb") -> Path:
    """Call ``write(fileobj)`` on a temp file next to ``path`` and rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def write_text(path, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text), mode="w")


def write_json(path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_yaml(path, obj: Any) -> Path:
    return write_text(path, yaml.safe_dump(obj, sort_keys=False))


def read_yaml(path: str | os.PathLike, what: str = "file") -> Any:
    """The parsed YAML of ``path``; a missing file or invalid YAML is a one-line ``GanbenchError``."""
    from .errors import GanbenchError

    path = Path(path)
    if not path.exists():
        raise GanbenchError(f"{what} {path} not found")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise GanbenchError(f"invalid YAML in {path}: {str(e).splitlines()[0]}") from None


def write_torch(path, obj: Any) -> Path:
    import torch

    buf = _io.BytesIO()
    torch.save(obj, buf)
    return atomic_write(path, lambda f: f.write(buf.getvalue()))


def append_line(path, line: str) -> None:
    """Append one line with a single O_APPEND write (whole lines survive concurrent writers and kills)."""
    data = (line.rstrip("\n") + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def remove_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporaries (``.<name>.*.tmp``) that ``atomic_write`` leaves when its process is killed (SIGKILL
    skips the cleanup); call only while holding the folder's ``exclusive_lock``."""
    gone = []
    for p in Path(folder).rglob(".*.tmp"):
        if p.is_file():
            p.unlink(missing_ok=True)
            gone.append(p)
    return gone


class LockBusy(OSError):
    """Another process holds the lock."""


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an advisory ``flock`` on ``path`` (created if missing); the kernel drops it when the process dies, so a
    killed run never leaves a stale lock."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockBusy(f"{path} is locked by another process") from None
        yield
    finally:
        os.close(fd)

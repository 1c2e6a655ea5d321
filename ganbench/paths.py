"""Where ganbench keeps caches (downloads, statistics of real splits, built weights)."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$GANBENCH_CACHE`` or ``~/.cache/ganbench``."""
    return Path(os.environ.get("GANBENCH_CACHE") or Path.home() / ".cache" / "ganbench")


def offline() -> bool:
    """True when ``$GANBENCH_OFFLINE`` is set: never try a download."""
    return os.environ.get("GANBENCH_OFFLINE", "") not in ("", "0")

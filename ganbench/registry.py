"""One generic registry type, used for models, datasets, feature extractors, metrics, losses and suites."""
from __future__ import annotations

import difflib
import contextlib
import fnmatch
from typing import Callable, Generic, Iterator, TypeVar

from .errors import GanbenchError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> object map with duplicate checks, glob listing and "did you mean" errors."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._items[name] = obj
            return obj

        return deco

    def add(self, name: str, obj: T) -> T:
        return self.register(name)(obj)

    def remove(self, name: str) -> None:
        """Drop an entry (test-only registrations must not outlive their test module)."""
        self._items.pop(name, None)

    @contextlib.contextmanager
    def temporarily(self, name: str, obj: T) -> Iterator[T]:
        """Register ``obj`` as ``name`` for the duration of a ``with`` block (no-op if already the same object)."""
        added = name not in self._items
        self.register(name)(obj)
        try:
            yield obj
        finally:
            if added:
                self.remove(name)

    def get(self, name: str) -> T:
        self._load()
        try:
            return self._items[name]
        except KeyError:
            raise GanbenchError(unknown(self.kind, name, self._items)) from None

    def names(self, pattern: str = "*") -> list[str]:
        self._load()
        return sorted(n for n in self._items if fnmatch.fnmatch(n, pattern))

    def __contains__(self, name: str) -> bool:
        self._load()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def _load(self) -> None:
        """Hook: registries whose entries live in modules import them here."""


LISTINGS = {"metric protocol": "ganbench metrics", "feature extractor": "ganbench extractors"}
MAX_LISTED = 12  # longer choice lists show only the close matches and the listing command


def unknown(kind: str, name: str, choices) -> str:
    """One-line message for an unknown name, with a suggestion; long lists give close matches and where to look."""
    choices = sorted(choices)
    close = difflib.get_close_matches(str(name), choices, n=5, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    if len(choices) > MAX_LISTED:
        where = f"`{LISTINGS[kind]}` lists" if kind in LISTINGS else "there are"
        near = f"close matches: {', '.join(close)}" if close else "no close match"
        return f"unknown {kind} {name!r}{hint}; {near} ({where} all {len(choices)})"
    return f"unknown {kind} {name!r}{hint}; choose from: {', '.join(choices)}"

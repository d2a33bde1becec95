"""Typed registries with "did you mean" suggestions (timm / lm-evaluation-harness style).

One generic :class:`Registry` serves the fuser and trainer registries of ``models`` and the dataset
registry of ``benchmark``. Names are case-insensitive; an unknown name raises
:class:`UnknownNameError`, whose message suggests the closest known names.
"""
from __future__ import annotations

import difflib
from contextlib import contextmanager
from typing import Generic, ItemsView, Iterator, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """An unknown registry name. ``str(err)`` carries the suggestion."""

    def __init__(self, kind: str, name: str, known: list[str]):
        self.kind, self.name, self.known = kind, name, known
        close = difflib.get_close_matches(name.lower(), [k.lower() for k in known], n=3, cutoff=0.5)
        lookup = {k.lower(): k for k in known}
        self.suggestions = [lookup[c] for c in close]
        msg = f"unknown {kind} {name!r}"
        if self.suggestions:
            msg += f"; did you mean {' or '.join(repr(s) for s in self.suggestions)}?"
        msg += f" (known: {', '.join(sorted(known)) or 'none'})"
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class Registry(Generic[T]):
    """Ordered name -> entry mapping with duplicate protection and did-you-mean lookups.

    ``kind`` names the entries in messages ("fuser", "dataset", ...).
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T, *, overwrite: bool = False) -> T:
        """Register ``entry`` under ``name``; a second entry of the same name is an error unless ``overwrite``."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{self.kind} name must be a non-empty string, got {name!r}")
        key = name.lower()
        if key in self._entries and not overwrite:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[key] = entry
        return entry

    def unregister(self, name: str) -> T:
        """Remove and return the entry of ``name`` (:class:`UnknownNameError` when there is none)."""
        entry = self.get(name)
        del self._entries[name.lower()]
        return entry

    @contextmanager
    def temporarily(self, name: str, entry: T) -> Iterator[T]:
        """Register ``entry`` under ``name`` for the ``with`` block only (tests, notebooks).

        An entry of the same name is an error, as for :meth:`add`; on exit the registry is as it was.
        """
        self.add(name, entry)
        try:
            yield entry
        finally:
            self._entries.pop(name.lower(), None)

    def get(self, name: str) -> T:
        """The entry of ``name``; :class:`UnknownNameError` (with suggestions) when unknown."""
        try:
            return self._entries[name.lower()]
        except (KeyError, AttributeError):
            raise UnknownNameError(self.kind, str(name), list(self._entries)) from None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return list(self._entries)

    def items(self) -> ItemsView[str, T]:
        return self._entries.items()

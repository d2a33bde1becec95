"""Plug-ins of installed packages, through entry-point groups (one loader for every group).

``benchmark.fusers`` registers fusers, ``benchmark.datasets`` datasets. An entry point names either a
module (importing it registers what it defines) or an object the group knows how to register (a
``models.Fuser`` subclass, a ``DatasetSpec``). A broken entry point does not hide the others: it is
reported with a :class:`PluginWarning` that names it and its error, and the rest stay usable.
"""
from __future__ import annotations

import warnings
from importlib.metadata import EntryPoint
from typing import Any, Callable


class PluginWarning(UserWarning):
    """An entry-point plug-in could not be loaded (the message names it and says why)."""


class PluginGroup:
    """The entry points of one group, loaded once (:meth:`load`).

    ``register(entry_point, obj)`` registers what an entry point's object provides; it may raise
    (e.g. ``TypeError`` for an object of the wrong kind, ``ValueError`` for a name clash), which is
    reported like an import failure.
    """

    def __init__(self, group: str, register: Callable[[EntryPoint, Any], None]):
        self.group = group
        self._register = register
        self._loaded: list[str] | None = None

    def load(self) -> list[str]:
        """Load every entry point of the group the first time; returns the names that loaded."""
        if self._loaded is not None:
            return list(self._loaded)
        from importlib import metadata

        self._loaded = []
        for ep in metadata.entry_points(group=self.group):
            try:
                self._register(ep, ep.load())
            except Exception as exc:  # any failure of third-party code: report it, keep the others
                warnings.warn(f"plug-in {ep.name!r} ({ep.value}) of entry-point group {self.group!r} was not "
                              f"loaded: {type(exc).__name__}: {exc}", PluginWarning, stacklevel=2)
                continue
            self._loaded.append(ep.name)
        return list(self._loaded)

    def reset(self) -> None:
        """Forget what was loaded, so the next :meth:`load` reads the entry points again (tests)."""
        self._loaded = None

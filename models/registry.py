"""Typed registries with "did you mean" suggestions (timm / lm-evaluation-harness style).

One generic :class:`Registry` serves the fuser registry here and the dataset registry in
``benchmark``; ``metrics`` keeps its own (it is a leaf package and imports nothing of ours).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterator, TypeVar

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
    """Ordered name -> entry mapping with duplicate protection and did-you-mean lookups."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T, *, overwrite: bool = False) -> T:
        key = name.lower()
        if key in self._entries and not overwrite:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[key] = entry
        return entry

    def get(self, name: str) -> T:
        try:
            return self._entries[name.lower()]
        except KeyError:
            raise UnknownNameError(self.kind, name, list(self._entries)) from None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return list(self._entries)

    def items(self):
        return self._entries.items()


@dataclass(frozen=True)
class FuserSpec:
    """Registry entry of a fuser: how to build it and what to say about it."""

    name: str
    factory: Callable[..., Any]
    description: str = ""
    reference: str = ""          # paper the fuser follows
    needs_weights: bool = False  # True: meaningless without a checkpoint (excluded from default runs)
    framework: str = "NumPy"     # "PyTorch", "NumPy/SciPy", ... (efficiency table column)
    tags: tuple[str, ...] = ()
    default_kwargs: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. reported parameter counts


FUSERS: Registry[FuserSpec] = Registry("fuser")


def register_fuser(name: str, *, description: str = "", reference: str = "", needs_weights: bool = False,
                   framework: str = "NumPy", tags: tuple[str, ...] = (), extra: dict | None = None,
                   **default_kwargs: Any) -> Callable:
    """Class/function decorator registering a fuser factory under ``name``.

    ``default_kwargs`` are passed to the factory by :func:`create_fuser` (so one class can be
    registered several times, e.g. ``dmnet`` and ``dmnet-tiny`` with different widths).
    """

    def deco(factory: Callable) -> Callable:
        FUSERS.add(name, FuserSpec(name=name, factory=factory, description=description,
                                   reference=reference, needs_weights=needs_weights,
                                   framework=framework, tags=tuple(tags),
                                   default_kwargs=dict(default_kwargs), extra=dict(extra or {})))
        return factory

    return deco


def create_fuser(name: str, **kwargs: Any):
    """Build the fuser registered as ``name``; ``kwargs`` override its registered defaults."""
    spec = FUSERS.get(name)
    merged = {**spec.default_kwargs, **kwargs}
    fuser = spec.factory(**merged)
    fuser.name = spec.name
    fuser.init_kwargs = merged
    return fuser


def list_fusers(*, needs_weights: bool | None = None) -> list[str]:
    """Registered fuser names, optionally filtered by whether they need weights."""
    return [n for n, s in FUSERS.items() if needs_weights is None or s.needs_weights == needs_weights]


def fuser_spec(name: str) -> FuserSpec:
    return FUSERS.get(name)


#: trainer classes (``models.training.Trainer`` subclasses) by the fuser name they train
TRAINERS: Registry[type] = Registry("trainable fuser")


def register_trainer(fuser_name: str) -> Callable:
    """Class decorator: ``python -m benchmark train <fuser_name>`` uses this trainer class."""

    def deco(cls: type) -> type:
        TRAINERS.add(fuser_name, cls)
        cls.fuser_name = fuser_name
        return cls

    return deco


def trainer_class(fuser_name: str) -> type:
    return TRAINERS.get(fuser_name)

"""The fuser and trainer registries (typed, with "did you mean"; see :mod:`ivif_toolbox.registry`).

An entry names its factory either directly (``@register_fuser`` on a class) or lazily as
``"package.module:attribute"`` (:func:`register_lazy_fuser`): the module is imported only when the
fuser is built, so listing the registry never imports PyTorch or the deep models.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

from ivif_toolbox import Registry, UnknownNameError

from .base import Fuser

__all__ = ["FUSERS", "TRAINERS", "FuserSpec", "UnknownNameError", "create_fuser", "fuser_spec", "list_fusers",
           "register_fuser", "register_lazy_fuser", "register_trainer", "register_lazy_trainer", "trainer_class",
           "load_target"]


def load_target(target: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"expected 'package.module:attribute', got {target!r}")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImportError(f"{target}: module {module_name!r} has no attribute {attr!r}") from None


@dataclass(frozen=True)
class FuserSpec:
    """Registry entry of a fuser: how to build it and what to say about it.

    ``factory`` is a callable, or for lazily registered fusers the string
    ``"package.module:attribute"`` that :meth:`load` imports. ``framework`` is the factory class's
    ``framework`` attribute (for lazy entries it is stated at registration and checked by the tests).
    """

    name: str
    factory: Callable[..., Any] | str
    description: str = ""
    reference: str = ""          # paper the fuser follows
    needs_weights: bool = False  # True: meaningless without a checkpoint (excluded from default runs)
    framework: str = Fuser.framework
    tags: tuple[str, ...] = ()
    default_kwargs: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. reported parameter counts

    @property
    def is_lazy(self) -> bool:
        return isinstance(self.factory, str)

    def load(self) -> Callable[..., Any]:
        """The factory (importing its module first for a lazy entry)."""
        return load_target(self.factory) if isinstance(self.factory, str) else self.factory


FUSERS: Registry[FuserSpec] = Registry("fuser")


def _check_defaults(name: str, default_kwargs: dict[str, Any]) -> None:
    if "framework" in default_kwargs:
        raise TypeError(f"register_fuser({name!r}, framework=...): the framework is the fuser class's "
                        f"`framework` attribute (one home); set it on the class instead")


def register_fuser(name: str, *, description: str = "", reference: str = "", needs_weights: bool = False,
                   tags: tuple[str, ...] = (), extra: dict | None = None, **default_kwargs: Any) -> Callable:
    """Class/function decorator registering a fuser factory under ``name``.

    ``default_kwargs`` are passed to the factory by :func:`create_fuser` (so one class can be
    registered several times, e.g. ``dmnet`` and ``dmnet-tiny`` with different widths). The
    framework shown by ``ls`` is the factory's ``framework`` attribute.
    """
    _check_defaults(name, default_kwargs)

    def deco(factory: Callable) -> Callable:
        FUSERS.add(name, FuserSpec(name=name, factory=factory, description=description, reference=reference,
                                   needs_weights=needs_weights,
                                   framework=str(getattr(factory, "framework", Fuser.framework)),
                                   tags=tuple(tags), default_kwargs=dict(default_kwargs), extra=dict(extra or {})))
        return factory

    return deco


def register_lazy_fuser(name: str, target: str, *, framework: str, description: str = "", reference: str = "",
                        needs_weights: bool = False, tags: tuple[str, ...] = (), extra: dict | None = None,
                        **default_kwargs: Any) -> FuserSpec:
    """Register the fuser ``target`` (``"package.module:Class"``) without importing it.

    The metadata (``framework`` included, which must equal the class's attribute) is what ``ls``
    shows; the module is imported by :func:`create_fuser`.
    """
    _check_defaults(name, default_kwargs)
    if not isinstance(target, str) or ":" not in target:
        raise ValueError(f"register_lazy_fuser({name!r}): target must be 'package.module:attribute', got {target!r}")
    return FUSERS.add(name, FuserSpec(name=name, factory=target, description=description, reference=reference,
                                      needs_weights=needs_weights, framework=framework, tags=tuple(tags),
                                      default_kwargs=dict(default_kwargs), extra=dict(extra or {})))


def create_fuser(name: str, **kwargs: Any):
    """Build the fuser registered as ``name``; ``kwargs`` override its registered defaults."""
    spec = FUSERS.get(name)
    merged = {**spec.default_kwargs, **kwargs}
    fuser = spec.load()(**merged)
    fuser.name = spec.name
    fuser.init_kwargs = merged
    return fuser


def list_fusers(*, needs_weights: bool | None = None) -> list[str]:
    """Registered fuser names, optionally filtered by whether they need weights."""
    return [n for n, s in FUSERS.items() if needs_weights is None or s.needs_weights == needs_weights]


def fuser_spec(name: str) -> FuserSpec:
    return FUSERS.get(name)


#: trainer classes (``models.training.Trainer`` subclasses), or lazy ``"module:Class"`` targets, by fuser name
TRAINERS: Registry[type | str] = Registry("trainable fuser")


def register_trainer(fuser_name: str) -> Callable:
    """Class decorator: ``python -m benchmark train <fuser_name>`` uses this trainer class."""

    def deco(cls: type) -> type:
        TRAINERS.add(fuser_name, cls)
        cls.fuser_name = fuser_name
        return cls

    return deco


def register_lazy_trainer(fuser_name: str, target: str) -> None:
    """Register the trainer class ``target`` (``"package.module:Class"``) without importing it.

    The class must say which fuser it trains (``fuser_name = "<fuser_name>"``); :func:`trainer_class`
    checks it when it imports the class.
    """
    if not isinstance(target, str) or ":" not in target:
        raise ValueError(f"register_lazy_trainer({fuser_name!r}): target must be 'package.module:Class', "
                         f"got {target!r}")
    TRAINERS.add(fuser_name, target)


def trainer_class(fuser_name: str) -> type:
    """The trainer class of ``fuser_name`` (importing its module first for a lazy entry)."""
    entry = TRAINERS.get(fuser_name)
    if not isinstance(entry, str):
        return entry
    cls = load_target(entry)
    if getattr(cls, "fuser_name", None) != fuser_name.lower():
        raise TypeError(f"trainer {entry} is registered for {fuser_name!r} but its fuser_name is "
                        f"{getattr(cls, 'fuser_name', None)!r}")
    return cls

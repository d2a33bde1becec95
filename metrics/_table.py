"""The metric table: which implementation computes a metric under a convention, and its metadata.

One table of (metric, convention) -> :class:`Implementation`, filled next to the implementations
(each metric module calls :func:`register_metric` and :func:`implements`). Everything else is
derived from it: fallbacks (``effective_source``/``own``), references, units and versions per
convention, the torch-computed values, :func:`provenance` and :func:`metrics.describe`. Adding a
metric or a convention touches its implementation module (and its test) only; tests register
temporary entries with :func:`temporarily`.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Iterator, Mapping

from ivif_toolbox import Registry, UnknownNameError

from ._errors import UnknownMetricError
from ._torch_f32 import torch_arithmetic
from .conventions import CONVENTIONS, DEFAULT_CONVENTION, Convention, get_convention, reference_of

__all__ = ["MetricInfo", "Implementation", "METRICS", "METRIC_REGISTRY", "IMPLEMENTATIONS",
           "register_metric", "implements", "get_metric", "implementation", "provenance",
           "temporarily"]


@dataclass(frozen=True)
class Implementation:
    """How ``metric`` is computed under ``convention``.

    ``fn(triplet, **options)`` computes it on a prepared :class:`~metrics._triplet.Triplet`.
    ``borrowed_from``: the source whose formula is borrowed where the convention's own code does
    not define the metric (a documented fallback; None: the convention's own code). ``source``: the
    code of the convention's own definition when it is not the convention's main code (VIFB takes
    MS-SSIM and VIFF from its sibling MEFB). ``units``/``version``: where they differ from the
    metric's defaults. ``torch``: computed by PyTorch float32 kernels, as the reference computes it
    (machine-dependent). ``notes``: extra provenance facts (VIFF's source order).
    """

    metric: str
    convention: str
    fn: Callable = field(repr=False, compare=False)
    borrowed_from: str | None = None
    source: str | None = None
    units: str | None = None
    version: str | None = None
    torch: bool = False
    notes: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def own(self) -> bool:
        """True when the convention's own reference code defines the metric (no fallback)."""
        return self.borrowed_from is None

    @property
    def effective_source(self) -> str:
        return self.borrowed_from or self.source or self.convention


@dataclass(frozen=True)
class MetricInfo:
    """Metadata of one metric; its per-convention facts come from the implementation table.

    ``column``: position in the papers' column order (:data:`METRICS` is sorted by it). ``units``
    and ``version`` are the defaults; :meth:`units_for` and :meth:`version_for` give them per
    convention. ``version`` changes whenever an implementation change could change a stored value.
    """

    key: str
    name: str
    display_name: str
    higher_is_better: bool
    category: str
    units: str
    version: str
    reference: str
    description: str
    column: int
    fn: Callable = field(repr=False, compare=False)
    aliases: tuple[str, ...] = ()

    @property
    def direction(self) -> str:
        from ivif_toolbox import direction_arrow
        return direction_arrow(self.higher_is_better)

    def implementation(self, convention: "str | Convention") -> Implementation:
        return implementation(self.key, convention)

    def implementations(self) -> dict[str, Implementation]:
        """``{convention: Implementation}`` for every convention that has one."""
        out = {}
        for c in CONVENTIONS:
            key = _impl_key(self.key, c)
            if key in IMPLEMENTATIONS:
                out[c] = IMPLEMENTATIONS.get(key)
        return out

    def units_for(self, convention: str) -> str:
        return self.implementation(convention).units or self.units

    def version_for(self, convention: str) -> str:
        return self.implementation(convention).version or self.version

    def effective_source(self, convention: str) -> str:
        return self.implementation(convention).effective_source

    def defined_by(self, convention: str) -> bool:
        """True when the convention's own reference code defines the metric (no fallback)."""
        return self.implementation(convention).own

    @property
    def units_by_convention(self) -> Mapping[str, str]:
        return MappingProxyType({c: i.units for c, i in self.implementations().items() if i.units})

    @property
    def versions_by_convention(self) -> Mapping[str, str]:
        return MappingProxyType({c: i.version for c, i in self.implementations().items()
                                 if i.version})

    @property
    def torch_conventions(self) -> frozenset:
        return frozenset(c for c, i in self.implementations().items() if i.torch)


METRIC_REGISTRY: Registry[MetricInfo] = Registry("metric")
IMPLEMENTATIONS: Registry[Implementation] = Registry("implementation")


def _impl_key(metric: str, convention: str) -> str:
    return f"{metric}@{convention}"


def register_metric(info: MetricInfo) -> MetricInfo:
    """Add a metric to the table (an error if its key is taken)."""
    return METRIC_REGISTRY.add(info.key, info)


def implements(metric: str, *conventions: str, borrowed_from: str | None = None,
               source: str | None = None, units: str | None = None, version: str | None = None,
               torch: bool = False, notes: Mapping[str, str] | None = None):
    """Decorator: register the decorated ``fn(triplet, **options) -> float`` as the
    implementation of ``metric`` under each of ``conventions`` (see :class:`Implementation`)."""
    def register(fn):
        for c in conventions:
            conv = get_convention(c).name
            IMPLEMENTATIONS.add(_impl_key(metric, conv), Implementation(
                metric, conv, fn, borrowed_from, source, units, version, torch,
                MappingProxyType(dict(notes or {}))))
        return fn
    return register


@contextmanager
def temporarily() -> Iterator[None]:
    """A ``with`` block whose registrations (metrics, conventions, implementations) are undone on
    exit, for tests and notebooks: code run inside it registers as a module would, and the table
    is as it was afterwards."""
    from .conventions import CONVENTION_REGISTRY
    registries = (IMPLEMENTATIONS, METRIC_REGISTRY, CONVENTION_REGISTRY)
    before = [set(r.names()) for r in registries]
    try:
        yield
    finally:
        for registry, names in zip(registries, before):
            for name in [n for n in registry.names() if n not in names]:
                registry.unregister(name)


class _MetricsView(Mapping):
    """Read-only live view ``{key: MetricInfo}`` of the registry, in the papers' column order."""

    def _sorted(self) -> list[MetricInfo]:
        return sorted((m for _, m in METRIC_REGISTRY.items()), key=lambda m: m.column)

    def __getitem__(self, key: str) -> MetricInfo:
        if key not in METRIC_REGISTRY:
            raise KeyError(key)
        return METRIC_REGISTRY.get(key)

    def __iter__(self) -> Iterator[str]:
        return iter([m.key for m in self._sorted()])

    def __len__(self) -> int:
        return len(METRIC_REGISTRY)

    def __repr__(self) -> str:
        return f"METRICS({', '.join(self)})"


METRICS: Mapping[str, MetricInfo] = _MetricsView()


def get_metric(name: str) -> MetricInfo:
    """Return the :class:`MetricInfo` for a canonical key, function name or alias (case-insensitive).

    Raises :class:`UnknownMetricError` (a ``ValueError``) with a "did you mean" suggestion.
    """
    wanted = str(name).upper()
    for info in METRICS.values():
        if wanted in {info.key.upper(), info.name.upper(), *(a.upper() for a in info.aliases)}:
            return info
    try:
        raise UnknownNameError("metric", str(name), list(METRICS))
    except UnknownNameError as exc:
        raise UnknownMetricError("metric", str(name), exc.known) from None


def implementation(metric: str, convention: "str | Convention") -> Implementation:
    """The :class:`Implementation` of ``metric`` under ``convention``."""
    info = get_metric(metric)
    conv = get_convention(convention).name
    key = _impl_key(info.key, conv)
    if key not in IMPLEMENTATIONS:
        raise UnknownMetricError(f"metric (under convention {conv!r})", info.key, [
            m for m in METRICS if _impl_key(m, conv) in IMPLEMENTATIONS])
    return IMPLEMENTATIONS.get(key)


def provenance(metric: str, convention: str = DEFAULT_CONVENTION) -> dict:
    """Where a value of ``metric`` under ``convention`` comes from.

    Returns a dict with ``metric``, ``convention``, ``effective_source`` (the code whose formula
    is used: the convention itself, or its documented fallback, e.g. ``"vifb"`` for EI under
    cddfuse), ``own`` (True when the convention defines the metric), ``reference``
    (``owner/repo@commit``), ``units``, ``version`` (per convention) and the implementation's
    notes (VIFF: ``source_order``). Where the value is computed by PyTorch float32 kernels as the
    reference computes it (ivifzoo MS-SSIM and VIF), ``arithmetic`` says so and ``torch`` records
    what decides its last bits on this machine (torch version, device, ATen CPU capability, oneDNN
    switch, threads, CPU; ``{"torch": None, ...}`` when torch is not installed): such values agree
    between machines only to the spread given in ``docs/metrics.md``.
    """
    info = get_metric(metric)
    impl = info.implementation(convention)
    out = {
        "metric": info.key,
        "convention": impl.convention,
        "effective_source": impl.effective_source,
        "own": impl.own,
        "reference": reference_of(impl.effective_source),
        "units": impl.units or info.units,
        "version": impl.version or info.version,
    }
    if impl.torch:
        out["arithmetic"] = ("float32 PyTorch kernels of the computing machine (machine-dependent, "
                             "as the reference's own values)")
        out["torch"] = torch_arithmetic()
    out.update(impl.notes)
    return out

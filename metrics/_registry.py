"""Metric registry: metadata of the 12 metrics, provenance per convention, lookup and description."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

from ._errors import UnknownMetricError
from .conventions import CONVENTIONS, DEFAULT_CONVENTION, Triplet, get_convention
from .correlation import _cc_impl, _scd_impl, cc, scd
from .information import _en_impl, _mi_impl, en, mi
from .edge_preservation import _qabf_impl, qabf
from .spatial import _ag_impl, _ei_impl, _sd_impl, _sf_impl, ag, ei, sd, sf
from .ssim import _ms_ssim_impl, ms_ssim
from .fidelity import _vif_impl, _viff_impl, vif, viff
from ._torch_f32 import torch_arithmetic

__all__ = ["MetricInfo", "METRICS", "METRIC_KEYS", "get_metric", "provenance", "describe"]

# Where a convention does not define a metric, the source whose formula is borrowed (spec 1.2).
# Missing entries mean "own" (the convention's own reference code).
_FALLBACKS: dict[str, dict[str, str]] = {
    "CC": {"vifb": "tang2023"},
    "SCD": {"vifb": "tang2023"},
    "VIF": {"vifb": "tang2023"},
    "MS-SSIM": {"cddfuse": "tang2023"},
    "EI": {"tang2023": "vifb", "tang2022": "vifb", "cddfuse": "vifb"},
    "VIFF": {"tang2023": "mefb", "tang2022": "mefb", "cddfuse": "mefb", "ivifzoo": "mefb"},
}
# Own definitions that VIFB takes from its sibling MEFB.
_VIFB_FROM_MEFB = {"MS-SSIM", "VIFF"}

_REFERENCES = {
    "tang2023": "Linfeng-Tang/Evaluation-for-Image-Fusion@7849642",
    "tang2022": "Linfeng-Tang/Evaluation-for-Image-Fusion@5d6c43a",
    "vifb": "xingchenzhang/VIFB@22b2ea9",
    "mefb": "xingchenzhang/MEFB@9e185bf",
    "cddfuse": "Zhaozixiang1228/MMIF-CDDFuse@fd8da1f",
    "ivifzoo": "RollingPlain/IVIF_ZOO@61b0a44",
}


@dataclass(frozen=True)
class MetricInfo:
    """Metadata of one metric.

    ``units`` is the default unit; :meth:`units_for` gives the unit under a convention (MI is in
    bits or nats, SF and SD change scale under tang2022, MS-SSIM is a sum under ivifzoo).
    ``version`` changes whenever an implementation change could change a stored value;
    :meth:`version_for` gives it per convention (``versions_by_convention`` overrides it where
    only some conventions changed). ``torch_conventions``: the conventions under which the value
    is computed by PyTorch float32 kernels, as its reference code computes it, and therefore
    depends on the machine (``docs/metrics.md``).
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
    fn: Callable = field(repr=False, compare=False)
    impl: Callable[[Triplet], float] = field(repr=False, compare=False)
    units_by_convention: Mapping[str, str] = field(default_factory=dict, compare=False)
    versions_by_convention: Mapping[str, str] = field(default_factory=dict, compare=False)
    torch_conventions: frozenset = field(default_factory=frozenset, compare=False)

    @property
    def direction(self) -> str:
        return "↑" if self.higher_is_better else "↓"

    def units_for(self, convention: str) -> str:
        conv = get_convention(convention).name
        return self.units_by_convention.get(conv, self.units)

    def version_for(self, convention: str) -> str:
        conv = get_convention(convention).name
        return self.versions_by_convention.get(conv, self.version)

    def effective_source(self, convention: str) -> str:
        conv = get_convention(convention).name
        fb = _FALLBACKS.get(self.key, {}).get(conv)
        if fb:
            return fb
        if conv == "vifb" and self.key in _VIFB_FROM_MEFB:
            return "mefb"
        return conv

    def defined_by(self, convention: str) -> bool:
        """True when the convention's own reference code defines the metric (no fallback)."""
        return get_convention(convention).name not in _FALLBACKS.get(self.key, {})


def _info(key, fn, impl, display, category, units, reference, description, version="1.0",
          versions=None, torch=(), **units_by_conv):
    return MetricInfo(key=key, name=fn.__name__, display_name=display, higher_is_better=True,
                      category=category, units=units, version=version, reference=reference,
                      description=description, fn=fn, impl=impl,
                      units_by_convention=MappingProxyType(units_by_conv),
                      versions_by_convention=MappingProxyType(versions or {}),
                      torch_conventions=frozenset(torch))


METRICS: Mapping[str, MetricInfo] = MappingProxyType({m.key: m for m in (
    _info("EN", en, _en_impl, "EN", "information theory", "bits",
          "Roberts et al., J. Appl. Remote Sens. 2(1), 2008",
          "Shannon entropy of the fused grey-level histogram"),
    _info("SF", sf, _sf_impl, "SF", "image feature", "grey levels",
          "Eskicioglu & Fisher, IEEE Trans. Commun. 43(12), 1995",
          "spatial frequency: RMS of horizontal and vertical first differences",
          tang2022="grey levels / 255 ([0,1] scale)"),
    _info("AG", ag, _ag_impl, "AG", "image feature", "grey levels",
          "Cui et al., Optics Communications 341, 2015",
          "average gradient magnitude"),
    _info("SD", sd, _sd_impl, "SD", "image feature", "grey levels",
          "population standard deviation (Rao 1997 as cited)",
          "standard deviation of the fused image (contrast)",
          tang2022="grey levels, uint8-saturated (<= 15.97)"),
    _info("CC", cc, _cc_impl, "CC", "correlation", "unitless (-1..1)",
          "Shah, Merchant, Desai, SIViP 7(1), 2013",
          "mean Pearson correlation of the fused image with each source"),
    _info("SCD", scd, _scd_impl, "SCD", "correlation", "unitless (-2..2)",
          "Aslantas & Bendes, AEU 69(12), 2015",
          "sum of the correlations of differences"),
    _info("MI", mi, _mi_impl, "MI", "information theory", "bits",
          "Qu, Zhang, Yan, Electronics Letters 38(7), 2002",
          "mutual information MI(IR,F) + MI(VIS,F)",
          vifb="nats", cddfuse="nats"),
    _info("VIF", vif, _vif_impl, "VIF", "human perception", "unitless (sum over 2 sources)",
          "Sheikh & Bovik, IEEE TIP 15(2), 2006",
          "pixel-domain multi-scale visual information fidelity, summed over both sources",
          # 1.1: ivifzoo in PyTorch's float32 rounding; 1.2: MATLAB conventions (tang2022 too)
          # take Octave's arithmetic wherever rounding decides a clamp or a VID term's value;
          # ivifzoo 2.0: computed by torch itself
          version="1.2", versions={"ivifzoo": "2.0"}, torch=("ivifzoo",)),
    _info("Qabf", qabf, _qabf_impl, "Qabf", "image feature", "unitless (0..1)",
          "Xydeas & Petrovic, Electronics Letters 36(4), 2000",
          "edge-information preservation Q^{AB/F}"),
    _info("MS-SSIM", ms_ssim, _ms_ssim_impl, "MS-SSIM", "structural similarity",
          "unitless (MEF-MS-SSIM, <= 1)",
          "Ma, Zeng, Wang, IEEE TIP 24(11), 2015 (MEF-MS-SSIM); Wang, Simoncelli, Bovik, "
          "Asilomar 2003 (ivifzoo)",
          "multi-scale structural similarity to the sources",
          version="1.1",  # 1.1: ivifzoo in PyTorch's float32 rounding (numpy emulation)
          versions={"ivifzoo": "2.0"}, torch=("ivifzoo",),  # 2.0: computed by torch itself
          ivifzoo="unitless (sum of two Wang MS-SSIMs, <= 2)"),
    _info("EI", ei, _ei_impl, "EI", "image feature", "grey levels",
          "Rajalingam & Priya, IJESI 2018; VIFB (Zhang et al., CVPRW 2020)",
          "edge intensity: mean Sobel gradient magnitude"),
    _info("VIFF", viff, _viff_impl, "VIFF", "human perception", "unitless",
          "Han, Cai, Cao, Xu, Information Fusion 14(2), 2013",
          "Han et al.'s visual-information-fidelity fusion metric",
          version="1.1"),  # 1.1: rigorous rounding bounds, ill-conditioned VID terms in Octave's
                           # arithmetic
)})

METRIC_KEYS: tuple[str, ...] = tuple(METRICS)
_ALIASES = {"MS_SSIM": "MS-SSIM", "MSSSIM": "MS-SSIM", "QABF": "Qabf", "Q_ABF": "Qabf"}
_LOOKUP = {k.upper(): k for k in METRICS} | {m.name.upper(): m.key for m in METRICS.values()} | \
    _ALIASES


def get_metric(name: str) -> MetricInfo:
    """Return the :class:`MetricInfo` for a canonical key, function name or alias (case-insensitive).

    Raises :class:`UnknownMetricError` (a ``ValueError``) with a "did you mean" suggestion.
    """
    key = _LOOKUP.get(str(name).upper())
    if key is None:
        close = difflib.get_close_matches(str(name).upper(), list(_LOOKUP), n=3, cutoff=0.5)
        close = list(dict.fromkeys(_LOOKUP[c] for c in close))
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownMetricError(
            f"unknown metric {name!r}{hint} (known: {', '.join(METRICS)})")
    return METRICS[key]


def provenance(metric: str, convention: str = DEFAULT_CONVENTION) -> dict:
    """Where a value of ``metric`` under ``convention`` comes from.

    Returns a dict with ``metric``, ``convention``, ``effective_source`` (the code whose formula
    is used: the convention itself, or the fallback of spec 1.2, e.g. ``"vifb"`` for EI under
    cddfuse), ``own`` (True when the convention defines the metric), ``reference``
    (``owner/repo@commit``), ``units``, ``version`` (per convention) and, for VIFF,
    ``source_order``. Where the value is computed by PyTorch float32 kernels as the reference
    computes it (ivifzoo MS-SSIM and VIF), ``arithmetic`` says so and ``torch`` records what
    decides its last bits on this machine (torch version, device, ATen CPU capability, oneDNN
    switch, threads, CPU; ``{"torch": None, ...}`` when torch is not installed): such values
    agree between machines only to the spread given in ``docs/metrics.md``.
    """
    info = get_metric(metric)
    conv = get_convention(convention).name
    src = info.effective_source(conv)
    out = {
        "metric": info.key,
        "convention": conv,
        "effective_source": src,
        "own": info.defined_by(conv),
        "reference": _REFERENCES[src],
        "units": info.units_for(conv),
        "version": info.version_for(conv),
    }
    if conv in info.torch_conventions:
        out["arithmetic"] = ("float32 PyTorch kernels of the computing machine (machine-dependent, "
                             "as the reference's own values)")
        out["torch"] = torch_arithmetic()
    if info.key == "VIFF":
        out["source_order"] = "vis_ir"
    return out


def describe(verbose: bool = False) -> str:
    """The metrics x conventions table (cells: ``own`` or ``->source`` of the fallback), with
    display name, direction and units; ``verbose`` adds per-convention units, references,
    versions and the conventions' descriptions."""
    convs = list(CONVENTIONS)
    head = ["metric", "dir", *convs, "units"]
    rows = []
    for info in METRICS.values():
        cells = []
        for c in convs:
            src = info.effective_source(c)
            cell = "own" if info.defined_by(c) else f"->{src}"
            if info.defined_by(c) and src != c:
                cell = f"own ({src})"
            cells.append(cell)
        units = info.units
        alt = sorted(set(info.units_by_convention.values()))
        if alt:
            units += "; " + "; ".join(
                f"{c}: {u}" for c, u in info.units_by_convention.items())
        rows.append([info.display_name, info.direction, *cells, units])
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head) - 1)]

    def fmt(r):
        return "  ".join(str(x).ljust(w) for x, w in zip(r, widths)) + "  " + str(r[-1])

    lines = [fmt(head), fmt(["-" * w for w in widths] + ["-----"])]
    lines += [fmt(r) for r in rows]
    lines.append("")
    lines.append(f"default convention: {DEFAULT_CONVENTION}; all 12 metrics are higher-is-better "
                 f"(read the direction from metrics.METRICS). ->X: formula borrowed from X, inputs "
                 f"still prepared the convention's way. VIFF uses source order vis_ir (as VIFB/MEFB "
                 f"call it).")
    if verbose:
        lines.append("")
        lines.append("Metrics:")
        for info in METRICS.values():
            versions = "".join(f", {c} v{v}" for c, v in info.versions_by_convention.items())
            torch_note = "".join(f"; {c}: PyTorch float32, machine-dependent"
                                 for c in sorted(info.torch_conventions))
            lines.append(f"  {info.key:8s} v{info.version}{versions}  {info.category}: "
                         f"{info.description}{torch_note}. [{info.reference}]  "
                         f"fn=metrics.{info.name}")
        lines.append("")
        lines.append("Conventions:")
        for c in CONVENTIONS.values():
            lines.append(f"  {c.name}: {c.title}")
            lines.append(f"      source: {c.source}")
            lines.append(f"      grey:   {c.grey_rule}")
            lines.append(f"      dtype:  {c.dtype}")
            lines.append(f"      notes:  {c.description}")
            lines.append(f"      users:  {c.typical_users}")
    return "\n".join(lines)

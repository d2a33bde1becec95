"""The metrics x conventions table in words (``python -m metrics``), derived from the metric table."""
from __future__ import annotations

from ._table import METRICS
from .conventions import CONVENTIONS, DEFAULT_CONVENTION

__all__ = ["describe"]


def _cell(info, conv: str) -> str:
    impls = info.implementations()
    if conv not in impls:
        return "-"
    impl = impls[conv]
    if not impl.own:
        return f"->{impl.effective_source}"
    return "own" if impl.effective_source == conv else f"own ({impl.effective_source})"


def _direction_note() -> str:
    infos = list(METRICS.values())
    if all(i.higher_is_better for i in infos):
        return f"all {len(infos)} metrics are higher-is-better"
    lower = ", ".join(i.key for i in infos if not i.higher_is_better)
    return f"lower is better for {lower}, higher for the others"


def describe(verbose: bool = False) -> str:
    """The metrics x conventions table (cells: ``own`` or ``->source`` of the fallback), with
    display name, direction and units; ``verbose`` adds per-convention units, references,
    versions and the conventions' descriptions."""
    convs = list(CONVENTIONS)
    head = ["metric", "dir", *convs, "units"]
    rows = []
    for info in METRICS.values():
        units = info.units
        if info.units_by_convention:
            units += "; " + "; ".join(f"{c}: {u}" for c, u in info.units_by_convention.items())
        rows.append([info.display_name, info.direction, *(_cell(info, c) for c in convs), units])
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head) - 1)]

    def fmt(r):
        return "  ".join(str(x).ljust(w) for x, w in zip(r, widths)) + "  " + str(r[-1])

    lines = [fmt(head), fmt(["-" * w for w in widths] + ["-----"])]
    lines += [fmt(r) for r in rows]
    notes = sorted({f"{info.key} uses {k.replace('_', ' ')} {v}"
                    for info in METRICS.values() for impl in info.implementations().values()
                    for k, v in impl.notes.items()})
    lines.append("")
    lines.append(f"default convention: {DEFAULT_CONVENTION}; {_direction_note()} (read the "
                 f"direction from metrics.METRICS). ->X: formula borrowed from X, inputs still "
                 f"prepared the convention's way." + "".join(f" {n}." for n in notes))
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

"""``ls``: what is registered (datasets, fusers, metrics, conventions), as text."""
from __future__ import annotations

from ivif_toolbox import direction_arrow

from .config import LsConfig


def list_registered(cfg: LsConfig) -> str:
    """The listing ``python -m benchmark ls`` prints (every section when none is asked for)."""
    import metrics
    import models

    from .datasets import DATASETS, load_entry_point_datasets
    from .fusers import load_entry_point_fusers

    cfg.validate()
    load_entry_point_fusers()
    load_entry_point_datasets()
    show_all = not (cfg.datasets or cfg.fusers or cfg.metrics or cfg.conventions)
    out: list[str] = []
    if cfg.datasets or show_all:
        out.append("datasets:")
        for name, spec in DATASETS.items():
            out.append(f"  {name:<14} {spec.title}: {spec.official_count} pairs ({spec.split}) — {spec.description}")
            if cfg.verbose:
                out.append(f"  {'':<14} source: {spec.source}; roles: {spec.roles}")
                if spec.embedded is None:
                    out.append(f"  {'':<14} layout:\n" + "\n".join(f"  {'':<14} {line.strip()}"
                                                                   for line in spec.expected_layout().splitlines()))
    if cfg.fusers or show_all:
        out.append("fusers:")
        for name, spec in models.FUSERS.items():
            flags = ", ".join(x for x in (("needs weights" if spec.needs_weights else "weight-free"), *spec.tags) if x)
            out.append(f"  {name:<14} {spec.description} [{spec.framework}; {flags}] — "
                       f"{spec.reference or 'no reference'}")
            if cfg.verbose:
                for k, v in spec.extra.items():
                    out.append(f"  {'':<14} {k}: {v:,}" if isinstance(v, int) else f"  {'':<14} {k}: {v}")
                if spec.default_kwargs:
                    out.append(f"  {'':<14} defaults: {spec.default_kwargs}")
    if cfg.metrics or show_all:
        if cfg.verbose:
            out.append(metrics.describe(verbose=True))
        else:
            out.append("metrics:")
            for key, info in metrics.METRICS.items():
                out.append(f"  {key:<8} {info.display_name} {direction_arrow(info.higher_is_better)} — {info.reference}")
    if cfg.conventions or show_all:
        out.append("conventions:")
        for name, info in metrics.CONVENTIONS.items():
            desc = getattr(info, "description", info if isinstance(info, str) else "")
            out.append(f"  {name:<10} {desc}")
    return "\n".join(out)

"""Efficiency figures of fusers for ``run --profile`` and for the ``profile`` command (glue between
the configs and :mod:`benchmark.profiling`)."""
from __future__ import annotations

from typing import Any, Callable

from .config import ProfileConfig, RunConfig
from .outcomes import ProfileOutcome
from .profiling import EfficiencyRecord, ProfilingError, profile_fuser, profile_in_subprocess, render_efficiency_table

#: resolution of the efficiency measurements inside ``run --profile`` (MSRS native size, as DMNet's Table VIII)
RUN_PROFILE_SIZE = (640, 480)


def profile_entries(entries, config: RunConfig, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """``run --profile``: measure every non-folder fuser of the run; records as dicts for summary.json.

    Registered fusers are measured in a fresh subprocess (so the CPU peak RSS is theirs alone);
    plug-ins given as ``module:Class`` are measured in this process and labelled so. A fuser that
    cannot be measured is logged and left out.
    """
    import models

    records = []
    for e in entries:
        if e.is_folder:
            continue
        kwargs = {k: v for k, v in e.kwargs.items() if k != "device"}
        try:
            if e.token in models.FUSERS:
                rec = profile_in_subprocess(e.token, kwargs, size=RUN_PROFILE_SIZE, device=config.device,
                                            runs=config.profile_runs, warmup=2, classical_on_cpu=True)
            else:
                rec = profile_fuser(e.fuser, size=RUN_PROFILE_SIZE, device=config.device, runs=config.profile_runs,
                                    warmup=2, classical_on_cpu=True)
        except (ProfilingError, ValueError, RuntimeError) as exc:
            log(f"[profile] {e.name}: not measured: {exc}")
            continue
        rec.fuser = e.name
        records.append(rec.to_dict())
    return records


def render_efficiency(records: list[dict[str, Any]]) -> list[str]:
    """The leaderboard's measured efficiency block for stored record dicts."""
    recs = [EfficiencyRecord.from_dict(r) for r in records]
    return ["## Efficiency (measured)", "", render_efficiency_table(recs), ""]


def profile_fusers(cfg: ProfileConfig) -> ProfileOutcome:
    """The ``profile`` command: measure each fuser of ``cfg`` (validated here); the efficiency table
    and, beside it, the papers' own figures."""
    import models

    from .reported import render_reported_block

    cfg.validate()
    records = []
    for name in cfg.fusers:
        kw = cfg.kwargs_for(name)
        common = dict(size=cfg.size, device=cfg.device, runs=cfg.runs, warmup=cfg.warmup, flops=cfg.flops,
                      classical_on_cpu=True)
        if cfg.in_process:
            rec = profile_fuser(models.create_fuser(name, **kw), **common)
        else:
            rec = profile_in_subprocess(name, kw, **common)
        records.append(rec)
    return ProfileOutcome(records, render_efficiency_table(records), render_reported_block())

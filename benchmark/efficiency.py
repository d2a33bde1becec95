"""Glue between the runner/CLI and :mod:`benchmark.profiling` / :mod:`benchmark.plots`."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

from .profiling import (EfficiencyRecord, ProfilingError, parse_size, profile_fuser, profile_in_subprocess,
                        render_efficiency_table)

#: resolution of the efficiency measurements inside ``run --profile`` (MSRS native size, as DMNet's Table VIII)
RUN_PROFILE_SIZE = (640, 480)


def profile_entries(entries, outcome, config, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """``run --profile``: measure every non-folder fuser of the run; records as dicts for summary.json.

    Registered fusers are measured in a fresh subprocess (so the CPU peak RSS is theirs alone);
    plug-ins given as ``module:Class`` are measured in this process and labelled so.
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
    recs = [EfficiencyRecord.from_dict(r) for r in records]
    return ["## Efficiency (measured)", "", render_efficiency_table(recs), ""]


def make_plots(outcome, *, grid_pairs: int = 3) -> None:
    """Bars + radar per dataset and a qualitative grid (first pairs) under ``<run>/plots/``."""
    import metrics

    from .io import read_image
    from .plots import plot_summary, qualitative_grid
    from .results import per_image_frame, summary_frame

    summary = summary_frame(per_image_frame(outcome), outcome)
    plots: dict[str, dict[str, str]] = {}
    if summary.empty:
        outcome.plots = plots
        return
    plots_dir = outcome.run_dir / "plots"
    keys = outcome.config.metrics
    pset = plot_summary(summary, plots_dir, metric_order=keys,
                        higher_is_better={k: metrics.METRICS[k].higher_is_better for k in keys},
                        display_names={k: metrics.METRICS[k].display_name for k in keys})
    for f in pset.files:
        plots.setdefault(f.dataset, {})[{"bars": "metric bars", "radar": "radar"}.get(f.kind, f.kind)] = str(f.path)
    from .datasets import get_dataset

    for ds in outcome.datasets:
        ok = [o for o in outcome.outcomes if o.dataset == ds and o.status == "ok"]
        fusers = list(dict.fromkeys(o.fuser for o in ok))
        by_pair: dict[str, dict[str, Path]] = {}
        for o in ok:
            by_pair.setdefault(o.pair, {})[o.fuser] = o.fused_path
        names = [p for p, d in by_pair.items() if all(f in d for f in fusers)][:grid_pairs]
        if len(names) < 2 or not fusers:
            continue
        listing = {p.name: p for p in get_dataset(ds).listing(outcome.config.data_root).pairs}
        rows = []
        for name in names:
            ir, vis = listing[name].raw()
            rows.append((name, ir, vis, {f: read_image(by_pair[name][f]) for f in fusers}))
        path = qualitative_grid(rows, fusers, plots_dir / f"{ds}_qualitative.png", zoom=(0.4, 0.4, 0.18, 0.18),
                                title=f"{outcome.datasets[ds]['title']}: IR, VIS and fused outputs")
        plots.setdefault(ds, {})["qualitative grid"] = str(path)
    outcome.plots = plots


def profile_command(args: argparse.Namespace) -> int:
    """``python -m benchmark profile``: print the efficiency table (and the papers' reported block)."""
    import models

    from .fusers import parse_fuser_args
    from .reported import render_reported_block

    fuser_args = parse_fuser_args(args.fuser_arg)
    checkpoints: dict[str, str] = {}
    for item in args.checkpoint or []:
        name, sep, path = item.partition("=")
        if sep:
            checkpoints[name] = path
        elif len(args.fusers) == 1:
            checkpoints[args.fusers[0]] = item
        else:
            raise ValueError(f"--checkpoint {item!r}: with several fusers write FUSER=PATH")
    records = []
    for name in args.fusers:
        models.fuser_spec(name)  # did-you-mean before any work
    for name in args.fusers:
        kw = {**fuser_args.get("*", {}), **fuser_args.get(name, {})}
        if name in checkpoints:
            kw["checkpoint"] = checkpoints[name]
        common = dict(size=args.size, device=args.device, runs=args.runs, warmup=args.warmup,
                      flops=not args.no_flops, classical_on_cpu=True)
        if args.in_process:
            rec = profile_fuser(models.create_fuser(name, **kw), **common)
        else:
            rec = profile_in_subprocess(name, kw, **common)
        records.append(rec)
    print(render_efficiency_table(records))
    print()
    print(render_reported_block())
    return 0

"""The figures of a run (``<run>/plots/``): metric bars and a radar chart per dataset, and a
qualitative grid of the first pairs. Directions and display names are those the run records
(:func:`benchmark.results.run_metric_info`)."""
from __future__ import annotations

from pathlib import Path

from .outcomes import RunOutcome


def make_plots(outcome: RunOutcome, *, grid_pairs: int = 3) -> dict[str, dict[str, str]]:
    """Draw the run's figures; returns ``{dataset: {label: png path}}`` (empty when nothing succeeded)."""
    from .datasets import get_dataset
    from .io import read_image
    from .plots import plot_summary
    from .qualitative import qualitative_grid
    from .results import per_image_frame, run_metric_info, summary_frame

    summary = summary_frame(per_image_frame(outcome), outcome)
    plots: dict[str, dict[str, str]] = {}
    if summary.empty:
        return plots
    plots_dir = outcome.run_dir / "plots"
    info = run_metric_info(outcome.config)
    pset = plot_summary(summary, plots_dir, metric_order=list(info),
                        higher_is_better={k: i["higher_is_better"] for k, i in info.items()},
                        display_names={k: i["display_name"] for k, i in info.items()})
    for f in pset.files:
        plots.setdefault(f.dataset, {})[{"bars": "metric bars", "radar": "radar"}.get(f.kind, f.kind)] = str(f.path)
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
    return plots

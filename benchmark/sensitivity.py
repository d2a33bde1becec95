"""The convention-sensitivity table of the leaderboard: how much the choice of evaluator moves a number.

For one dataset evaluated under several metric conventions (one run computing several, or merged
runs), one row per metric × fuser with the mean under each convention and the relative spread
``(max − min) / |mean|`` of those means. It is the table that shows a reader why two papers that
evaluate the same fused images disagree. Only means over the whole pair set of the dataset enter the
spread (a mean over fewer pairs is shown with ``n/N`` and left out), and a metric whose units differ
between conventions (MI in bits or nats) says so, since the spread then includes the change of unit.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from tabulate import tabulate

from ivif_toolbox import direction_arrow

__all__ = ["mean_cell", "relative_spread", "render_sensitivity"]


def relative_spread(values: Sequence[float | None]) -> float | None:
    """``(max − min) / |mean|`` of the defined values (None and NaN are skipped).

    Returns None when fewer than two values are defined or their mean is 0 (the ratio is undefined).
    Dimensionless; 0 when every convention gives the same number.
    """
    vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if len(vals) < 2:
        return None
    mean = sum(vals) / len(vals)
    if mean == 0:
        return None
    return (max(vals) - min(vals)) / abs(mean)


def mean_cell(row: Mapping[str, Any] | None, n_pairs: int) -> tuple[float | None, str]:
    """One table cell of a summary row: (the value that may be ranked or compared, or None; the text).

    A mean over all ``n_pairs`` pairs is comparable (``"6.5425"``); one over fewer pairs shows
    ``n/N`` and is not (``"6.5425 (3/4)"``); an undefined or absent mean is ``"—"``. The leaderboard
    blocks and the sensitivity table both use it.
    """
    mean = None if row is None else row.get("mean")
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return None, "—"
    n = int(row.get("count", n_pairs))
    if n < n_pairs:
        return None, f"{mean:.4f} ({n}/{n_pairs})"
    return float(mean), f"{mean:.4f}"


def _percent(spread: float | None) -> str:
    """A spread as a percentage: one decimal, two significant digits below 0.1 % (so that a small
    but real disagreement does not read as 0), "0 %" only when the values agree exactly."""
    if spread is None:
        return "—"
    pct = 100 * spread
    return "0 %" if pct == 0 else (f"{pct:.1f} %" if pct >= 0.1 else f"{pct:.2g} %")


def render_sensitivity(merged: Mapping[str, Any], dataset: str) -> list[str]:
    """Markdown lines of the sensitivity table of ``dataset`` (no lines when it has one convention).

    ``merged`` is :func:`benchmark.report.merge_summaries`'s result: rows keyed by (dataset,
    convention, fuser, metric), the recorded ``metric_info`` per (metric, convention), the metric
    order per convention and the fusers of each (dataset, convention) block.
    """
    convs = [c for (d, c) in merged["datasets"] if d == dataset]
    if len(convs) < 2:
        return []
    meta = merged["datasets"][(dataset, convs[0])]
    n_pairs = int(meta["pairs"])
    metrics: list[str] = []
    for c in convs:
        present = {k[3] for k in merged["rows"] if k[0] == dataset and k[1] == c}
        metrics += [m for m in merged["metric_order"][c] if m in present and m not in metrics]
    fusers: list[str] = []
    for c in convs:
        fusers += [f for f in merged["block_fusers"].get((dataset, c), []) if f not in fusers]
    table, unit_notes = [], []
    for m in metrics:
        infos = {c: merged["metric_info"].get((m, c)) for c in convs}
        first = next(i for i in infos.values() if i)
        name = f"{first['display_name']} {direction_arrow(first['higher_is_better'])}"
        units = {c: i.get("units") for c, i in infos.items() if i}
        if len(set(units.values())) > 1:
            unit_notes.append(f"{first['display_name']} in " + ", ".join(f"{u} (`{c}`)" for c, u in units.items()))
        for f in fusers:
            cells = [mean_cell(merged["rows"].get((dataset, c, f, m)), n_pairs) for c in convs]
            if all(text == "—" for _v, text in cells):
                continue
            spread = relative_spread([v for v, _t in cells])
            table.append([name, f] + [t for _v, t in cells] + [_percent(spread)])
    if not table:
        return []
    caption = (f"*{meta['title']}: the mean of each metric under each convention ({n_pairs} pairs) and the relative "
               f"spread (max − min) / |mean| over the conventions: how much the choice of evaluator alone moves the "
               f"number. Only means over all {n_pairs} pairs enter the spread (n/{n_pairs}: over n pairs, left out); "
               f"— = undefined or not computed"
               + (f". Units differ: {'; '.join(unit_notes)}" if unit_notes else "") + ".*")
    return [f"## {meta['title']} — convention sensitivity", "", caption, "",
            tabulate(table, headers=["Metric", "Method"] + [f"`{c}`" for c in convs] + ["Spread"],
                     tablefmt="github", disable_numparse=True), ""]

"""Charts of a run's summary: per-dataset metric bars and a normalised radar chart (the qualitative
grid of fused images is :mod:`benchmark.qualitative`).

Papers in the field show metric charts beside their qualitative figures; this module draws them with
matplotlib's object-oriented API on an Agg canvas, so importing or calling it never changes
matplotlib's global state (no ``pyplot``, no backend switch).

Every function writes one PNG atomically (temporary file + rename) and returns its path. The
pixel size is deterministic: it is set in pixels (``panel_px`` and margins, see each function) and
never cropped (no ``bbox_inches="tight"``).

Summary tables (``pandas.DataFrame``) have the columns ``dataset, fuser, metric, convention,
mean, std, count``: one row per (dataset, convention, fuser, metric), mean and std over pairs.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ivif_toolbox import atomic_open, direction_arrow

from .results import COUNT_COLUMNS, SUMMARY_COLUMNS

__all__ = ["PlotFile", "PlotSet", "metric_bars", "metric_radar", "normalised_scores", "plot_summary"]

#: the summary columns a chart needs (the bookkeeping columns ``failures``, ``units`` and the pair counts
#: are not drawn)
CHART_COLUMNS = tuple(c for c in SUMMARY_COLUMNS if c not in ("failures", "units", *COUNT_COLUMNS))


# ============================================================================ helpers
def new_figure(width_px: int, height_px: int, dpi: int, layout: str | None = None):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    for label, v in (("width", width_px), ("height", height_px), ("dpi", dpi)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"figure {label} must be a positive integer, got {v!r}")
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig, out_path: str | os.PathLike) -> Path:
    out = Path(out_path)
    if out.suffix.lower() != ".png":
        raise ValueError(f"out_path must end in .png, got {str(out)!r}")
    with atomic_open(out, "wb") as f:
        fig.savefig(f, format="png", dpi=fig.dpi)
    return out


def panel_px_pair(panel_px: Sequence[int]) -> tuple[int, int]:
    try:
        pw, ph = panel_px
    except (TypeError, ValueError):
        raise TypeError(f"panel_px must be a (width, height) pair of ints, got {panel_px!r}") from None
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 16 for v in (pw, ph)):
        raise ValueError(f"panel_px must hold ints ≥ 16, got {panel_px!r}")
    return int(pw), int(ph)


def _select(summary, dataset: str, convention: str | None):
    import pandas as pd

    if not isinstance(summary, pd.DataFrame):
        raise TypeError(f"summary must be a pandas.DataFrame, got {type(summary).__name__}")
    missing = [c for c in CHART_COLUMNS if c not in summary.columns]
    if missing:
        raise ValueError(f"summary lacks columns {missing}; expected {list(CHART_COLUMNS)}")
    sub = summary[summary["dataset"] == dataset]
    if sub.empty:
        known = sorted(map(str, summary["dataset"].unique()))
        raise ValueError(f"dataset {dataset!r} is not in the summary (datasets: {known})")
    conventions = sorted(map(str, sub["convention"].unique()))
    if convention is None:
        if len(conventions) > 1:
            raise ValueError(f"dataset {dataset!r} has several metric conventions {conventions}; pass "
                             f"convention= (one convention per figure, never mixed)")
        convention = conventions[0]
    sub = sub[sub["convention"] == convention]
    if sub.empty:
        raise ValueError(f"dataset {dataset!r} has no rows for convention {convention!r} (has {conventions})")
    dup = sub.duplicated(["fuser", "metric"])
    if dup.any():
        first = sub[dup].iloc[0]
        raise ValueError(f"summary has several rows for dataset {dataset!r}, convention {convention!r}, "
                         f"fuser {first['fuser']!r}, metric {first['metric']!r}")
    return sub, convention


def _metrics_in_order(sub, metric_order: Sequence[str], higher_is_better: Mapping[str, bool]) -> list[str]:
    if isinstance(metric_order, str) or not isinstance(metric_order, Sequence):
        raise TypeError(f"metric_order must be a list of metric names, got {type(metric_order).__name__}")
    present = list(dict.fromkeys(map(str, sub["metric"])))
    ordered = [m for m in metric_order if m in present]
    ordered += sorted(m for m in present if m not in ordered)  # nothing dropped silently
    missing_dir = [m for m in ordered if m not in higher_is_better]
    if missing_dir:
        raise ValueError(f"higher_is_better has no entry for metrics {missing_dir}")
    return ordered


def _fusers_in_order(sub, fuser_order: Sequence[str] | None) -> list[str]:
    present = list(dict.fromkeys(map(str, sub["fuser"])))
    if fuser_order is None:
        return present
    unknown = [f for f in fuser_order if f not in present]
    if unknown:
        raise ValueError(f"fuser_order names fusers {unknown} that have no rows (present: {present})")
    return list(fuser_order) + [f for f in present if f not in fuser_order]


def _colours(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "x"


# ============================================================================ bars
def metric_bars(summary, dataset: str, out_path: str | os.PathLike, *, metric_order: Sequence[str],
                higher_is_better: Mapping[str, bool], display_names: Mapping[str, str],
                convention: str | None = None, fuser_order: Sequence[str] | None = None,
                panel_px: Sequence[int] = (300, 260), header_px: int = 30, dpi: int = 100) -> Path:
    """One bar chart per metric for ``dataset``: one bar per fuser, error bars = ±1 std over pairs.

    Args:
        summary: DataFrame with columns dataset, fuser, metric, convention, mean, std, count.
        dataset: which dataset's rows to draw.
        out_path: the PNG to write.
        metric_order: metric order of the panels; metrics present but not listed follow,
            sorted by name (none is dropped).
        higher_is_better: direction of every metric drawn (shown as ↑/↓; the best bar is outlined).
        display_names: metric name → label (metrics without an entry are labelled by their name).
        convention: required when the dataset has rows under several metric conventions.
        fuser_order: bar order (default: order of first appearance in ``summary``).
        panel_px, header_px, dpi: the PNG is ``ncols·panel_w × nrows·panel_h + header_px`` pixels,
            with ``ncols = min(4, number of metrics)`` and ``nrows = ceil(metrics / ncols)``.

    Returns:
        The path written.
    """
    sub, convention = _select(summary, dataset, convention)
    metrics = _metrics_in_order(sub, metric_order, higher_is_better)
    fusers = _fusers_in_order(sub, fuser_order)
    pw, ph = panel_px_pair(panel_px)
    ncols = min(4, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    fig = new_figure(ncols * pw, nrows * ph + int(header_px), dpi, layout="constrained")
    grid = fig.add_gridspec(nrows, ncols)
    colours = _colours(len(fusers))
    table = sub.set_index(["metric", "fuser"])
    single = False
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(grid[i // ncols, i % ncols])
        means, stds = [], []
        for f in fusers:
            if (metric, f) in table.index:
                row = table.loc[(metric, f)]
                means.append(float(row["mean"]))
                std = float(row["std"]) if row["std"] is not None else float("nan")
                single |= not math.isfinite(std)
                stds.append(std if math.isfinite(std) else 0.0)
            else:
                means.append(float("nan"))
                stds.append(0.0)
        x = np.arange(len(fusers))
        bars = ax.bar(x, np.nan_to_num(means, nan=0.0), yerr=stds, color=colours, capsize=2,
                      error_kw={"elinewidth": 0.8})
        finite = [m for m in means if math.isfinite(m)]
        if finite:
            best = max(finite) if higher_is_better[metric] else min(finite)
            for b, m in zip(bars, means):
                if math.isfinite(m) and m == best:
                    b.set_edgecolor("black")
                    b.set_linewidth(1.6)
        for xi, m in zip(x, means):
            if not math.isfinite(m):
                ax.text(xi, 0, "n/a", ha="center", va="bottom", fontsize=6, rotation=90)
        ax.set_title(f"{display_names.get(metric, metric)} {direction_arrow(higher_is_better[metric])}", fontsize=9)
        ax.set_xticks(x)
        ax.set_xticklabels(fusers, rotation=45, ha="right", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", linewidth=0.4, alpha=0.5)
    note = " (no error bar where a fuser has one pair)" if single else ""
    fig.suptitle(f"{dataset} — {convention} convention: mean over pairs, error bars ±1 std{note}; "
                 f"best outlined", fontsize=9)
    return save_png(fig, out_path)


# ============================================================================ radar
def normalised_scores(sub, metrics: Sequence[str], fusers: Sequence[str],
                      higher_is_better: Mapping[str, bool]) -> tuple[np.ndarray, list[str], list[str], list[str]]:
    """Per-metric min–max normalised means, flipped so that 1 = best.

    ``sub`` holds one dataset/convention of a summary. Returns ``(scores, omitted, ties, kept)``:
    ``scores`` is len(fusers) × len(kept); a metric whose mean is missing or NaN for some fuser is
    omitted; a metric on which all fusers tie gets 0.5 for everyone and is listed in ``ties``.
    """
    table = sub.set_index(["metric", "fuser"])["mean"]
    cols, omitted, ties = [], [], []
    kept = []
    for m in metrics:
        vals = np.array([float(table.get((m, f), float("nan"))) for f in fusers], dtype=float)
        if not np.all(np.isfinite(vals)):
            omitted.append(m)
            continue
        lo, hi = vals.min(), vals.max()
        if hi == lo:
            norm = np.full_like(vals, 0.5)
            ties.append(m)
        else:
            norm = (vals - lo) / (hi - lo)
        cols.append(norm if higher_is_better[m] else 1.0 - norm)
        kept.append(m)
    scores = np.stack(cols, axis=1) if cols else np.zeros((len(fusers), 0))
    return scores, omitted, ties, kept


def metric_radar(summary, dataset: str, out_path: str | os.PathLike, *, metric_order: Sequence[str],
                 higher_is_better: Mapping[str, bool], display_names: Mapping[str, str],
                 convention: str | None = None, fuser_order: Sequence[str] | None = None,
                 size_px: Sequence[int] = (760, 560), dpi: int = 100) -> Path:
    """Radar chart of per-metric min–max normalised means across the fusers of ``dataset``.

    For each metric the fusers' means are mapped to [0, 1] by (mean − min) / (max − min) over the
    fusers shown, and lower-is-better metrics are flipped (1 − value), so outward is always better.
    The normalisation is relative to the fusers in the chart and says nothing about absolute
    quality; the title states it. Metrics with a missing/NaN mean for some fuser are omitted and
    listed in the title; metrics on which all fusers tie are drawn at 0.5 and listed.

    Needs at least 2 fusers and 3 metrics (``ValueError`` otherwise). The PNG is ``size_px``
    (width, height) pixels. Other arguments as for :func:`metric_bars`.
    """
    sub, convention = _select(summary, dataset, convention)
    metrics = _metrics_in_order(sub, metric_order, higher_is_better)
    fusers = _fusers_in_order(sub, fuser_order)
    if len(fusers) < 2:
        raise ValueError(f"a radar chart normalises across fusers and needs at least 2, got {fusers}")
    scores, omitted, ties, kept = normalised_scores(sub, metrics, fusers, higher_is_better)
    if len(kept) < 3:
        raise ValueError(f"a radar chart needs at least 3 metrics with finite means for every fuser, got "
                         f"{kept} (omitted for NaN/missing values: {omitted})")
    width, height = panel_px_pair(size_px)
    fig = new_figure(width, height, dpi)
    title_px, label_px = 70, 35  # suptitle above; tick labels around the circle
    side = max(40.0, min(height - title_px - 2 * label_px, 0.6 * width))  # square axes; legend on the right
    y0 = (height - title_px - side) / 2
    ax = fig.add_axes([label_px * 1.6 / width, y0 / height, side / width, side / height], projection="polar")
    angles = np.linspace(0.0, 2 * np.pi, len(kept), endpoint=False)
    closed = np.concatenate([angles, angles[:1]])
    for f, row, colour in zip(fusers, scores, _colours(len(fusers))):
        vals = np.concatenate([row, row[:1]])
        ax.plot(closed, vals, color=colour, linewidth=1.4, label=f)
        ax.fill(closed, vals, color=colour, alpha=0.08)
    ax.set_xticks(angles)
    ax.set_xticklabels([f"{display_names.get(m, m)} {direction_arrow(higher_is_better[m])}" for m in kept], fontsize=8)
    ax.set_ylim(0.0, 1.0)
    ax.set_yticks([0.25, 0.5, 0.75, 1.0])
    ax.set_yticklabels(["0.25", "0.5", "0.75", "1"], fontsize=6)
    ax.legend(loc="upper left", bbox_to_anchor=(1.12, 1.0), fontsize=8, frameon=False)
    lines = [f"{dataset} — {convention} convention",
             "per-metric min–max normalisation of the means across the fusers shown;",
             "↓ metrics flipped, outward = better"]
    extra = []
    if omitted:
        extra.append(f"omitted (NaN/missing): {', '.join(omitted)}")
    if ties:
        extra.append(f"all tied (drawn at 0.5): {', '.join(ties)}")
    if extra:
        lines.append("; ".join(extra))
    fig.suptitle("\n".join(lines), fontsize=8.5)
    return save_png(fig, out_path)


# ============================================================================ a whole run
@dataclass(frozen=True)
class PlotFile:
    """One written figure: kind ("bars", "radar", "qualitative"), dataset, convention, path."""

    kind: str
    dataset: str
    convention: str
    path: Path


@dataclass
class PlotSet:
    """Figures written by :func:`plot_summary` and the ones it did not draw, with the reason."""

    files: list[PlotFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def plot_summary(summary, plots_dir: str | os.PathLike, *, metric_order: Sequence[str],
                 higher_is_better: Mapping[str, bool], display_names: Mapping[str, str],
                 fuser_order: Sequence[str] | None = None) -> PlotSet:
    """Bars and radar for every (dataset, convention) in ``summary``, under ``plots_dir``.

    Files: ``<dataset>_<convention>_bars.png`` and ``<dataset>_<convention>_radar.png``. A radar
    chart needs ≥ 2 fusers and ≥ 3 metrics with finite means; when it cannot be drawn, the reason
    is recorded in :attr:`PlotSet.skipped` (show it next to the links).
    """
    import pandas as pd

    if not isinstance(summary, pd.DataFrame):
        raise TypeError(f"summary must be a pandas.DataFrame, got {type(summary).__name__}")
    if summary.empty:
        raise ValueError("summary is empty: nothing to plot")
    plots_dir = Path(plots_dir)
    out = PlotSet()
    pairs = summary[["dataset", "convention"]].drop_duplicates().itertuples(index=False)
    for dataset, convention in pairs:
        dataset, convention = str(dataset), str(convention)
        stem = f"{_safe_name(dataset)}_{_safe_name(convention)}"
        kw = dict(metric_order=metric_order, higher_is_better=higher_is_better, display_names=display_names,
                  convention=convention, fuser_order=None)
        sub, _ = _select(summary, dataset, convention)
        order = [f for f in (fuser_order or []) if f in set(sub["fuser"])] or None
        kw["fuser_order"] = order
        path = metric_bars(summary, dataset, plots_dir / f"{stem}_bars.png", **kw)
        out.files.append(PlotFile("bars", dataset, convention, path))
        try:
            path = metric_radar(summary, dataset, plots_dir / f"{stem}_radar.png", **kw)
        except ValueError as err:
            out.skipped.append(f"radar chart for {dataset} ({convention}) not drawn: {err}")
        else:
            out.files.append(PlotFile("radar", dataset, convention, path))
    return out

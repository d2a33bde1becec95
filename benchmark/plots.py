"""Figures for a run: per-dataset metric bars, a normalised radar chart, qualitative grids.

Papers in the field (e.g. DMNet's and RED's qualitative figures) show metric charts and grids of
IR, VIS and every method's fused image with an enlarged detail; this module draws them with
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
from typing import Any, Mapping, Sequence

import numpy as np

from ivif_toolbox import atomic_open

__all__ = ["PlotFile", "PlotSet", "metric_bars", "metric_radar", "normalised_scores", "plot_summary",
           "qualitative_grid", "render_plot_links"]

SUMMARY_COLUMNS = ("dataset", "fuser", "metric", "convention", "mean", "std", "count")


# ============================================================================ helpers
def _new_figure(width_px: int, height_px: int, dpi: int, layout: str | None = None):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    for label, v in (("width", width_px), ("height", height_px), ("dpi", dpi)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"figure {label} must be a positive integer, got {v!r}")
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _save_png(fig, out_path: str | os.PathLike) -> Path:
    out = Path(out_path)
    if out.suffix.lower() != ".png":
        raise ValueError(f"out_path must end in .png, got {str(out)!r}")
    with atomic_open(out, "wb") as f:
        fig.savefig(f, format="png", dpi=fig.dpi)
    return out


def _panel_px(panel_px: Sequence[int]) -> tuple[int, int]:
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
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise ValueError(f"summary lacks columns {missing}; expected {list(SUMMARY_COLUMNS)}")
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


def _arrow(hib: bool) -> str:
    return "↑" if hib else "↓"


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
    pw, ph = _panel_px(panel_px)
    ncols = min(4, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    fig = _new_figure(ncols * pw, nrows * ph + int(header_px), dpi, layout="constrained")
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
        ax.set_title(f"{display_names.get(metric, metric)} {_arrow(higher_is_better[metric])}", fontsize=9)
        ax.set_xticks(x)
        ax.set_xticklabels(fusers, rotation=45, ha="right", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", linewidth=0.4, alpha=0.5)
    note = " (no error bar where a fuser has one pair)" if single else ""
    fig.suptitle(f"{dataset} — {convention} convention: mean over pairs, error bars ±1 std{note}; "
                 f"best outlined", fontsize=9)
    return _save_png(fig, out_path)


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
    width, height = _panel_px(size_px)
    fig = _new_figure(width, height, dpi)
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
    ax.set_xticklabels([f"{display_names.get(m, m)} {_arrow(higher_is_better[m])}" for m in kept], fontsize=8)
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
    return _save_png(fig, out_path)


# ============================================================================ qualitative grid
def _as_rgb_uint8(img: Any, what: str) -> np.ndarray:
    if not isinstance(img, np.ndarray):
        raise TypeError(f"{what} must be a numpy array, got {type(img).__name__}")
    if img.dtype != np.uint8:
        raise TypeError(f"{what} must be uint8 (0–255, shown as is), got dtype {img.dtype}")
    if img.ndim == 2:
        return np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim == 3 and img.shape[2] == 3:
        return img
    if img.ndim == 3 and img.shape[2] == 1:
        return np.repeat(img, 3, axis=2)
    raise ValueError(f"{what} must be H×W or H×W×3, got shape {img.shape}")


def _zoom_box(zoom: Sequence, h: int, w: int, what: str) -> tuple[int, int, int, int]:
    """(y0, x0, bh, bw) in pixels from fractions (all floats in [0, 1]) or pixels (all ints)."""
    try:
        y0, x0, bh, bw = zoom
    except (TypeError, ValueError):
        raise TypeError(f"zoom must be (y0, x0, h, w), got {zoom!r}") from None
    vals = (y0, x0, bh, bw)
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
        py0, px0, pbh, pbw = (int(v) for v in vals)
    elif all(isinstance(v, (float, np.floating)) for v in vals):
        if not all(0.0 <= v <= 1.0 for v in vals) or y0 + bh > 1.0 + 1e-9 or x0 + bw > 1.0 + 1e-9:
            raise ValueError(f"fractional zoom (y0, x0, h, w) must lie inside [0, 1] with y0+h ≤ 1 and x0+w ≤ 1, "
                             f"got {zoom!r}")
        py0, px0 = int(round(y0 * h)), int(round(x0 * w))
        pbh, pbw = max(1, int(round(bh * h))), max(1, int(round(bw * w)))
        pbh, pbw = min(pbh, h - py0), min(pbw, w - px0)
    else:
        raise TypeError(f"zoom values must be all ints (pixels) or all floats (fractions of H and W), got {zoom!r}")
    if pbh < 1 or pbw < 1 or py0 < 0 or px0 < 0 or py0 + pbh > h or px0 + pbw > w:
        raise ValueError(f"zoom box {zoom!r} -> pixels (y0={py0}, x0={px0}, h={pbh}, w={pbw}) does not fit "
                         f"{what} of size {h}×{w} (H×W)")
    return py0, px0, pbh, pbw


def _draw_rect(img: np.ndarray, y0: int, x0: int, h: int, w: int, colour, t: int) -> None:
    y1, x1 = y0 + h, x0 + w
    img[y0:min(y0 + t, y1), x0:x1] = colour
    img[max(y1 - t, y0):y1, x0:x1] = colour
    img[y0:y1, x0:min(x0 + t, x1)] = colour
    img[y0:y1, max(x1 - t, x0):x1] = colour


def _with_inset(img: np.ndarray, box: tuple[int, int, int, int], colour, max_fraction: float) -> np.ndarray:
    """Outline ``box`` and paste its crop, enlarged by an integer factor (nearest neighbour, so no
    pixel value is altered), into the lower-right corner with the same outline."""
    h, w = img.shape[:2]
    y0, x0, bh, bw = box
    factor = int(min(max_fraction * h // bh, max_fraction * w // bw))
    if factor < 2:
        raise ValueError(f"zoom box {bh}×{bw} (H×W) is too large to enlarge inside a {h}×{w} image: at most "
                         f"{max_fraction / 2:.0%} of each side for a 2× inset")
    crop = img[y0:y0 + bh, x0:x0 + bw]
    big = np.repeat(np.repeat(crop, factor, axis=0), factor, axis=1)
    out = img.copy()
    t = max(1, int(round(min(h, w) / 160)))
    _draw_rect(out, y0, x0, bh, bw, colour, t)
    ih, iw = big.shape[:2]
    out[h - ih:h, w - iw:w] = big
    _draw_rect(out, h - ih, w - iw, ih, iw, colour, t)
    return out


def qualitative_grid(rows: Sequence[tuple], fuser_names: Sequence[str], out_path: str | os.PathLike, *,
                     zoom: Sequence | None = None, title: str | None = None, panel_px: Sequence[int] | None = None,
                     label_px: int = 24, header_px: int = 22, title_px: int = 30, gap_px: int = 4, dpi: int = 100,
                     zoom_colour: tuple[int, int, int] = (255, 0, 0), zoom_max_fraction: float = 0.45) -> Path:
    """Grid of IR, VIS and each fuser's output for 2–4 pairs, optionally with an enlarged detail.

    Args:
        rows: 2–4 tuples ``(pair_name, ir, vis, fused)``: ``ir`` uint8 H×W (or H×W×3), ``vis``
            uint8 H×W×3 or H×W, ``fused`` a dict fuser name → uint8 H×W×3 or H×W, all of one H×W
            per row. Pixels are shown as they are (no contrast stretching; grey drawn as grey RGB).
        fuser_names: the fuser columns, in order; every row must have each of them.
        out_path: the PNG to write.
        zoom: ``(y0, x0, h, w)`` of a detail box, either all floats = fractions of each image's
            H and W (works for rows of different sizes) or all ints = pixels; or a sequence of
            such boxes, one per row. The box is outlined on every panel of the row and its crop,
            enlarged by the largest integer factor that keeps the inset within
            ``zoom_max_fraction`` of each side (nearest neighbour, at least 2×), is pasted in
            the lower-right corner, as in the papers' figures.
        title: optional figure title (adds ``title_px`` at the top).
        panel_px: (width, height) of each panel in pixels; default width 256 and the height that
            keeps the first row's aspect ratio. Other rows are letterboxed to fit.
        label_px, header_px: left margin for the pair names, top margin for the column names.
        gap_px: white space between neighbouring panels.

    The PNG is ``label_px + ncols·panel_w + (ncols−1)·gap_px`` ×
    ``header_px + (title_px if title) + nrows·panel_h + (nrows−1)·gap_px`` pixels, with
    ``ncols = 2 + len(fuser_names)``.
    """
    if isinstance(fuser_names, str) or not isinstance(fuser_names, Sequence) or not fuser_names:
        raise TypeError(f"fuser_names must be a non-empty list of names, got {fuser_names!r}")
    if not isinstance(rows, Sequence) or not 2 <= len(rows) <= 4:
        n = len(rows) if isinstance(rows, Sequence) else type(rows).__name__
        raise ValueError(f"a qualitative grid shows 2–4 pairs, got {n}")
    if zoom is not None and len(zoom) > 0 and isinstance(zoom[0], (Sequence, np.ndarray)):
        if len(zoom) != len(rows):
            raise ValueError(f"per-row zoom needs one box per row ({len(rows)}), got {len(zoom)}")
        zooms = list(zoom)
    else:
        zooms = [zoom] * len(rows)
    if not (0.0 < zoom_max_fraction <= 1.0):
        raise ValueError(f"zoom_max_fraction must be in (0, 1], got {zoom_max_fraction}")

    prepared: list[tuple[str, list[np.ndarray]]] = []
    for i, row in enumerate(rows):
        try:
            name, ir, vis, fused = row
        except (TypeError, ValueError):
            raise TypeError(f"row {i} must be (pair_name, ir, vis, {{fuser: fused}}), "
                            f"got {type(row).__name__}") from None
        if not isinstance(fused, Mapping):
            raise TypeError(f"row {i} ({name}): fused must be a dict fuser -> image, got {type(fused).__name__}")
        missing = [f for f in fuser_names if f not in fused]
        if missing:
            raise ValueError(f"row {i} ({name}): no fused image for {missing}")
        panels = [_as_rgb_uint8(ir, f"row {i} ({name}) IR"), _as_rgb_uint8(vis, f"row {i} ({name}) VIS")]
        panels += [_as_rgb_uint8(fused[f], f"row {i} ({name}) {f}") for f in fuser_names]
        shape = panels[0].shape[:2]
        for label, p in zip(["IR", "VIS"] + list(fuser_names), panels):
            if p.shape[:2] != shape:
                raise ValueError(f"row {i} ({name}): {label} is {p.shape[0]}×{p.shape[1]}, IR is {shape[0]}×{shape[1]}")
        if zooms[i] is not None:
            box = _zoom_box(zooms[i], shape[0], shape[1], f"row {i} ({name})")
            panels = [_with_inset(p, box, np.asarray(zoom_colour, dtype=np.uint8), zoom_max_fraction) for p in panels]
        prepared.append((str(name), panels))

    if panel_px is None:
        h0, w0 = prepared[0][1][0].shape[:2]
        panel_px = (256, max(16, int(round(256 * h0 / w0))))
    pw, ph = _panel_px(panel_px)
    ncols, nrows = 2 + len(fuser_names), len(prepared)
    for label, v in (("label_px", label_px), ("header_px", header_px), ("title_px", title_px), ("gap_px", gap_px)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{label} must be an integer ≥ 0, got {v!r}")
    top = int(header_px) + (int(title_px) if title else 0)
    width = int(label_px) + ncols * pw + (ncols - 1) * gap_px
    height = top + nrows * ph + (nrows - 1) * gap_px
    fig = _new_figure(width, height, dpi)
    fig.patch.set_facecolor("white")
    col_names = ["IR", "VIS"] + [str(f) for f in fuser_names]
    for c, cname in enumerate(col_names):
        fig.text((label_px + c * (pw + gap_px) + pw / 2) / width, 1.0 - (top - header_px / 2) / height, cname,
                 ha="center", va="center", fontsize=8)
    for r, (name, panels) in enumerate(prepared):
        y_bottom = 1.0 - (top + r * (ph + gap_px) + ph) / height
        fig.text((label_px / 2) / width, y_bottom + (ph / 2) / height, name, rotation=90, ha="center",
                 va="center", fontsize=7)
        for c, img in enumerate(panels):
            ax = fig.add_axes([(label_px + c * (pw + gap_px)) / width, y_bottom, pw / width, ph / height])
            ax.imshow(img, interpolation="antialiased")  # RGB uint8: drawn as is, no normalisation
            ax.set_axis_off()
    if title:
        fig.text(0.5, 1.0 - (title_px / 2) / height, title, ha="center", va="center", fontsize=9)
    return _save_png(fig, out_path)


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


def render_plot_links(files: Sequence[PlotFile] | PlotSet, relative_to: str | os.PathLike) -> str:
    """Markdown list of links to the figures, relative to ``relative_to`` (e.g. the run folder)."""
    skipped: list[str] = []
    if isinstance(files, PlotSet):
        skipped = files.skipped
        files = files.files
    base = Path(relative_to)
    titles = {"bars": "metric bars", "radar": "normalised radar chart", "qualitative": "qualitative grid"}
    lines = []
    for f in files:
        rel = os.path.relpath(Path(f.path), base).replace(os.sep, "/")
        conv = f" ({f.convention})" if f.convention else ""
        lines.append(f"- {f.dataset}{conv}: [{titles.get(f.kind, f.kind)}]({rel})")
    lines += [f"- {s}" for s in skipped]
    return "\n".join(lines) + ("\n" if lines else "")

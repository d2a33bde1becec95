"""Qualitative grids: IR, VIS and every method's fused image for a few pairs, with an enlarged detail
(as the papers' qualitative figures, e.g. DMNet's and RED's). Drawn like the charts of
:mod:`benchmark.plots` (object-oriented matplotlib on an Agg canvas, deterministic pixel size, one
PNG written atomically)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .plots import new_figure, panel_px_pair, save_png

__all__ = ["qualitative_grid"]


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
    pw, ph = panel_px_pair(panel_px)
    ncols, nrows = 2 + len(fuser_names), len(prepared)
    for label, v in (("label_px", label_px), ("header_px", header_px), ("title_px", title_px), ("gap_px", gap_px)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{label} must be an integer ≥ 0, got {v!r}")
    top = int(header_px) + (int(title_px) if title else 0)
    width = int(label_px) + ncols * pw + (ncols - 1) * gap_px
    height = top + nrows * ph + (nrows - 1) * gap_px
    fig = new_figure(width, height, dpi)
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
    return save_png(fig, out_path)

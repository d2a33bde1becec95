"""The per-triplet work a metric worker does: every requested metric of one (fused, IR, VIS) triplet.

:func:`evaluate_pair` is what the runner submits to an executor (:mod:`benchmark.engine`): it takes
the arrays themselves (the fused image as saved, the sources as stored), so a worker never re-reads
a file, and it is a module-level function of a module that imports only :mod:`metrics` (numpy), so a
worker process unpickles it without importing torch or the fusers.

Errors are isolated per metric: a metric that refuses these images (``ValueError``, e.g. an image
below a window size) gets its message as its ``error`` and the others are still computed; a NaN
(undefined for these images) is stored as ``None`` with the error ``"NaN (undefined for these
images)"``. Warnings raised while computing are recorded, deduplicated and sorted, with every value
of the triplet (they are not attributed to a metric).

:func:`evaluate_conventions` does the same under several conventions with the work they share done
once (:class:`metrics.TripletWork`); its records are exactly those of :func:`evaluate_pair` per
convention, errors and warnings isolated per convention and metric.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Sequence

import numpy as np

import metrics as metrics_pkg

NAN_ERROR = "NaN (undefined for these images)"


def evaluate_pair(fused: np.ndarray, ir_raw: np.ndarray, vis_raw: np.ndarray, metric_keys: Sequence[str],
                  convention: str) -> dict[str, dict[str, Any]]:
    """Compute ``metric_keys`` on one triplet under ``convention``; no exception escapes for a metric.

    Parameters
    ----------
    fused : ndarray
        The fused image exactly as saved (uint8, H×W or H×W×3).
    ir_raw, vis_raw : ndarray
        The source images as stored on disk (uint8, H×W or H×W×3), same height and width.
    metric_keys : sequence of str
        Metric keys of :data:`metrics.METRICS` (e.g. ``["EN", "MI"]``).
    convention : str
        One name of :data:`metrics.CONVENTIONS` (several: :func:`evaluate_conventions`).

    Returns
    -------
    dict
        ``{metric: {"value": float | None, "units", "effective_source", "version", "error": str | None,
        "warnings": [str, ...]}}`` for every key of ``metric_keys``, in that order.
    """
    if not isinstance(convention, str):
        raise ValueError(f"evaluate_pair: convention must be one convention name (str), got {convention!r}")
    def compute(keys: list[str], conv: str) -> dict[str, float]:
        return metrics_pkg.compute(fused, ir_raw, vis_raw, metrics=keys, convention=conv)
    return _evaluate_convention(compute, list(metric_keys), convention)


def evaluate_conventions(fused: np.ndarray, ir_raw: np.ndarray, vis_raw: np.ndarray, metric_keys: Sequence[str],
                         conventions: Sequence[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """:func:`evaluate_pair` under each of ``conventions``: ``{convention: {metric: record}}``.

    The records are exactly those :func:`evaluate_pair` gives for one convention at a time (values
    bit for bit, errors and warnings per convention), but the images are validated once and the
    work the conventions share (grey images, histograms, VIF passes, ...) is done once
    (:class:`metrics.TripletWork`).
    """
    if isinstance(conventions, str) or not conventions:
        raise ValueError(f"evaluate_conventions: conventions must be a non-empty sequence of convention names, "
                         f"got {conventions!r}")
    keys = list(metric_keys)
    try:
        work = metrics_pkg.TripletWork(fused, ir_raw, vis_raw)
    except ValueError:  # the images themselves are refused: each record gets the message
        return {c: evaluate_pair(fused, ir_raw, vis_raw, keys, c) for c in conventions}
    return {c: _evaluate_convention(work.compute, keys, c) for c in conventions}


def _evaluate_convention(compute: Callable[[list[str], str], dict[str, float]], metric_keys: list[str],
                         convention: str) -> dict[str, dict[str, Any]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values, errors = _compute_isolated(compute, metric_keys, convention)
    notes = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    out: dict[str, dict[str, Any]] = {}
    for m in metric_keys:
        prov = metrics_pkg.provenance(m, convention)
        v = values.get(m)
        defined = v is not None and not (isinstance(v, float) and math.isnan(v))
        out[m] = {"value": float(v) if defined else None,
                  "units": prov["units"], "effective_source": prov["effective_source"], "version": prov["version"],
                  "error": errors.get(m) or (None if defined else NAN_ERROR),
                  "warnings": notes}
    return out


def _compute_isolated(compute: Callable[[list[str], str], dict[str, float]], metric_keys: list[str],
                      convention: str) -> tuple[dict[str, float], dict[str, str]]:
    """All metrics in one ``compute(keys, convention)`` call (shared intermediates); when that refuses
    the images, each metric alone, so the one that refuses gets the error and the others their values."""
    try:
        return compute(metric_keys, convention), {}
    except ValueError:
        values: dict[str, float] = {}
        errors: dict[str, str] = {}
        for m in metric_keys:
            try:
                values.update(compute([m], convention))
            except ValueError as exc:
                errors[m] = str(exc)
        return values, errors

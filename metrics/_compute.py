"""Evaluate several metrics on one triplet (sharing work), under several conventions (sharing work
between them), or on many triplets (joblib)."""
from __future__ import annotations

import warnings
from typing import Any, Callable, Iterable, Sequence

from ._evaluate import run_impl
from ._table import METRICS, get_metric
from ._triplet import SharedWork, Triplet
from ._validation import check_triplet
from .conventions import CONVENTIONS, DEFAULT_CONVENTION, get_convention

__all__ = ["compute", "compute_many", "compute_batch", "TripletWork"]


def _resolve(metrics: Iterable[str] | str | None) -> list[str]:
    if metrics is None:
        return list(METRICS)
    if isinstance(metrics, str):
        metrics = [metrics]
    return list(dict.fromkeys(get_metric(m).key for m in metrics))


def compute(fused, ir, vis, metrics: Iterable[str] | str | None = None,
            convention: str = DEFAULT_CONVENTION) -> dict[str, float]:
    """Compute several metrics on one (fused, ir, vis) triplet.

    Parameters
    ----------
    fused, ir, vis : ndarray
        H x W or H x W x 3 (RGB) arrays, uint8 (as stored on disk) or float in [0, 255], with the
        same height and width. The convention's colour-to-grey rule is applied here, once. All
        three must be on the 0-255 scale: a float image with values in [0, 1] (not all zero)
        beside a uint8 image or one with values above 1 raises :class:`MetricInputError`
        (multiply it by 255); three floats in [0, 1] give an :class:`InputRangeWarning`.
    metrics : iterable of str, optional
        Metric keys (``EN SF AG SD CC SCD MI VIF Qabf MS-SSIM EI VIFF``), case-insensitive; the
        function names (``ms_ssim``) and ``MS_SSIM`` are accepted too. Default: all 12.
    convention : str
        One of :data:`metrics.CONVENTIONS` (default ``"tang2023"``).

    Returns
    -------
    dict
        ``{key: value}`` in the requested order (all 12: the papers' column order), Python floats.
        Grey conversions, VIF/VIFF core maps and similar intermediates are computed once and
        shared. See :func:`metrics.provenance` for each value's units and effective source.
    """
    keys = _resolve(metrics)
    t = Triplet(fused, ir, vis, convention)
    return {k: run_impl(k, t) for k in keys}


class TripletWork:
    """One (fused, ir, vis) triplet, validated once, evaluated under any number of conventions
    with the work they have in common done once.

    Grey conversions, 8-bit levels, moment sums, Sobel/gradient sums, MEF-MS-SSIM, Qabf and the
    VIF/VIFF passes are pure functions of their input arrays; they are stored by content (two
    conventions whose grey images are equal element for element share them), so
    ``work.compute(keys, c)`` returns exactly ``metrics.compute(fused, ir, vis, keys, c)``, bit
    for bit, and emits the same warnings (those of the validation and of every shared step are
    re-emitted for each call). Not thread-safe (it records warnings with
    :func:`warnings.catch_warnings`); use one per thread.
    """

    def __init__(self, fused, ir, vis):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self._checked = check_triplet(fused, ir, vis)
        self._warnings = tuple(caught)
        self._work = SharedWork(content_keyed=True)

    def compute(self, metrics: Iterable[str] | str | None = None,
                convention: str = DEFAULT_CONVENTION) -> dict[str, float]:
        """As :func:`compute` for this triplet under ``convention``."""
        keys = _resolve(metrics)
        conv = get_convention(convention)
        for w in self._warnings:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        t = Triplet(None, None, None, conv, _checked=self._checked, work=self._work)
        return {k: run_impl(k, t) for k in keys}


def compute_many(fused, ir, vis, metrics: Iterable[str] | str | None = None,
                 conventions: Iterable[str] | None = None) -> dict[str, dict[str, float]]:
    """Compute several metrics on one triplet under several conventions, sharing their work.

    Parameters
    ----------
    fused, ir, vis, metrics :
        As in :func:`compute`.
    conventions : iterable of str, optional
        Names of :data:`metrics.CONVENTIONS` (duplicates dropped); default: all of them.

    Returns
    -------
    dict
        ``{convention: {key: value}}``; each inner dict is exactly (bit for bit) what
        ``compute(fused, ir, vis, metrics, convention)`` returns. The first failing metric raises,
        as in :func:`compute`; use :class:`TripletWork` to isolate failures per convention.
    """
    keys = _resolve(metrics)
    names = list(CONVENTIONS) if conventions is None or isinstance(conventions, str) \
        else list(conventions)
    if isinstance(conventions, str) or not names:
        raise ValueError(f"compute_many: conventions must be a non-empty sequence of convention "
                         f"names, got {conventions!r}")
    convs = list(dict.fromkeys(get_convention(c).name for c in names))
    work = TripletWork(fused, ir, vis)
    return {c: work.compute(keys, c) for c in convs}


def _compute_item(item, loader, keys, convention) -> dict[str, float]:
    if loader is not None:
        item = loader(item)
    elif callable(item):
        item = item()
    try:
        fused, ir, vis = item
    except (TypeError, ValueError):
        raise ValueError("each batch item must be a (fused, ir, vis) triplet of arrays, a "
                         "zero-argument callable returning one, or an input of `loader`") from None
    return compute(fused, ir, vis, keys, convention)


def compute_batch(triplets: Sequence[Any], metrics: Iterable[str] | str | None = None,
                  convention: str = DEFAULT_CONVENTION, n_jobs: int = 1,
                  loader: Callable[[Any], tuple] | None = None) -> list[dict[str, float]]:
    """Compute metrics on many triplets, in parallel with joblib.

    Parameters
    ----------
    triplets : sequence
        Each item is either a ``(fused, ir, vis)`` tuple of arrays, or a zero-argument callable
        returning one (a lazy loader), or - when ``loader`` is given - anything ``loader`` accepts
        (e.g. a tuple of file paths). Loading inside the workers keeps the parent's memory small;
        callables and ``loader`` must be picklable (module-level functions) when ``n_jobs != 1``.
    metrics, convention :
        As in :func:`compute`; checked before any work starts.
    n_jobs : int
        joblib ``n_jobs`` (1: sequential in this process, -1: all cores).
    loader : callable, optional
        ``loader(item) -> (fused, ir, vis)``.

    Returns
    -------
    list of dict
        One :func:`compute` result per item, in input order. The first failing item raises.
    """
    keys = _resolve(metrics)
    conv = get_convention(convention).name
    if n_jobs == 1:
        return [_compute_item(it, loader, keys, conv) for it in triplets]
    from joblib import Parallel, delayed  # optional at import time: `metrics` stays numpy-only

    return list(Parallel(n_jobs=n_jobs)(
        delayed(_compute_item)(it, loader, keys, conv) for it in triplets))

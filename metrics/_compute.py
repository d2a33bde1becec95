"""Evaluate several metrics on one triplet (sharing work) or on many triplets (joblib)."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from ._evaluate import run_impl
from ._registry import METRICS, get_metric
from .conventions import DEFAULT_CONVENTION, Triplet, get_convention

__all__ = ["compute", "compute_batch"]


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
    t.requested = frozenset(keys)
    return {k: run_impl(k, METRICS[k].impl, t) for k in keys}


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

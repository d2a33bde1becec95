"""Correlation metrics: CC (correlation coefficient) and SCD (sum of correlations of differences)."""
from __future__ import annotations

import numpy as np

from ._evaluate import evaluate
from ._table import MetricInfo, implements, register_metric
from ._triplet import Triplet
from .conventions import DEFAULT_CONVENTION

__all__ = ["cc", "scd"]


def _images(t: Triplet):
    """(A, B, F) as the correlation formulas see them, plus whether all are integer-valued.

    The convention's grey images (0-255). tang2022 passes ``im2double`` data (/255) to CC and SCD;
    correlations are scale-invariant, so the 0-255 images give the same values (to 1e-14 on the
    fixtures) and keep a constant image exactly constant (NaN, not rounding noise). Under ``vifb``
    these are the per-channel images of VIFB's loop; a source that is still RGB in the
    single-call case (grey fused image) goes through MATLAB ``rgb2gray``, as the tang2023 formula
    borrowed there expects grey input.
    """
    names = ("ir", "vis", "fused")
    return tuple(t.grey(w) for w in names), all(t.grey_is_integer(w) for w in names)


def _sums(t: Triplet):
    """Exact first and second moment sums of integer-valued (A, B, F) as Python ints, cached.

    With 8-bit data every product and partial sum is an integer below 2**53, so the float64 sums
    are exact; the correlations below are then formed in exact integer arithmetic.
    """
    (a, b, f), _ = _images(t)

    def build():
        s = {"n": a.size, "a": a.sum(), "b": b.sum(), "f": f.sum(),
             "aa": _dot(a, a), "bb": _dot(b, b), "ff": _dot(f, f),
             "af": _dot(a, f), "bf": _dot(b, f), "ab": _dot(a, b)}
        return {k: int(v) for k, v in s.items()}
    return t.shared("moment_sums", (a, b, f), (), build)


def _r_exact(n: int, sx: int, sy: int, sxx: int, syy: int, sxy: int) -> float:
    """Pearson r from exact integer sums; NaN when either variable is constant."""
    den = (n * sxx - sx * sx) * (n * syy - sy * sy)
    if den == 0:
        return float("nan")
    return (n * sxy - sx * sy) / float(den) ** 0.5


def _centred(t: Triplet):
    """Centred, flattened (A, B, F) for non-integer input, cached (shared by CC and SCD)."""
    imgs = _images(t)[0]
    return t.shared("centred", imgs, (), lambda: [x.ravel() - x.mean() for x in imgs])


def _dot(x: np.ndarray, y: np.ndarray) -> float:
    """sum(x * y) with numpy's own (single-threaded, pairwise) summation. BLAS ``ddot`` would be
    multi-threaded, which costs more than it saves on a busy machine."""
    return float((x * y).sum())


def _r(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two centred vectors (MATLAB ``corr2``); NaN if one is constant."""
    return float(np.float64(_dot(x, y)) / np.sqrt(_dot(x, x) * _dot(y, y)))


def _cc_call(t: Triplet) -> float:
    if _images(t)[1]:
        s = _sums(t)
        n = s["n"]
        return (_r_exact(n, s["a"], s["f"], s["aa"], s["ff"], s["af"])
                + _r_exact(n, s["b"], s["f"], s["bb"], s["ff"], s["bf"])) / 2.0
    a, b, f = _centred(t)
    return (_r(a, f) + _r(b, f)) / 2.0


implements("CC", "tang2023", "tang2022", "cddfuse", "ivifzoo")(_cc_call)


@implements("CC", "vifb", borrowed_from="tang2023")
def _cc_vifb(t: Triplet) -> float:
    return t.channel_mean(_cc_call)


def cc(fused, ir, vis, *, convention: str = DEFAULT_CONVENTION) -> float:
    """Correlation coefficient CC = (r(IR, F) + r(VIS, F)) / 2 (higher is better, -1..1).

    r is the Pearson correlation over all pixels (MATLAB ``corr2``) (Shah, Merchant, Desai,
    "Multifocus and multispectral image fusion based on pixel significance using multiresolution
    decomposition", Signal, Image and Video Processing 7(1), 2013).

    Parameters
    ----------
    fused, ir, vis : ndarray
        H x W or H x W x 3 (RGB), uint8 or float in [0, 255], same height and width.
    convention : str, keyword-only
        ``tang2023`` (Tang ``CC_evaluation.m``; its ``B - mean(A)`` typo is harmless and not
        reproduced), ``tang2022`` (/255 data there; r is scale-invariant), ``cddfuse``, ``ivifzoo``: on
        the convention's grey images. ``vifb`` has no CC: the tang2023 formula inside VIFB's
        channel loop (effective source ``tang2023``).

    Returns
    -------
    float
        The mean of the two correlations. NaN (the reference value, with an
        ``UndefinedValueWarning``) when the fused image or a source is constant.
    """
    return evaluate("CC", fused, ir, vis, convention)


def _scd_call(t: Triplet) -> float:
    if _images(t)[1]:
        # sums of F - B and F - A follow from the same exact moments
        s = _sums(t)
        n = s["n"]
        dfb, dfa = s["f"] - s["b"], s["f"] - s["a"]
        r1 = _r_exact(n, dfb, s["a"], s["ff"] - 2 * s["bf"] + s["bb"], s["aa"], s["af"] - s["ab"])
        r2 = _r_exact(n, dfa, s["b"], s["ff"] - 2 * s["af"] + s["aa"], s["bb"], s["bf"] - s["ab"])
        return r1 + r2
    # (F - B) - mean(F - B) = f - b for the centred vectors, so no re-centring is needed.
    a, b, f = _centred(t)
    return _r(f - b, a) + _r(f - a, b)


implements("SCD", "tang2023", "tang2022", "cddfuse", "ivifzoo")(_scd_call)


@implements("SCD", "vifb", borrowed_from="tang2023")
def _scd_vifb(t: Triplet) -> float:
    return t.channel_mean(_scd_call)


def scd(fused, ir, vis, *, convention: str = DEFAULT_CONVENTION) -> float:
    """Sum of the correlations of differences SCD = r(F - VIS, IR) + r(F - IR, VIS) (higher is better).

    Aslantas & Bendes, "A new image quality metric for image fusion: the sum of the correlations
    of differences", AEU Int. J. Electron. Commun. 69(12), 2015. Not torchmetrics'
    ``SpatialCorrelationCoefficient``.

    Parameters
    ----------
    fused, ir, vis : ndarray
        H x W or H x W x 3 (RGB), uint8 or float in [0, 255], same height and width.
    convention : str, keyword-only
        Identical formula under ``tang2023`` (``analysis_SCD.m``), ``tang2022`` (/255 data, same r),
        ``cddfuse`` and ``ivifzoo``; ``vifb`` borrows it inside its channel loop.

    Returns
    -------
    float
        SCD in -2..2. NaN (reference value, ``UndefinedValueWarning``) when a source or a
        difference image is constant, e.g. fused == IR.
    """
    return evaluate("SCD", fused, ir, vis, convention)


register_metric(MetricInfo(
    key="CC", name="cc", display_name="CC", higher_is_better=True, category="correlation",
    units="unitless (-1..1)", version="1.0", reference="Shah, Merchant, Desai, SIViP 7(1), 2013",
    description="mean Pearson correlation of the fused image with each source", column=5, fn=cc))
register_metric(MetricInfo(
    key="SCD", name="scd", display_name="SCD", higher_is_better=True, category="correlation",
    units="unitless (-2..2)", version="1.0", reference="Aslantas & Bendes, AEU 69(12), 2015",
    description="sum of the correlations of differences", column=6, fn=scd))

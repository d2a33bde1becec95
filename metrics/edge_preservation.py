"""Qabf: Xydeas-Petrovic edge-information preservation Q^{AB/F}."""
from __future__ import annotations

import numpy as np

from ._evaluate import evaluate
from ._filters import padded_tile, sobel_valid, tiles
from ._matlab import integer_valued, rgb2gray_matlab
from ._table import MetricInfo, implements, register_metric
from ._triplet import Triplet
from .conventions import DEFAULT_CONVENTION

__all__ = ["qabf"]

# Model constants of the original paper / code.
_L, _TG, _KG, _DG, _TA, _KA, _DA = 1.0, 0.9994, -15.0, 0.5, 0.9879, -22.0, 0.8
_HALF_PI = np.pi / 2.0


def _edge(pp: np.ndarray, exact_order: bool):
    """Gradient strength g and orientation alpha = atan(Sy/Sx) (pi/2 where Sx == 0) of a
    zero-padded strip."""
    sx, sy = sobel_valid(pp, exact_order=exact_order)
    g = np.sqrt(sx * sx + sy * sy)
    alpha = np.arctan(sy / sx)
    np.copyto(alpha, _HALF_PI, where=sx == 0.0)
    return g, alpha


def _preservation(gs, als, gf, alf) -> np.ndarray:
    """Q^{SF} per pixel. G = gF/gS or gS/gF (the smaller over the larger), and gF where gS == gF
    (the original's quirk: 0 instead of 1 where both are 0)."""
    G = np.minimum(gs, gf)
    G /= np.maximum(gs, gf)
    np.copyto(G, gf, where=gs == gf)
    G -= _DG
    G *= _KG
    qg = np.exp(G, out=G)
    qg += 1.0
    A = als - alf
    np.abs(A, out=A)
    A *= -_KA / _HALF_PI          # ka * (A - Da) with A = 1 - |da| / (pi/2)
    A += _KA * (1.0 - _DA)
    qa = np.exp(A, out=A)
    qa += 1.0
    qa *= qg
    return np.divide(_TG * _TA, qa, out=qa)


def qabf_core(pa: np.ndarray, pb: np.ndarray, pf: np.ndarray, *, exact_order: bool) -> float:
    """Q^{AB/F} of two 2-D sources and a fused image, on whatever scale they are given.

    Processed in tiles (the Sobel filters need one pixel of halo).
    """
    m, n = pa.shape
    num = den = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):  # Sx == 0 and gS == gF == 0 are handled
        for i0, i1, j0, j1 in tiles(m, n, 2):
            (ga, aa), (gb, ab), (gf, af) = (_edge(padded_tile(p, i0, i1, j0, j1, 1), exact_order)
                                            for p in (pa, pb, pf))
            # (q * g).sum(), not np.vdot: BLAS ddot threads, which is slower on a busy machine
            num += float((_preservation(ga, aa, gf, af) * ga).sum())
            num += float((_preservation(gb, ab, gf, af) * gb).sum())
            den += float(ga.sum()) + float(gb.sum())
    return float(np.float64(num) / den)  # NaN (not ZeroDivisionError) without any gradient


def _integer_valued(*xs: np.ndarray) -> bool:
    return all(integer_valued(x) for x in xs)


def _qabf_vifb_call(t: Triplet) -> float:
    # VIFB metricsQabf: a 3-channel source (single call) goes through rgb2gray on double data (no
    # rounding); everything is then used as 255 * im2double(double(x)), i.e. on 0-65025.
    def prep(im):
        x = rgb2gray_matlab(im.data, as_uint8=False) if im.channels == 3 else im.data
        return x * 255.0
    pa, pb, pf = prep(t.b), prep(t.a), prep(t.f)
    exact = not _integer_valued(pa, pb, pf)
    return qabf_core(pa, pb, pf, exact_order=exact)


@implements("Qabf", "vifb")
def _qabf_vifb(t: Triplet) -> float:
    return t.channel_mean(_qabf_vifb_call)


@implements("Qabf", "tang2023", "tang2022", "cddfuse", "ivifzoo")
def _qabf_grey(t: Triplet) -> float:
    a, b, f = t.grey("ir"), t.grey("vis"), t.grey("fused")
    if t.convention.unit_scale:  # im2double: [0, 1] data, MATLAB conv2 accumulation order
        return t.shared("qabf/255", (a, b, f), (), lambda: qabf_core(
            a / 255.0, b / 255.0, f / 255.0, exact_order=True))
    exact = not all(t.grey_is_integer(w) for w in ("ir", "vis", "fused"))
    return t.shared("qabf", (a, b, f), (exact,), lambda: qabf_core(a, b, f, exact_order=exact))


def qabf(fused, ir, vis, *, convention: str = DEFAULT_CONVENTION) -> float:
    """Edge-information preservation Q^{AB/F} ("Qabf", higher is better, 0..1).

    Xydeas & Petrovic, "Objective image fusion performance measure", Electronics Letters 36(4),
    2000: Sobel strength and orientation of each image, sigmoidal preservation of strength and
    orientation from each source to the fused image, weighted by the source strengths.
    Constants L=1, Tg=0.9994, kg=-15, Dg=0.5, Ta=0.9879, ka=-22, Da=0.8. The original's quirk
    G = gF where gS == gF (0, not 1, where both vanish) is reproduced. Not Liu's Q_G.

    Parameters
    ----------
    fused, ir, vis : ndarray
        H x W or H x W x 3 (RGB), uint8 or float in [0, 255], same height and width.
    convention : str, keyword-only
        * ``tang2023`` (``analysis_Qabf.m``), ``cddfuse`` (``Evaluator.Qabf``, float64 work
          arrays, i.e. without its uint8 truncation bug), ``ivifzoo`` (``Qabf.py``): 0-255 grey.
        * ``tang2022``: the old code on ``im2double`` [0, 1] data. The Sobel sums then carry
          rounding noise that flips ``Sx == 0`` and ``gS == gF`` at some pixels; MATLAB's
          ``conv2`` accumulation order is reproduced so that these flips match (0.4737 vs 0.4739
          with a different order on one image).
        * ``vifb``: VIFB ``metricsQabf.m`` on ``255 * x`` (0-65025), per channel; with a grey fused
          image an RGB source is converted with ``rgb2gray`` on double data (unrounded, so the
          MATLAB ``conv2`` order matters again).

    Returns
    -------
    float
        Qabf in 0..1. NaN if neither source has any gradient (0/0).
    """
    return evaluate("Qabf", fused, ir, vis, convention)


register_metric(MetricInfo(
    key="Qabf", name="qabf", display_name="Qabf", higher_is_better=True, category="image feature",
    units="unitless (0..1)", version="1.0",
    reference="Xydeas & Petrovic, Electronics Letters 36(4), 2000",
    description="edge-information preservation Q^{AB/F}", column=9, fn=qabf,
    aliases=("QABF", "Q_ABF")))

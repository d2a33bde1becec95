"""Visual-information-fidelity metrics: VIF (Sheikh-Bovik pixel VIF) and VIFF (Han et al.).

Both are built on the same multi-scale pixel-domain core (spec ``metrics.md`` 3.1), implemented once
in :func:`vifp_maps`; :func:`metrics.compute` shares its maps between VIF and VIFF whenever a
convention feeds both the same images.
"""
from __future__ import annotations

import warnings

import numpy as np

from ._errors import NaNTermReplacedWarning, UnverifiedPathWarning
from ._evaluate import evaluate
from ._primitives import (
    check_min_size,
    correlate_same_zero,
    correlate_valid,
    gaussian_factor,
    levels,
    rgb2gray_matlab,
)
from .conventions import DEFAULT_CONVENTION, Triplet

__all__ = ["vif", "viff", "vifp_maps", "VIFF_SOURCE_ORDERS"]

VIF_SIGMA_N_SQ = 2.0                       # LIVE vifp_mscale.m
VIFF_SIGMA_N_SQ = 0.005 * 255.0 * 255.0    # Han et al.: visual noise sq = 325.125
VIFF_C = 1e-7
VIFF_SCALE_WEIGHTS = np.array([1.0, 0.0, 0.15, 1.0]) / 2.15
VIFF_SOURCE_ORDERS = ("vis_ir", "ir_vis")
VALID_MIN_SIZE = 41  # smallest side for which all four 'valid' scales are non-empty


def _window(n: int, asymmetric: bool) -> np.ndarray:
    """1-D factor of the scale window: ``fspecial('gaussian', n, n/5)`` or IVIF_ZOO's asymmetric
    grid (n points from -ceil(n/2) to floor(n/2), no truncation)."""
    sigma = n / 5.0
    if not asymmetric:
        return gaussian_factor(n, sigma)
    x = np.linspace(-np.ceil(n / 2.0), np.floor(n / 2.0), n)
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _clamped(s1: np.ndarray, s2: np.ndarray, s12: np.ndarray):
    """Clamps of spec 3.1 step 4, in order. Returns (g, sigma1^2, sv^2); ``s2`` is not modified."""
    np.maximum(s1, 0.0, out=s1)
    s2 = np.maximum(s2, 0.0)
    g = s12 / (s1 + 1e-10)
    sv = s2 - g * s12
    m = s1 < 1e-10
    np.copyto(g, 0.0, where=m)
    np.copyto(sv, s2, where=m)
    np.copyto(s1, 0.0, where=m)
    m = s2 < 1e-10
    np.copyto(g, 0.0, where=m)
    np.copyto(sv, 0.0, where=m)
    m = g < 0.0
    np.copyto(sv, s2, where=m)
    np.copyto(g, 0.0, where=m)
    np.copyto(sv, 1e-10, where=sv <= 1e-10)
    return g, s1, sv


def vifp_maps(refs: list[np.ndarray], dist: np.ndarray, *, same_padding: bool = False,
              asymmetric_window: bool = False, saturate_first_scale: bool = False):
    """Per-scale maps (g, sigma1^2, sv^2) of the multi-scale pixel VIF core for each reference.

    Parameters
    ----------
    refs : list of 2-D float arrays
        Reference (source) images; they share the distorted image's statistics.
    dist : 2-D float array
        The distorted (fused) image.
    same_padding : bool
        Zero-padded 'same' filtering at every step (IVIF_ZOO) instead of 'valid' (LIVE/Tang/Han).
    asymmetric_window : bool
        IVIF_ZOO's asymmetric Gaussian grid instead of ``fspecial``.
    saturate_first_scale : bool
        Tang 2022: at scale 1 the products ref.*ref, dist.*dist, ref.*dist are uint8 and
        saturate at 255 (inputs must be integer grey levels).

    Returns
    -------
    list (per reference) of list (per scale 1..4) of (g, sigma1_sq, sv_sq) arrays.
    """
    filt = correlate_same_zero if same_padding else correlate_valid
    out: list[list] = [[] for _ in refs]
    refs = list(refs)
    for s in range(1, 5):
        n = 2 ** (5 - s) + 1
        w = _window(n, asymmetric_window)
        if s > 1:
            refs = [filt(r, w, step=2) for r in refs]
            dist = filt(dist, w, step=2)
        sat = saturate_first_scale and s == 1
        mu2 = filt(dist, w)
        dd = dist * dist
        if sat:
            np.minimum(dd, 255.0, out=dd)
        s2 = filt(dd, w)
        s2 -= mu2 * mu2
        for k, ref in enumerate(refs):
            mu1 = filt(ref, w)
            rr = ref * ref
            rd = ref * dist
            if sat:
                np.minimum(rr, 255.0, out=rr)
                np.minimum(rd, 255.0, out=rd)
            s1 = filt(rr, w)
            s1 -= mu1 * mu1
            s12 = filt(rd, w)
            s12 -= mu1 * mu2
            out[k].append(_clamped(s1, s2, s12))
    return out


def _vifp_from_maps(maps, sigma_n_sq: float = VIF_SIGMA_N_SQ) -> float:
    """vifp = sum over scales and pixels of VID / the same sum of VIND (ratio of sums)."""
    num = den = 0.0
    for g, s1, sv in maps:
        num += float(np.log10(1.0 + g * g * s1 / (sv + sigma_n_sq)).sum())
        den += float(np.log10(1.0 + s1 / sigma_n_sq).sum())
    return num / den


# ------------------------------------------------------------------------------------------------
# VIF
# ------------------------------------------------------------------------------------------------
def _valid_maps(t: Triplet, a: np.ndarray, b: np.ndarray, f: np.ndarray, tag: str = "grey"):
    """Float 'valid' core maps for (IR, F) and (VIS, F), cached under ``tag`` (shared by VIF and
    VIFF, which see the same grey images under every convention except in MEFB's colour paths)."""
    return t.memo(("vifp_valid", tag), lambda: vifp_maps([a, b], f))


def _grey_sources(t: Triplet):
    """Grey (IR, VIS, F); under vifb a still-RGB source (single call) goes through rgb2gray."""
    if t.convention == "vifb":
        def grey(im):
            return rgb2gray_matlab(im.data, as_uint8=im.integer) if im.channels == 3 else im.data
        return grey(t.a), grey(t.b), grey(t.f)
    return t.grey("ir"), t.grey("vis"), t.grey("fused")


def _vif_call(t: Triplet) -> float:
    conv = t.convention
    if conv == "ivifzoo":
        a, b, f = _grey_sources(t)
        maps = t.memo("vifp_same_asym", lambda: vifp_maps(
            [a, b], f, same_padding=True, asymmetric_window=True))
        return _vifp_from_maps(maps[0]) + _vifp_from_maps(maps[1])
    check_min_size(t.hw, VALID_MIN_SIZE, f"VIF (convention {conv!r}, 4 scales of 'valid' windows "
                                         f"17, 9, 5, 3)")
    if conv == "tang2022":
        qa, qb, qf = (levels(t.grey(w), t.grey_is_integer(w), "VIF (tang2022)").astype(np.float64)
                      for w in ("ir", "vis", "fused"))
        maps = vifp_maps([qa, qb], qf, saturate_first_scale=True)
        return _vifp_from_maps(maps[0]) + _vifp_from_maps(maps[1])
    a, b, f = _grey_sources(t)
    maps = _valid_maps(t, a, b, f)
    terms = [_vifp_from_maps(maps[0]), _vifp_from_maps(maps[1])]
    if conv == "cddfuse":
        for k, name in enumerate(("ir", "vis")):
            if np.isnan(terms[k]):
                warnings.warn(
                    f"VIF (cddfuse): the pixel-VIF term of {name} is NaN (constant image?); "
                    f"CDDFuse's Evaluator returns 1.0 for it and so does this convention",
                    NaNTermReplacedWarning, stacklevel=4)
                terms[k] = 1.0
    return terms[0] + terms[1]


def _vif_impl(t: Triplet) -> float:
    if t.convention == "vifb":
        check_min_size(t.hw, VALID_MIN_SIZE, "VIF (convention 'vifb')")
        return float(np.mean([_vif_call(s) for s in t.vifb_channels()]))
    return _vif_call(t)


def vif(fused, ir, vis, *, convention: str = DEFAULT_CONVENTION) -> float:
    """Visual information fidelity VIF = vifp(IR, F) + vifp(VIS, F) (higher is better).

    Sheikh & Bovik's pixel-domain multi-scale VIF ("Image information and visual quality", IEEE
    TIP 15(2), 2006; LIVE ``vifp_mscale.m``), sigma_n^2 = 2, four scales with Gaussian windows
    17/9/5/3, ratio of the sums of the information maps; summed over the two sources as fusion
    papers do. Not Han's VIFF (see :func:`viff`), although CDDFuse calls this function ``VIFF``.

    Parameters
    ----------
    fused, ir, vis : ndarray
        H x W or H x W x 3 (RGB), uint8 or float in [0, 255], same height and width; smaller side
        >= 41 except under ``ivifzoo``.
    convention : str, keyword-only
        * ``tang2023``: Tang ``vifp_mscale.m`` on 0-255 doubles.
        * ``tang2022``: the same file fed uint8 images: at the first scale the products saturate
          at 255 before filtering, which inflates VIF (0.98 instead of 0.70 on SeAFusion/TNO).
        * ``cddfuse``: ``Evaluator.VIFF`` (float32); a NaN source term (constant source) is
          replaced by 1.0 as there, with a :class:`~metrics.NaNTermReplacedWarning`.
        * ``ivifzoo``: ``Metric_torch.py``: zero-padded 'same' filtering everywhere and an
          asymmetric window grid (+0.013 to +0.024).
        * ``vifb``: VIFB has no VIF (MEFB's "VIF" is Han's VIFF): the tang2023 formula inside
          VIFB's channel loop.

    Returns
    -------
    float
        Typically 0.5-1.2. NaN when a source is constant (denominator 0), except under cddfuse.
    """
    return evaluate("VIF", _vif_impl, fused, ir, vis, convention)


# ------------------------------------------------------------------------------------------------
# VIFF
# ------------------------------------------------------------------------------------------------
def _viff_from_maps(maps_1, maps_2) -> float:
    """Han et al.: per scale, per pixel, the maps of the source with the smaller gain g (strict
    ``g1 < g2`` picks source 1, ties go to source 2); F_s = sum(VID + C) / sum(VIND + C)."""
    total = 0.0
    for s, ((g1, s11, sv1), (g2, s12, sv2)) in enumerate(zip(maps_1, maps_2)):
        if VIFF_SCALE_WEIGHTS[s] == 0.0:
            continue
        pick1 = g1 < g2
        g = np.where(pick1, g1, g2)
        s1 = np.where(pick1, s11, s12)
        sv = np.where(pick1, sv1, sv2)
        vid = np.log10(1.0 + g * g * s1 / (sv + VIFF_SIGMA_N_SQ))
        vind = np.log10(1.0 + s1 / VIFF_SIGMA_N_SQ)
        n = vid.size
        total += VIFF_SCALE_WEIGHTS[s] * (float(vid.sum()) + VIFF_C * n) / (
            float(vind.sum()) + VIFF_C * n)
    return total


def _viff_grey_call(t: Triplet, a: np.ndarray, b: np.ndarray, f: np.ndarray, order: str,
                    tag: str = "grey") -> float:
    maps_ir, maps_vis = _valid_maps(t, a, b, f, tag)
    if order == "vis_ir":
        return _viff_from_maps(maps_vis, maps_ir)
    return _viff_from_maps(maps_ir, maps_vis)


def _srgb_lightness_uint8(rgb: np.ndarray) -> np.ndarray:
    """L* of sRGB -> CIELAB (D50-adapted, as MATLAB ``makecform('srgb2lab')``) in MATLAB's uint8
    encoding round(L* * 255 / 100). Only used by the unverified MEFB path."""
    c = rgb / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    y = 0.2225045 * lin[:, :, 0] + 0.7168786 * lin[:, :, 1] + 0.0606169 * lin[:, :, 2]
    d = 6.0 / 29.0
    fy = np.where(y > d ** 3, np.cbrt(y), y / (3 * d * d) + 4.0 / 29.0)
    lstar = 116.0 * fy - 16.0
    return np.clip(np.floor(lstar * 255.0 / 100.0 + 0.5), 0.0, 255.0)


def _viff_impl(t: Triplet, order: str = "vis_ir") -> float:
    check_min_size(t.hw, VALID_MIN_SIZE, "VIFF (4 scales of 'valid' windows 17, 9, 5, 3)")
    if t.convention != "vifb":
        a, b, f = t.grey("ir"), t.grey("vis"), t.grey("fused")
        return _viff_grey_call(t, a, b, f, order)
    # MEFB metricsVIF wrapper.
    fc, ac, bc = t.f.channels, t.a.channels, t.b.channels
    if ac == 1 and bc == 1:
        f = t.f.data[:, :, 0] if fc == 3 else t.f.data   # RGB fused, grey sources: R channel
        return _viff_grey_call(t, t.a.data, t.b.data, f, order, "mefb-red" if fc == 3 else "grey")
    if fc == 1:
        warnings.warn("VIFF (vifb): grey fused image with RGB source(s): MEFB converts the RGB "
                      "sources to CIELAB L*; this path is reimplemented from the description "
                      "and unverified", UnverifiedPathWarning, stacklevel=4)
        a = _srgb_lightness_uint8(t.a.data) if ac == 3 else t.a.data
        b = _srgb_lightness_uint8(t.b.data) if bc == 3 else t.b.data
        return _viff_grey_call(t, a, b, t.f.data, order, "mefb-lightness")
    return float(np.mean([_viff_grey_call(s, s.a.data, s.b.data, s.f.data, order)
                          for s in t.vifb_channels()]))


def viff(fused, ir, vis, *, convention: str = DEFAULT_CONVENTION,
         source_order: str = "vis_ir") -> float:
    """Han et al.'s visual-information-fidelity fusion metric VIFF (higher is better).

    Han, Cai, Cao, Xu, "A new image fusion performance metric based on visual information
    fidelity", Information Fusion 14(2):127-135, 2013, as implemented in MEFB ``metricsVIF.m``
    (= Han's ``VIFF_Public.m``): the pixel-VIF core with visual noise 0.005*255^2, per scale and
    pixel the maps of the source with the smaller gain g, scale weights [1, 0, 0.15, 1] / 2.15.
    A different metric from VIF.

    Parameters
    ----------
    fused, ir, vis : ndarray
        H x W or H x W x 3 (RGB), uint8 or float in [0, 255], same height and width, smaller
        side >= 41.
    convention : str, keyword-only
        Only ``vifb`` defines VIFF (MEFB wrapper: RGB fused with grey sources uses the fused R
        channel; a grey fused image with RGB sources uses CIELAB L*, unverified,
        ``UnverifiedPathWarning``; otherwise VIFB's channel loop). Every other convention falls
        back to the same formula on its own grey images (effective source ``mefb``).
    source_order : {"vis_ir", "ir_vis"}, keyword-only
        Which source is "source 1" in Han's selection. Where both gains are equal (typically both
        clamped to 0 in flat regions) the **second** source wins, so the order changes the value
        (by at most 3.2e-3 on the project's fixtures, median 0). The default ``"vis_ir"`` is the
        argument order in which VIFB/MEFB call ``metricsVIF(vis, ir, fused)`` and in which the
        reference values were produced (ties go to IR). ``"ir_vis"`` is the order of IR-first
        drivers (e.g. thfylsty's ``main.m``). :func:`metrics.compute` always uses the default and
        :func:`metrics.provenance` records it.

    Returns
    -------
    float
        VIFF, typically 0.3-0.6; 1 when fused == IR == VIS.
    """
    if source_order not in VIFF_SOURCE_ORDERS:
        raise ValueError(f"source_order must be one of {VIFF_SOURCE_ORDERS}, got {source_order!r}")
    return evaluate("VIFF", lambda t: _viff_impl(t, source_order), fused, ir, vis, convention)

"""Visual-information-fidelity metrics: VIF (Sheikh-Bovik pixel VIF) and VIFF (Han et al.).

Both are built on the same multi-scale pixel-domain core (spec ``metrics.md`` 3.1), implemented once
in :func:`vifp_pass`; :func:`metrics.compute` runs that pass once for VIF and VIFF whenever a
convention feeds both the same images.
"""
from __future__ import annotations

import warnings

import numpy as np

from ._errors import NaNTermReplacedWarning, UnverifiedPathWarning
from ._evaluate import evaluate
from ._primitives import (
    check_min_size,
    correlate_valid_t,
    correlate_valid_tiled,
    gaussian_factor,
    levels,
    rgb2gray_matlab,
    tiles,
)
from .conventions import DEFAULT_CONVENTION, Triplet

__all__ = ["vif", "viff", "vifp_pass", "VIFF_SOURCE_ORDERS"]

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


def _clamped(s1: np.ndarray, s2: np.ndarray, s12: np.ndarray, s2_small: np.ndarray):
    """Clamps of spec 3.1 step 4 (LIVE ``vifp_mscale.m`` / Han's ``ComVidVindG``), fused into one
    pass. ``s2`` must already be clamped at 0 and ``s2_small = s2 < 1e-10``; ``s1`` is modified.

    Sequential rules, in order: sigma1^2 < 0 -> 0; g = sigma12 / (sigma1^2 + 1e-10),
    sv^2 = sigma2^2 - g sigma12; where sigma1^2 < 1e-10: g = 0, sv^2 = sigma2^2, sigma1^2 = 0;
    where sigma2^2 < 1e-10: g = 0, sv^2 = 0; where g < 0: sv^2 = sigma2^2, g = 0;
    sv^2 <= 1e-10 -> 1e-10. Returns (g, sigma1^2, sv^2).
    """
    np.maximum(s1, 0.0, out=s1)
    g = s12 / (s1 + 1e-10)
    sv = s12 * g
    np.subtract(s2, sv, out=sv)
    s1_small = s1 < 1e-10
    zero = g < 0.0
    zero |= s1_small
    zero |= s2_small
    np.copyto(sv, s2, where=zero)      # rules for sigma1^2 < 1e-10 and g < 0
    np.copyto(sv, 0.0, where=s2_small)
    np.maximum(sv, 1e-10, out=sv)
    np.copyto(g, 0.0, where=zero)
    np.copyto(s1, 0.0, where=s1_small)
    return g, s1, sv


def _info_sums(g, s1, sv, sigma_n_sq: float) -> tuple[float, float]:
    """(sum VID, sum VIND) with VID = log10(1 + g^2 s1 / (sv + sn)), VIND = log10(1 + s1 / sn)."""
    vid = g * g
    vid *= s1
    vid /= sv + sigma_n_sq
    vid += 1.0
    vind = s1 / sigma_n_sq
    vind += 1.0
    return float(np.log10(vid, out=vid).sum()), float(np.log10(vind, out=vind).sum())


def vifp_pass(refs: list[np.ndarray], dist: np.ndarray, *, same_padding: bool = False,
              asymmetric_window: bool = False, saturate_first_scale: bool = False,
              viff_order: tuple[int, int] | None = None) -> dict:
    """One pass of the multi-scale pixel-VIF core (spec 3.1) over references sharing ``dist``.

    For every scale s = 1..4 (window N = 17, 9, 5, 3; for s > 1 every image is first filtered with
    the scale's window and decimated ``[::2, ::2]``), the local statistics and the clamped maps
    (g, sigma1^2, sv^2) are computed strip by strip and reduced on the fly to

    * ``vif_num[k]``, ``vif_den[k]``: sums over scales and pixels of VID and VIND with
      sigma_n^2 = 2 for reference k (vifp = num / den);
    * ``viff`` (when ``viff_order = (i, j)``): Han et al.'s VIFF with source 1 = ``refs[i]``,
      source 2 = ``refs[j]`` (visual noise 325.125, smaller-gain selection, ties to source 2).

    Options: ``same_padding`` (IVIF_ZOO: zero-padded 'same' filtering everywhere, else 'valid'),
    ``asymmetric_window`` (IVIF_ZOO's window grid), ``saturate_first_scale`` (Tang 2022: uint8
    products saturate at 255 at scale 1; inputs must be integer levels).
    """
    nref = len(refs)
    vif_num = [0.0] * nref
    vif_den = [0.0] * nref
    viff = 0.0
    imgs = np.stack([*refs, dist])
    for s in range(1, 5):
        n = 2 ** (5 - s) + 1
        w = _window(n, asymmetric_window)
        if s > 1:
            if same_padding:
                imgs = np.pad(imgs, ((0, 0), (n // 2, n // 2), (n // 2, n // 2)))
            imgs = correlate_valid_tiled(imgs, w, step=2)
        stats_in = np.pad(imgs, ((0, 0), (n // 2, n // 2), (n // 2, n // 2))) if same_padding \
            else imgs
        sat = saturate_first_scale and s == 1
        weight = VIFF_SCALE_WEIGHTS[s - 1] if viff_order is not None else 0.0
        rows = stats_in.shape[1] - n + 1
        cols = stats_in.shape[2] - n + 1
        vid_sel = vind_sel = 0.0
        for i0, i1, j0, j1 in tiles(rows, cols, n - 1):
            x = stats_in[:, i0:i1 + n - 1, j0:j1 + n - 1]
            d = x[nref]
            # filter inputs: refs, dist, refs^2, dist^2, refs*dist
            src = np.empty((3 * nref + 2,) + d.shape)
            src[:nref + 1] = x
            np.multiply(x, x, out=src[nref + 1:2 * nref + 2])
            np.multiply(x[:nref], d, out=src[2 * nref + 2:])
            if sat:
                np.minimum(src[nref + 1:], 255.0, out=src[nref + 1:])
            m = correlate_valid_t(src, w)  # transposed (C', R') maps
            mu = m[:nref + 1]
            e2 = m[nref + 1:2 * nref + 2]
            ecross = m[2 * nref + 2:]
            mu_d = mu[nref]
            s2 = e2[nref] - mu_d * mu_d
            np.maximum(s2, 0.0, out=s2)
            s2_small = s2 < 1e-10
            maps = []
            for k in range(nref):
                s1 = e2[k] - mu[k] * mu[k]
                s12 = ecross[k] - mu[k] * mu_d
                gk, s1k, svk = _clamped(s1, s2, s12, s2_small)
                num, den = _info_sums(gk, s1k, svk, VIF_SIGMA_N_SQ)
                vif_num[k] += num
                vif_den[k] += den
                maps.append((gk, s1k, svk))
            if weight:
                i, j = viff_order
                pick = maps[i][0] < maps[j][0]
                sel = [np.where(pick, a, b) for a, b in zip(maps[i], maps[j])]
                num, den = _info_sums(*sel, VIFF_SIGMA_N_SQ)
                vid_sel += num
                vind_sel += den
        if weight:
            npix = rows * cols
            viff += weight * (vid_sel + VIFF_C * npix) / (vind_sel + VIFF_C * npix)
    return {"vif_num": vif_num, "vif_den": vif_den, "viff": viff}


# ------------------------------------------------------------------------------------------------
# VIF
# ------------------------------------------------------------------------------------------------
_ORDER_INDEX = {"ir_vis": (0, 1), "vis_ir": (1, 0)}  # (source 1, source 2) in refs = [ir, vis]


def _valid_pass(t: Triplet, a: np.ndarray, b: np.ndarray, f: np.ndarray, order: str = "vis_ir",
                tag: str = "grey") -> dict:
    """The float 'valid' core pass on refs [IR, VIS] and ``f``, cached on ``t`` under ``tag``
    (VIF and VIFF see the same grey images under every convention except in MEFB's colour
    paths, which use other tags)."""
    return t.memo(("vifp_valid", tag, order),
                  lambda: vifp_pass([a, b], f, viff_order=_ORDER_INDEX[order]))


def _grey_sources(t: Triplet):
    """Grey (IR, VIS, F); under vifb a still-RGB source (single call) goes through rgb2gray."""
    if t.convention == "vifb":
        def grey(im):
            return rgb2gray_matlab(im.data, as_uint8=im.integer) if im.channels == 3 else im.data
        return grey(t.a), grey(t.b), grey(t.f)
    return t.grey("ir"), t.grey("vis"), t.grey("fused")


def _vif_terms(res: dict) -> list[float]:
    """vifp per reference = sum VID / sum VIND (NaN when the reference is constant: 0/0)."""
    return [float(np.float64(n) / d) for n, d in zip(res["vif_num"], res["vif_den"])]


def _vif_call(t: Triplet) -> float:
    conv = t.convention
    if conv == "ivifzoo":
        a, b, f = _grey_sources(t)
        res = t.memo("vifp_same_asym", lambda: vifp_pass(
            [a, b], f, same_padding=True, asymmetric_window=True))
        return sum(_vif_terms(res))
    check_min_size(t.hw, VALID_MIN_SIZE, f"VIF (convention {conv!r}, 4 scales of 'valid' windows "
                                         f"17, 9, 5, 3)")
    if conv == "tang2022":
        qa, qb, qf = (levels(t.grey(w), t.grey_is_integer(w), "VIF (tang2022)").astype(np.float64)
                      for w in ("ir", "vis", "fused"))
        return sum(_vif_terms(vifp_pass([qa, qb], qf, saturate_first_scale=True)))
    a, b, f = _grey_sources(t)
    terms = _vif_terms(_valid_pass(t, a, b, f))
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
def _viff_grey_call(t: Triplet, a: np.ndarray, b: np.ndarray, f: np.ndarray, order: str,
                    tag: str = "grey") -> float:
    return _valid_pass(t, a, b, f, order, tag)["viff"]


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

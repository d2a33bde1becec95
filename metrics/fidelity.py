"""Visual-information-fidelity metrics: VIF (Sheikh-Bovik pixel VIF) and VIFF (Han et al.).

Both are built on the same multi-scale pixel-domain core (LIVE ``vifp_mscale.m``), implemented once
in :func:`vifp_pass`; :func:`metrics.compute` runs that pass once for VIF and VIFF whenever a
convention feeds both the same images.
"""
from __future__ import annotations

import warnings

import numpy as np

from . import _vif_decisions as decisions
from ._errors import NaNTermReplacedWarning, UnverifiedPathWarning
from ._evaluate import evaluate
from ._filters import correlate_valid_t, correlate_valid_tiled, gaussian_factor, tiles
from ._histograms import levels
from ._validation import check_min_size
from ._torch_f32 import ivifzoo_vifp
from ._table import MetricInfo, implements, register_metric
from ._triplet import Triplet
from .conventions import DEFAULT_CONVENTION

__all__ = ["vif", "viff", "vifp_pass", "VIFF_SOURCE_ORDERS", "VIFF_DEFAULT_ORDER"]

VIF_SIGMA_N_SQ = 2.0                       # LIVE vifp_mscale.m
VIFF_SIGMA_N_SQ = 0.005 * 255.0 * 255.0    # Han et al.: visual noise sq = 325.125
VIFF_C = 1e-7
VIFF_SCALE_WEIGHTS = np.array([1.0, 0.0, 0.15, 1.0]) / 2.15
VIFF_DEFAULT_ORDER = "vis_ir"  # VIFB/MEFB call metricsVIF(vis, ir, fused); the fixtures' order
VIFF_SOURCE_ORDERS = (VIFF_DEFAULT_ORDER, "ir_vis")
VALID_MIN_SIZE = 41  # smallest side for which all four 'valid' scales are non-empty


def _clamped(s1: np.ndarray, s2: np.ndarray, s12: np.ndarray, s2_small: np.ndarray):
    """Clamps of the pixel-VIF core (LIVE ``vifp_mscale.m`` / Han's ``ComVidVindG``), fused into one
    pass. ``s2`` must already be clamped at 0 and ``s2_small = s2 < 1e-10``; the inputs are not
    modified.

    Sequential rules, in order: sigma1^2 < 0 -> 0; g = sigma12 / (sigma1^2 + 1e-10),
    sv^2 = sigma2^2 - g sigma12; where sigma1^2 < 1e-10: g = 0, sv^2 = sigma2^2, sigma1^2 = 0;
    where sigma2^2 < 1e-10: g = 0, sv^2 = 0; where g < 0: sv^2 = sigma2^2, g = 0;
    sv^2 <= 1e-10 -> 1e-10. Returns (g, sigma1^2, sv^2).
    """
    s1 = np.maximum(s1, 0.0)
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


def _info_sums(g, s1, sv, sigma_n_sq: float, skip=None) -> tuple[float, float]:
    """(sum VID, sum VIND) with VID = log10(1 + g^2 s1 / (sv + sn)), VIND = log10(1 + s1 / sn),
    leaving out the pixels where ``skip`` is true."""
    vid = g * g
    vid *= s1
    vid /= sv + sigma_n_sq
    vid += 1.0
    vind = s1 / sigma_n_sq
    vind += 1.0
    vid, vind = np.log10(vid, out=vid), np.log10(vind, out=vind)
    if skip is not None:
        np.copyto(vid, 0.0, where=skip)
        np.copyto(vind, 0.0, where=skip)
    return float(vid.sum()), float(vind.sum())


def _vif_maps(mu, e2, ecross, keep_raw: bool = True):
    """Clamped maps per reference from local statistics of any shape.

    ``mu``, ``e2``: filtered x and x^2 of the references then the distorted image; ``ecross``:
    filtered ref*dist. Returns (maps, raw, s2_raw): the clamped (g, sigma1^2, sv^2) per reference,
    the unclamped (sigma1^2, sigma12) per reference and the unclamped sigma2^2 (for the
    rounding-risk test; ``raw`` is empty unless ``keep_raw``).
    """
    nref = len(ecross)
    mu_d = mu[nref]
    s2_raw = e2[nref] - mu_d * mu_d
    s2 = np.maximum(s2_raw, 0.0)
    s2_small = s2 < 1e-10
    maps, raw = [], []
    for k in range(nref):
        s1 = e2[k] - mu[k] * mu[k]
        s12 = ecross[k] - mu[k] * mu_d
        if keep_raw:
            raw.append((s1, s12))
        maps.append(_clamped(s1, s2, s12, s2_small))
    return maps, raw, s2_raw


def _vif_sums(maps, viff_order, skip=None):
    """([VID sums], [VIND sums]) per reference with sigma_n^2 = 2 and, when ``viff_order = (i, j)``,
    the VID and VIND sums of Han's selection (sigma_n^2 = 325.125); pixels where ``skip`` is true
    are left out."""
    nums, dens = [], []
    for g, s1, sv in maps:
        num, den = _info_sums(g, s1, sv, VIF_SIGMA_N_SQ, skip)
        nums.append(num)
        dens.append(den)
    vid_sel = vind_sel = 0.0
    if viff_order is not None:
        i, j = viff_order
        pick = maps[i][0] < maps[j][0]
        sel = [np.where(pick, a, b) for a, b in zip(maps[i], maps[j])]
        vid_sel, vind_sel = _info_sums(*sel, VIFF_SIGMA_N_SQ, skip)
    return nums, dens, vid_sel, vind_sel


def vifp_pass(refs: list[np.ndarray], dist: np.ndarray, *, saturate_first_scale: bool = False,
              viff_order: tuple[int, int] | None = None, octave_exact: bool = True,
              octave_fma: bool = False) -> dict:
    """One pass of the multi-scale pixel-VIF core over references sharing ``dist``.

    For every scale s = 1..4 (window N = 17, 9, 5, 3; for s > 1 every image is first filtered with
    the scale's window and decimated ``[::2, ::2]``), the local statistics and the clamped maps
    (g, sigma1^2, sv^2) are computed tile by tile and reduced on the fly to

    * ``vif_num[k]``, ``vif_den[k]``: sums over scales and pixels of VID and VIND with
      sigma_n^2 = 2 for reference k (vifp = num / den);
    * ``viff`` (when ``viff_order = (i, j)``): Han et al.'s VIFF with source 1 = ``refs[i]``,
      source 2 = ``refs[j]`` (visual noise 325.125, smaller-gain selection, ties to source 2);
    * ``vif_num_fast``, ``vif_den_fast``, ``viff_fast``: the same without the refinement described
      below (every decision taken on our separable sums);
    * ``scales``: per scale s (list index s - 1) a dict with that scale's ``vif_num``,
      ``vif_den``, ``vid``, ``vind`` (VIFF's selected sums without C, or None), ``pixels``,
      ``flagged`` (pixels with a decision that rounding could decide or an ill-conditioned VID
      term), ``risky`` (the same per kind of :data:`metrics._vif_decisions.KINDS`) and
      ``emulated`` (those summed tap by tap in Octave's order).

    Option ``saturate_first_scale`` (Tang 2022): uint8 products saturate at 255 at scale 1; inputs
    must be integer levels. (IVIF_ZOO's float32 'same'-padded variant runs in PyTorch:
    :func:`metrics._torch_f32.ivifzoo_vifp`.)

    ``octave_exact`` (default on; off only for CDDFuse's float32 peer): in flat or nearly flat
    windows the clamps of the reference code (variance < 1e-10, gain < 0) and VIFF's smaller-gain
    selection compare quantities that are pure rounding noise, so their outcome depends on the
    summation order of ``filter2``. Pixels where that can happen (decision margin below a rigorous
    rounding-error bound), and pixels whose VID term is ill-conditioned, are recomputed in Octave's
    arithmetic, in which the reference values were produced; elsewhere the result does not depend
    on the order (differences ~1e-12). See :mod:`metrics._vif_decisions`. ``octave_fma`` selects
    the arithmetic of an Octave linked to OpenBLAS instead of the reference BLAS (fused
    multiply-adds, :mod:`metrics._octave`); the project's reference values use the reference BLAS.
    """
    nref = len(refs)
    imgs = np.stack([*refs, dist])
    imgs1 = imgs
    flagged, fast, scales = {}, {}, []
    for s in range(1, 5):
        n = decisions.window_size(s)
        w = gaussian_factor(n, n / 5.0)
        if s > 1:
            imgs = correlate_valid_tiled(imgs, w, step=2)
        stats_in = imgs
        sat = saturate_first_scale and s == 1
        want_viff = viff_order if (viff_order is not None and VIFF_SCALE_WEIGHTS[s - 1]) else None
        rows = stats_in.shape[1] - n + 1
        cols = stats_in.shape[2] - n + 1
        part = {"vif_num": [0.0] * nref, "vif_den": [0.0] * nref, "vid": 0.0, "vind": 0.0,
                "pixels": rows * cols, "viff_order": want_viff, "flagged": 0, "emulated": 0,
                "risky": dict.fromkeys(decisions.KINDS, 0)}
        scales.append(part)
        found = []
        for i0, i1, j0, j1 in tiles(rows, cols, n - 1):
            x = stats_in[:, i0:i1 + n - 1, j0:j1 + n - 1]  # refs, dist (filtered in place)
            d = x[nref]
            prod = np.empty((2 * nref + 1,) + d.shape)  # refs^2, dist^2, refs*dist
            np.multiply(x, x, out=prod[:nref + 1])
            np.multiply(x[:nref], d, out=prod[nref + 1:])
            if sat:
                np.minimum(prod, 255.0, out=prod)
            mu = correlate_valid_t(x, w)  # transposed (C', R') maps
            m2 = correlate_valid_t(prod, w)
            e2, ec = m2[:nref + 1], m2[nref + 1:]
            maps, raw, s2_raw = _vif_maps(mu, e2, ec, keep_raw=octave_exact)
            skip = None
            if octave_exact:  # candidates are summed below, once their decisions are tested
                skip = decisions.candidates(s, e2, maps, raw, s2_raw, want_viff)
                if skip.any():
                    jj, ii = np.nonzero(skip)
                    found.append((ii + i0, jj + j0, mu[:, jj, ii], e2[:, jj, ii], ec[:, jj, ii]))
                else:
                    skip = None
            _add_sums(part, _vif_sums(maps, want_viff, skip))
        if found:
            r, c, mu, e2, ec = (np.concatenate([f[q] for f in found], axis=-1) for q in range(5))
            maps, raw, s2_raw = _vif_maps(mu, e2, ec)
            risky, kinds = decisions.risky(s, e2, raw, s2_raw, want_viff, kinds=True)
            # candidates whose decisions are certain keep our values; the others are flagged
            _add_sums(part, _vif_sums(maps, want_viff, risky if risky.any() else None))
            part["risky"] = {k: int(m.sum()) for k, m in kinds.items()}
            part["flagged"] = int(risky.sum())
            if risky.any():
                flagged[s] = (r[risky], c[risky])
                fast[s] = (mu[:, risky], e2[:, risky], ec[:, risky])
    # the sums without refinement: the flagged pixels as our own statistics give them
    unrefined = [{key: list(p[key]) for key in ("vif_num", "vif_den")} | {
        key: p[key] for key in ("vid", "vind", "pixels")} for p in scales]
    for s, (mu, e2, ec) in fast.items():
        _add_sums(unrefined[s - 1], _vif_sums(_vif_maps(mu, e2, ec, False)[0],
                                              scales[s - 1]["viff_order"]))
    if flagged:
        orders = {s: scales[s - 1]["viff_order"] for s in flagged}
        refined = decisions.octave_stats(imgs1, flagged, fast, orders, fma=octave_fma,
                                         saturate=saturate_first_scale)
        for s, ((mu, e2, ec), emulated) in refined.items():
            part = scales[s - 1]
            _add_sums(part, _vif_sums(_vif_maps(mu, e2, ec, False)[0], part["viff_order"]))
            part["emulated"] = emulated
    for part, fast_part in zip(scales, unrefined):
        if part.pop("viff_order") is None:
            part["vid"] = part["vind"] = fast_part["vid"] = None
    return {"vif_num": _total(scales, "vif_num"), "vif_den": _total(scales, "vif_den"),
            "viff": _viff(scales), "viff_order": viff_order,
            "vif_num_fast": _total(unrefined, "vif_num"),
            "vif_den_fast": _total(unrefined, "vif_den"), "viff_fast": _viff(unrefined),
            "exact": octave_exact, "scales": scales}


def _total(parts: list[dict], key: str) -> list[float]:
    """Per-reference sum over the scales of ``key``."""
    return [sum(p[key][k] for p in parts) for k in range(len(parts[0][key]))]


def _viff(parts: list[dict]) -> float:
    """Han et al.'s VIFF from the per-scale selected sums (0 when VIFF was not computed)."""
    viff = 0.0
    for s, p in enumerate(parts, start=1):
        if p["vid"] is not None:
            c = VIFF_C * p["pixels"]
            viff += VIFF_SCALE_WEIGHTS[s - 1] * (p["vid"] + c) / (p["vind"] + c)
    return viff


def _add_sums(part: dict, res) -> None:
    """Add the sums returned by :func:`_vif_sums` to a scale's running totals."""
    nums, dens, vid, vind = res
    for k in range(len(nums)):
        part["vif_num"][k] += nums[k]
        part["vif_den"][k] += dens[k]
    part["vid"] += vid
    part["vind"] += vind


# ------------------------------------------------------------------------------------------------
# VIF
# ------------------------------------------------------------------------------------------------
_ORDER_INDEX = {"ir_vis": (0, 1), "vis_ir": (1, 0)}  # (source 1, source 2) in refs = [ir, vis]


def _valid_pass(t: Triplet, a: np.ndarray, b: np.ndarray, f: np.ndarray, *,
                viff_order: str = VIFF_DEFAULT_ORDER) -> dict:
    """The float 'valid' core pass on refs [IR, VIS] and ``f`` with VIFF in ``viff_order``,
    shared by every metric and convention that feeds it the same images.

    VIF always takes its values from the pass with VIFF in the default source order, whether VIFF
    is asked for or not: the Octave-order refinement recomputes the pixels whose decisions rounding
    could flip, and VIFF's selection adds candidates, which moves VIF's float sums in the last bit.
    One canonical pass makes a metric's value independent of the metrics computed with it. The
    pass always carries the refinement; CDDFuse's float32 SciPy peer reads its unrefined sums.
    """
    order_idx = _ORDER_INDEX[viff_order]
    return t.shared("vifp", (a, b, f), (order_idx,),
                    lambda: vifp_pass([a, b], f, viff_order=order_idx))


def _vif_terms(res: dict) -> list[float]:
    """vifp per reference = sum VID / sum VIND (NaN when the reference is constant: 0/0)."""
    return [float(np.float64(n) / d) for n, d in zip(res["vif_num"], res["vif_den"])]


@implements("VIF", "tang2023", "tang2022", "cddfuse")
def _vif_valid(t: Triplet) -> float:
    """Pixel VIF with 'valid' filtering (LIVE ``vifp_mscale.m`` and its Python peers), the
    convention deciding uint8 saturation, the arithmetic of rounding-decided decisions and the
    replacement of a NaN term."""
    conv = t.convention
    check_min_size(t.hw, VALID_MIN_SIZE, f"VIF (convention {conv.name!r}, 4 scales of 'valid' "
                                         f"windows 17, 9, 5, 3)")
    if conv.uint8_saturation:
        qa, qb, qf = (levels(t.grey(w), t.grey_is_integer(w), f"VIF ({conv.name})").astype(np.float64)
                      for w in ("ir", "vis", "fused"))
        return sum(_vif_terms(t.shared("vifp-saturated", (qa, qb, qf), (), lambda: vifp_pass(
            [qa, qb], qf, saturate_first_scale=True))))
    # under vifb: the channels of VIFB's loop; an RGB source of a single call via rgb2gray
    a, b, f = t.grey("ir"), t.grey("vis"), t.grey("fused")
    res = _valid_pass(t, a, b, f)
    if not conv.octave_arithmetic:  # e.g. CDDFuse's float32 SciPy code: no Octave-order refinement
        res = {"vif_num": res["vif_num_fast"], "vif_den": res["vif_den_fast"]}
    terms = _vif_terms(res)
    if conv.nan_vif_term is not None:
        for k, name in enumerate(("ir", "vis")):
            if np.isnan(terms[k]):
                warnings.warn(
                    f"VIF ({conv.name}): the pixel-VIF term of {name} is NaN (constant image?); "
                    f"the reference code ({conv.reference}) returns {conv.nan_vif_term} for it and "
                    f"so does this convention", NaNTermReplacedWarning, stacklevel=4)
                terms[k] = conv.nan_vif_term
    return terms[0] + terms[1]


@implements("VIF", "vifb", borrowed_from="tang2023")
def _vif_vifb(t: Triplet) -> float:
    check_min_size(t.hw, VALID_MIN_SIZE, f"VIF (convention {t.convention.name!r})")
    return t.channel_mean(_vif_valid)


@implements("VIF", "ivifzoo", version="2.0", torch=True)  # 2.0: computed by torch itself
def _vif_torch(t: Triplet) -> float:
    a, b, f = t.grey("ir"), t.grey("vis"), t.grey("fused")
    va, vb = ivifzoo_vifp([a, b], f)
    return float(va + vb)  # float32 sum, as IVIF_ZOO adds its two tensors


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
          asymmetric window grid (+0.013 to +0.024), float32. Computed by torch with the
          reference's operations (:func:`metrics._torch_f32.ivifzoo_vifp`): the clamps compare
          float32 noise in flat windows, so the value depends on the machine's kernels as
          IVIF_ZOO's own does (``docs/metrics.md``). Needs torch
          (:class:`~metrics.TorchRequiredError` otherwise).
        * ``vifb``: VIFB has no VIF (MEFB's "VIF" is Han's VIFF): the tang2023 formula inside
          VIFB's channel loop.

    Returns
    -------
    float
        Typically 0.5-1.2. NaN when a source is constant (denominator 0), except under cddfuse.
    """
    return evaluate("VIF", fused, ir, vis, convention)


# ------------------------------------------------------------------------------------------------
# VIFF
# ------------------------------------------------------------------------------------------------
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


@implements("VIFF", "tang2023", "tang2022", "cddfuse", "ivifzoo", borrowed_from="mefb",
            notes={"source_order": VIFF_DEFAULT_ORDER})
def _viff_grey(t: Triplet, source_order: str = VIFF_DEFAULT_ORDER) -> float:
    check_min_size(t.hw, VALID_MIN_SIZE, "VIFF (4 scales of 'valid' windows 17, 9, 5, 3)")
    a, b, f = t.grey("ir"), t.grey("vis"), t.grey("fused")
    return _valid_pass(t, a, b, f, viff_order=source_order)["viff"]


@implements("VIFF", "vifb", source="mefb", notes={"source_order": VIFF_DEFAULT_ORDER})
def _viff_mefb(t: Triplet, source_order: str = VIFF_DEFAULT_ORDER) -> float:
    check_min_size(t.hw, VALID_MIN_SIZE, "VIFF (4 scales of 'valid' windows 17, 9, 5, 3)")
    order = source_order
    # MEFB metricsVIF wrapper.
    fc, ac, bc = t.f.channels, t.a.channels, t.b.channels
    if ac == 1 and bc == 1:
        f = t.f.data[:, :, 0] if fc == 3 else t.f.data   # RGB fused, grey sources: R channel
        return _valid_pass(t, t.a.data, t.b.data, f, viff_order=order)["viff"]
    if fc == 1:
        warnings.warn("VIFF (vifb): grey fused image with RGB source(s): MEFB converts the RGB "
                      "sources to CIELAB L*; this path is reimplemented from the description "
                      "and unverified", UnverifiedPathWarning, stacklevel=4)
        a = _srgb_lightness_uint8(t.a.data) if ac == 3 else t.a.data
        b = _srgb_lightness_uint8(t.b.data) if bc == 3 else t.b.data
        return _valid_pass(t, a, b, t.f.data, viff_order=order)["viff"]
    return t.channel_mean(
        lambda s: _valid_pass(s, s.a.data, s.b.data, s.f.data, viff_order=order)["viff"])


def viff(fused, ir, vis, *, convention: str = DEFAULT_CONVENTION,
         source_order: str = VIFF_DEFAULT_ORDER) -> float:
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
        side >= 41; a float image in [0, 1] beside a 0-255 one is refused (it would score 0).
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
    return evaluate("VIFF", fused, ir, vis, convention, source_order=source_order)


register_metric(MetricInfo(
    key="VIF", name="vif", display_name="VIF", higher_is_better=True, category="human perception",
    units="unitless (sum over 2 sources)",
    # 1.1: ivifzoo in PyTorch's float32 rounding; 1.2: MATLAB conventions (tang2022 too) take
    # Octave's arithmetic wherever rounding decides a clamp or a VID term's value
    version="1.2", reference="Sheikh & Bovik, IEEE TIP 15(2), 2006",
    description="pixel-domain multi-scale visual information fidelity, summed over both sources",
    column=8, fn=vif))
register_metric(MetricInfo(
    key="VIFF", name="viff", display_name="VIFF", higher_is_better=True,
    category="human perception", units="unitless",
    version="1.1",  # 1.1: rigorous rounding bounds, ill-conditioned VID terms in Octave's arithmetic
    reference="Han, Cai, Cao, Xu, Information Fusion 14(2), 2013",
    description="Han et al.'s visual-information-fidelity fusion metric", column=12, fn=viff))

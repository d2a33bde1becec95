"""MS-SSIM: Ma et al.'s MEF-MS-SSIM and the IVIF_ZOO sum of two Wang MS-SSIMs (the latter run by
torch, ``_torch_f32.py``).

The two definitions are incompatible (``docs/metrics.md``, "Known traps"): MEF-MS-SSIM compares the fused
image with a structure built from both sources and is <= 1; the IVIF_ZOO value is the sum of two
pytorch-msssim scores and is <= 2. A published MS-SSIM above 1 can only be the latter.
"""
from __future__ import annotations

import numpy as np

from ._evaluate import evaluate
from ._filters import correlate_valid_t, gaussian_factor, mean2x2_symmetric_decimate, tiles
from ._matlab import EPS
from ._validation import check_min_size
from ._torch_f32 import wang_ms_ssim
from ._table import MetricInfo, implements, register_metric
from ._triplet import Triplet
from .conventions import DEFAULT_CONVENTION

__all__ = ["ms_ssim", "mef_ssim", "mef_ms_ssim", "wang_ms_ssim"]

# ---- MEF-MS-SSIM (Ma, Zeng, Wang 2015) ------------------------------------------------------------
MEF_K = 0.03
MEF_C = (MEF_K * 255.0) ** 2
MEF_WINDOW = 11
MEF_WEIGHTS = np.array([0.0448, 0.2856, 0.3001]) / np.sum([0.0448, 0.2856, 0.3001])
MEF_MIN_SIZE = MEF_WINDOW * 2 ** (len(MEF_WEIGHTS) - 1)  # 44

# ---- Wang MS-SSIM as in pytorch-msssim (IVIF_ZOO) ---------------------------------------------------
WANG_MIN_SIZE = (11 - 1) * 2 ** 4 + 1  # smaller side must be > 160


def _mef_q_sum(box: np.ndarray, gm: np.ndarray) -> float:
    """Sum of the MEF-SSIM quality map over one strip.

    ``box``: exact 11x11 window sums of (x1, x2, x1^2, x2^2, x1*x2); ``gm``: Gaussian-weighted
    means of the same five plus (y, x1*y, x2*y, y^2).
    """
    n = MEF_WINDOW
    nn = float(n * n)
    s1a, s1b, s2a, s2b, sab = box
    mua, mub = s1a / nn, s1b / nn
    # Centred squared norms and inner product: (nn*S2 - S1^2)/nn has an exact numerator.
    naa = np.maximum((nn * s2a - s1a * s1a) / nn, 0.0)
    nbb = np.maximum((nn * s2b - s1b * s1b) / nn, 0.0)
    nab = (nn * sab - s1a * s1b) / nn
    na, nb = np.sqrt(naa), np.sqrt(nbb)
    # Structure consistency R and exponent p (steps 2-3).
    R = np.sqrt(np.maximum(naa + nbb + 2.0 * nab, 0.0))
    R += EPS
    R /= na + nb + EPS
    np.copyto(R, 1.0 - EPS, where=R > 1.0)  # (the reference's R < 0 -> eps cannot occur: R > 0)
    p = np.tan(R * (np.pi / 2.0), out=R)
    np.minimum(p, 10.0, out=p)
    # Weights (step 4) and b_k = w_k / c_k. The normalisation of the weights cancels in the
    # rescaling of step 5 (s / ||s|| * max c), so unnormalised weights are used.
    ca, cb = na + 0.001, nb + 0.001
    ba = np.power(ca / n, p)
    ba += EPS
    ba /= ca
    bb = np.power(cb / n, p, out=p)
    bb += EPS
    bb /= cb
    # Desired structure s = sum_k b_k (x_k - mu_k); rescaled to norm max_k c_k (step 5).
    ss = ba * ba * naa
    ss += bb * bb * nbb
    ss += 2.0 * ba * bb * nab
    np.maximum(ss, 0.0, out=ss)
    s_norm = np.sqrt(ss, out=ss)
    lam = np.divide(np.maximum(ca, cb), s_norm, out=np.zeros_like(s_norm), where=s_norm > 0.0)
    ba *= lam
    bb *= lam
    # Gaussian moments (step 6) of r = sum_k b_k (x_k - mu_k) and y, by linearity.
    ga, gb, gaa, gbb, gab, gy, gay, gby, gyy = gm
    da = ga - mua
    db = gb - mub
    mu_r = ba * da
    mu_r += bb * db
    # sum g (x_k - mu_k)(x_l - mu_l) = G(x_k x_l) - mu_l G(x_k) - mu_k G(x_l) + mu_k mu_l
    paa = gaa - mua * (ga + da)
    pbb = gbb - mub * (gb + db)
    pab = gab - mua * gb - mub * da
    var_r = ba * ba * paa
    var_r += bb * bb * pbb
    var_r += 2.0 * ba * bb * pab
    var_r -= mu_r * mu_r
    cov = ba * (gay - mua * gy)
    cov += bb * (gby - mub * gy)
    cov -= mu_r * gy
    var_y = gyy - gy * gy
    # q = (2 sigma_ry + C) / (sigma_r^2 + sigma_y^2 + C)  (step 7)
    cov *= 2.0
    cov += MEF_C
    var_r += var_y
    var_r += MEF_C
    return float((cov / var_r).sum())


def mef_ssim(x1: np.ndarray, x2: np.ndarray, y: np.ndarray) -> float:
    """Single-scale MEF-SSIM Q of the fused image ``y`` for the source sequence (``x1``, ``x2``).

    Vectorised form of Ma et al.'s per-patch algorithm (steps 1-7 of their ``mef_ssim.m``). For every 11 x 11
    patch: signal strengths c_k = ||x_k - mu_k|| + 0.001, structure consistency R, exponent
    p = min(tan(pi R / 2), 10), weights w_k = (c_k/11)^p + eps (normalised), desired structure
    s = sum_k w_k (x_k - mu_k) / c_k rescaled to norm max_k c_k; then the Gaussian-weighted
    structure term q = (2 sigma_ry + C) / (sigma_r^2 + sigma_y^2 + C), averaged over patches.

    The uniform patch sums are computed exactly (inputs are integers or dyadic fractions after the
    2x2 means); the Gaussian moments of the patch r follow from moments of the sources by
    linearity: r = lam * sum_k b_k (x_k - mu_k) with b_k = w_k / c_k and lam = max c / ||s||.
    The image is processed in tiles so that temporaries stay in cache.
    """
    n = MEF_WINDOW
    g = gaussian_factor(n, 1.5)
    ones = np.ones(n)
    rows, cols = y.shape[0] - n + 1, y.shape[1] - n + 1
    total = 0.0
    for i0, i1, j0, j1 in tiles(rows, cols, n - 1):
        a, b, c = (z[i0:i1 + n - 1, j0:j1 + n - 1] for z in (x1, x2, y))
        src = np.empty((9,) + a.shape)  # (x1, x2, x1^2, x2^2, x1x2, y, x1y, x2y, y^2)
        src[0], src[1], src[5] = a, b, c
        np.multiply(a, a, out=src[2])
        np.multiply(b, b, out=src[3])
        np.multiply(a, b, out=src[4])
        np.multiply(a, c, out=src[6])
        np.multiply(b, c, out=src[7])
        np.multiply(c, c, out=src[8])
        box = correlate_valid_t(src[:5], ones)  # transposed layout: fine for elementwise + sum
        total += _mef_q_sum(box, correlate_valid_t(src, g))
    return total / (rows * cols)


def mef_ms_ssim(x1: np.ndarray, x2: np.ndarray, y: np.ndarray) -> float:
    """MEF-MS-SSIM: prod_l Q_l^{w_l} over 3 levels, 2x2 mean (MATLAB 'symmetric') + decimation."""
    check_min_size(y.shape, MEF_MIN_SIZE, "MEF-MS-SSIM (3 levels of 11 x 11 windows)")
    qs = []
    for level in range(len(MEF_WEIGHTS)):
        if level:
            x1, x2, y = (mean2x2_symmetric_decimate(z) for z in (x1, x2, y))
        qs.append(mef_ssim(x1, x2, y))
    qs = np.array(qs)
    if np.any(qs < 0):  # MATLAB would return a complex number here
        return float("nan")
    return float(np.prod(qs ** MEF_WEIGHTS))


@implements("MS-SSIM", "tang2023", "tang2022")
@implements("MS-SSIM", "vifb", source="mefb")
@implements("MS-SSIM", "cddfuse", borrowed_from="tang2023")
def _ms_ssim_mef(t: Triplet) -> float:
    a, b, f = t.grey("ir"), t.grey("vis"), t.grey("fused")
    return t.shared("mef_ms_ssim", (a, b, f), (), lambda: mef_ms_ssim(a, b, f))


@implements("MS-SSIM", "ivifzoo", units="unitless (sum of two Wang MS-SSIMs, <= 2)",
            version="2.0", torch=True)  # 2.0: computed by torch itself
def _ms_ssim_wang(t: Triplet) -> float:
    a, b, f = t.grey("ir"), t.grey("vis"), t.grey("fused")
    check_min_size(f.shape, WANG_MIN_SIZE, "MS-SSIM (ivifzoo: 5 levels, smaller side > 160)")
    # Data-range quirk: to_tensor leaves float arrays unscaled, the code multiplies by 255 and
    # passes data_range=255 (on 0-255 data that is data_range = 1). Run literally in float32
    # torch, since the value is float32 rounding noise of the 0-65025 tensors in flat regions.
    a255, b255, f255 = (z.astype(np.float32) * np.float32(255.0) for z in (a, b, f))
    va, vb = wang_ms_ssim([a255, b255], f255, 255.0)
    return float(va + vb)  # float32 sum, as IVIF_ZOO adds its two tensors


def ms_ssim(fused, ir, vis, *, convention: str = DEFAULT_CONVENTION) -> float:
    """Multi-scale structural similarity "MS-SSIM" (higher is better). **Two definitions.**

    * MEF-MS-SSIM (Ma, Zeng, Wang, "Perceptual quality assessment for multi-exposure image
      fusion", IEEE TIP 24(11), 2015), <= 1: ``tang2023``/``tang2022`` (Tang
      ``analysis_ms_ssim.m``, identical in both), ``vifb`` (MEFB ``mef_ms_ssim``, sources and
      fused image through ``rgb2gray``, no channel loop) and, as fallback, ``cddfuse``
      (effective source ``tang2023``). 3 levels, K = 0.03, weights [0.0448, 0.2856, 0.3001]
      normalised; smaller side >= 44.
    * ``ivifzoo``: ms_ssim(IR, F) + ms_ssim(VIS, F) with the pytorch-msssim algorithm (Wang,
      Simoncelli, Bovik, "Multiscale structural similarity for image quality assessment",
      Asilomar 2003), <= 2. Quirk reproduced: the effective data range is 1 on 0-255 data
      (``to_tensor`` does not rescale float arrays, then ``* 255`` with ``data_range=255``), so
      C1 and C2 are negligible (about 0.95 on TNO instead of 1.25) and the contrast term of
      flat regions is a ratio of float32 rounding noise. Computed by torch with the reference's
      float32 operations (:func:`wang_ms_ssim`), so the value is what IVIF_ZOO's code gives on
      this machine: it depends on the CPU/GPU kernels (up to about 5e-3 relative between
      machines, ``docs/metrics.md``; recorded by :func:`metrics.provenance`). Needs torch
      (:class:`~metrics.TorchRequiredError` otherwise). Smaller side > 160.

    Parameters
    ----------
    fused, ir, vis : ndarray
        H x W or H x W x 3 (RGB), uint8 or float in [0, 255], same height and width. A float
        image in [0, 1] next to a 0-255 one is refused (:class:`~metrics.MetricInputError`).
    convention : str, keyword-only
        See above.

    Returns
    -------
    float
        MEF-MS-SSIM in (0, 1] (typically 0.85-0.93 on TNO) or the ivifzoo sum (0.8-1.05).
        NaN if a MEF level score is negative (MATLAB would produce a complex number).
    """
    return evaluate("MS-SSIM", fused, ir, vis, convention)


register_metric(MetricInfo(
    key="MS-SSIM", name="ms_ssim", display_name="MS-SSIM", higher_is_better=True,
    category="structural similarity", units="unitless (MEF-MS-SSIM, <= 1)",
    version="1.1",  # 1.1: ivifzoo in PyTorch's float32 rounding (numpy emulation)
    reference="Ma, Zeng, Wang, IEEE TIP 24(11), 2015 (MEF-MS-SSIM); Wang, Simoncelli, Bovik, "
              "Asilomar 2003 (ivifzoo)",
    description="multi-scale structural similarity to the sources", column=10, fn=ms_ssim,
    aliases=("MS_SSIM", "MSSSIM")))

"""Image-feature metrics of the fused image alone: SF, AG, SD and EI."""
from __future__ import annotations

import numpy as np

from ._evaluate import evaluate
from ._filters import gradient_matlab, padded_tile, sobel_valid, tiles
from ._histograms import levels
from ._matlab import to_uint8
from ._validation import check_min_size
from ._table import MetricInfo, implements, register_metric
from ._triplet import Triplet
from .conventions import DEFAULT_CONVENTION

__all__ = ["sf", "ag", "sd", "ei"]


# ------------------------------------------------------------------------------------------------
# SF
# ------------------------------------------------------------------------------------------------
def _sf_means(x: np.ndarray) -> float:
    dv = x[1:, :] - x[:-1, :]
    dh = x[:, 1:] - x[:, :-1]
    return float(np.sqrt(np.mean(dv * dv) + np.mean(dh * dh)))


@implements("SF", "vifb")
def _sf_vifb(t: Triplet) -> float:
    check_min_size(t.hw, 2, "SF")
    f = t.f.data
    if f.ndim == 3:  # VIFB's [m, n] = size(F) flatten quirk: one m x 3n matrix [R | G | B]
        f = np.concatenate([f[:, :, 0], f[:, :, 1], f[:, :, 2]], axis=1)
    dv = f[1:, :] - f[:-1, :]
    dh = f[:, 1:] - f[:, :-1]
    return float(np.sqrt((np.sum(dh * dh) + np.sum(dv * dv)) / f.size))


@implements("SF", "tang2023", "cddfuse", "ivifzoo")
@implements("SF", "tang2022", units="grey levels / 255 ([0,1] scale)")
def _sf_grey(t: Triplet) -> float:
    check_min_size(t.hw, 2, "SF")
    g = t.grey("fused")
    if t.convention.unit_scale:  # im2double data
        g = g / 255.0
    return _sf_means(g)


def sf(fused, ir, vis, *, convention: str = DEFAULT_CONVENTION) -> float:
    """Spatial frequency SF of the fused image (higher is better).

    SF = sqrt(mean(D_v^2) + mean(D_h^2)) with first differences D_v, D_h along the rows and columns
    (Eskicioglu & Fisher, "Image quality measures and their performance", IEEE Trans. Commun.
    43(12), 1995). ``ir`` and ``vis`` are validated but not used.

    Parameters
    ----------
    fused, ir, vis : ndarray
        H x W or H x W x 3 (RGB), uint8 or float in [0, 255], same height and width (>= 2).
    convention : str, keyword-only
        * ``tang2023``, ``cddfuse``, ``ivifzoo``: on the 0-255 grey image (typically 8-20).
        * ``tang2022``: Tang's old code passes ``im2double`` data, so SF is on the [0, 1] scale,
          exactly SF_2023 / 255 (about 0.03-0.07).
        * ``vifb``: VIFB ``metricsSpatial_frequency.m``: both sums divided by m*n; for an RGB fused
          image the flatten quirk is reproduced (the channels are treated as one m x 3n image
          [R | G | B], seams included), no per-channel averaging.

    Returns
    -------
    float
        SF in grey levels (tang2022: grey levels / 255). 0 for a constant image.
    """
    return evaluate("SF", fused, ir, vis, convention)


# ------------------------------------------------------------------------------------------------
# AG
# ------------------------------------------------------------------------------------------------
def _ag_core(x: np.ndarray, normaliser: str) -> float:
    """sum sqrt((gx^2 + gy^2) / 2) / normaliser with MATLAB ``gradient``, tile by tile (each tile
    reads a one-pixel halo so that interior tile borders use central differences)."""
    m, n = x.shape
    total = 0.0
    for i0, i1, j0, j1 in tiles(m, n, 1):
        r0, c0 = max(i0 - 1, 0), max(j0 - 1, 0)
        gx, gy = gradient_matlab(x[r0:min(i1 + 1, m), c0:min(j1 + 1, n)])
        gx = gx[i0 - r0:i1 - r0, j0 - c0:j1 - c0]
        gy = gy[i0 - r0:i1 - r0, j0 - c0:j1 - c0]
        s = gx * gx
        s += gy * gy
        s *= 0.5
        total += float(np.sqrt(s, out=s).sum())
    return total / ((m - 1) * (n - 1) if normaliser == "(m-1)(n-1)" else m * n)


@implements("AG", "vifb")
def _ag_vifb(t: Triplet) -> float:
    check_min_size(t.hw, 2, "AG")
    return t.channel_mean(lambda s: _ag_core(s.f.data, "(m-1)(n-1)"))


def _ag_grey(t: Triplet, normaliser: str) -> float:
    check_min_size(t.hw, 2, "AG")
    x = t.grey("fused")
    return t.shared("ag", (x,), (normaliser,), lambda: _ag_core(x, normaliser))


@implements("AG", "tang2023", "tang2022")
def _ag_matlab(t: Triplet) -> float:
    return _ag_grey(t, "(m-1)(n-1)")


@implements("AG", "cddfuse", "ivifzoo")
def _ag_python(t: Triplet) -> float:
    return _ag_grey(t, "mn")


def ag(fused, ir, vis, *, convention: str = DEFAULT_CONVENTION) -> float:
    """Average gradient AG of the fused image (higher is better).

    AG = sum sqrt((gx^2 + gy^2) / 2) / normaliser, with MATLAB ``gradient`` (central differences
    inside, one-sided at the borders) (Cui et al., "Detail preserved fusion of visible and
    infrared images using regional saliency extraction and multi-scale image decomposition",
    Optics Communications 341, 2015). ``ir`` and ``vis`` are validated but not used.

    Parameters
    ----------
    fused, ir, vis : ndarray
        H x W or H x W x 3 (RGB), uint8 or float in [0, 255], same height and width (>= 2).
    convention : str, keyword-only
        ``tang2023``, ``tang2022`` (uint8 converted to double inside, hence identical), ``vifb``
        (per channel, averaged): normaliser (m-1)(n-1). ``cddfuse``, ``ivifzoo``: normaliser m*n,
        about 0.4 % lower.

    Returns
    -------
    float
        AG in grey levels per pixel. 0 for a constant image.
    """
    return evaluate("AG", fused, ir, vis, convention)


# ------------------------------------------------------------------------------------------------
# SD
# ------------------------------------------------------------------------------------------------
def _sd_uint8(q: np.ndarray) -> float:
    """Tang 2022 ``SD_evaluation`` on uint8 with MATLAB integer semantics."""
    x = q.astype(np.float64)
    mu = x.mean()
    d = to_uint8(x - mu)              # uint8(F - mu): rounded, negatives saturate to 0
    d2 = np.minimum(d * d, 255.0)     # d.^2 in uint8 saturates at 255
    return float(np.sqrt(d2.sum() / x.size))


@implements("SD", "vifb")
def _sd_vifb(t: Triplet) -> float:
    return t.channel_mean(lambda s: float(np.std(s.f.data)))


@implements("SD", "tang2023", "cddfuse", "ivifzoo")
@implements("SD", "tang2022", units="grey levels, uint8-saturated (<= 15.97)")
def _sd_grey(t: Triplet) -> float:
    if t.convention.uint8_saturation:
        return _sd_uint8(levels(t.grey("fused"), t.grey_is_integer("fused"),
                                f"SD ({t.convention.name})"))
    return float(np.std(t.grey("fused")))


def sd(fused, ir, vis, *, convention: str = DEFAULT_CONVENTION) -> float:
    """Standard deviation SD of the fused image (contrast; higher is better).

    Population standard deviation sqrt(sum (F - mean F)^2 / (m n)) (Rao, "In-fibre Bragg grating
    sensors", Meas. Sci. Technol. 8(4), 1997, as cited by the fusion literature). ``ir`` and
    ``vis`` are validated but not used.

    Parameters
    ----------
    fused, ir, vis : ndarray
        H x W or H x W x 3 (RGB), uint8 or float in [0, 255], same height and width.
    convention : str, keyword-only
        * ``tang2023``, ``cddfuse``, ``ivifzoo``: on the 0-255 grey image (typically 30-60).
        * ``vifb``: VIFB ``metricsVariance.m``, per channel and averaged.
        * ``tang2022``: Tang's old ``SD_evaluation`` on uint8 with MATLAB saturation:
          ``uint8(F - mean)`` clips negative differences to 0 and ``.^2`` saturates at 255, so
          SD = sqrt(sum min(d^2, 255) / (m n)) <= sqrt(255) (typically 8-11: the "SD about 9"
          of SeAFusion/PIAFusion/TC-MoA tables).

    Returns
    -------
    float
        SD in grey levels. 0 for a constant image.
    """
    return evaluate("SD", fused, ir, vis, convention)


# ------------------------------------------------------------------------------------------------
# EI
# ------------------------------------------------------------------------------------------------
def _ei_core(x: np.ndarray, border: str) -> float:
    """Mean Sobel magnitude with zero or replicated borders, tile by tile."""
    mode = "constant" if border == "zero" else "edge"
    m, n = x.shape
    total = 0.0
    for i0, i1, j0, j1 in tiles(m, n, 2):
        sx, sy = sobel_valid(padded_tile(x, i0, i1, j0, j1, 1, mode))
        sx *= sx
        sx += sy * sy
        total += float(np.sqrt(sx, out=sx).sum())
    return total / (m * n)


@implements("EI", "vifb")
def _ei_vifb(t: Triplet) -> float:
    # imfilter on the whole array, mean over all elements = channel mean
    return t.channel_mean(lambda s: _ei_core(s.f.data, "edge"))


def _ei_grey(t: Triplet, border: str) -> float:
    x = t.grey("fused")
    return t.shared("ei", (x,), (border,), lambda: _ei_core(x, border))


@implements("EI", "tang2023", "tang2022", "cddfuse", borrowed_from="vifb")
def _ei_replicate(t: Triplet) -> float:
    return _ei_grey(t, "edge")


@implements("EI", "ivifzoo")
def _ei_zero(t: Triplet) -> float:
    return _ei_grey(t, "zero")


def ei(fused, ir, vis, *, convention: str = DEFAULT_CONVENTION) -> float:
    """Edge intensity EI of the fused image: mean Sobel gradient magnitude (higher is better).

    EI = mean sqrt(gx^2 + gy^2) with the Sobel kernel ``fspecial('sobel')`` and its transpose,
    no 1/8 normalisation (Rajalingam & Priya, "Hybrid multimodality medical image fusion
    technique for feature enhancement in medical diagnosis", IJESI 2018; VIFB: Zhang, Ye, Xiao,
    "VIFB: a visible and infrared image fusion benchmark", CVPRW 2020). ``ir`` and ``vis`` are
    validated but not used.

    Parameters
    ----------
    fused, ir, vis : ndarray
        H x W or H x W x 3 (RGB), uint8 or float in [0, 255], same height and width.
    convention : str, keyword-only
        * ``vifb``: VIFB ``metricsEdge_intensity.m``: ``imfilter(..., 'replicate')``, for an RGB
          fused image over all channels (the channel mean).
        * ``tang2023``, ``tang2022``, ``cddfuse``: none of these codes has EI; VIFB's formula is
          applied to the convention's grey fused image (effective source ``vifb``).
        * ``ivifzoo``: ``Metric_torch.py``: zero padding instead of replication (about +4 %).

    Returns
    -------
    float
        EI in grey levels (typically 40-90). 0 for a constant image (``vifb`` rule).
    """
    return evaluate("EI", fused, ir, vis, convention)


register_metric(MetricInfo(
    key="SF", name="sf", display_name="SF", higher_is_better=True, category="image feature",
    units="grey levels", version="1.0",
    reference="Eskicioglu & Fisher, IEEE Trans. Commun. 43(12), 1995",
    description="spatial frequency: RMS of horizontal and vertical first differences", column=2,
    fn=sf))
register_metric(MetricInfo(
    key="AG", name="ag", display_name="AG", higher_is_better=True, category="image feature",
    units="grey levels", version="1.0", reference="Cui et al., Optics Communications 341, 2015",
    description="average gradient magnitude", column=3, fn=ag))
register_metric(MetricInfo(
    key="SD", name="sd", display_name="SD", higher_is_better=True, category="image feature",
    units="grey levels", version="1.0", reference="population standard deviation (Rao 1997 as cited)",
    description="standard deviation of the fused image (contrast)", column=4, fn=sd))
register_metric(MetricInfo(
    key="EI", name="ei", display_name="EI", higher_is_better=True, category="image feature",
    units="grey levels", version="1.0",
    reference="Rajalingam & Priya, IJESI 2018; VIFB (Zhang et al., CVPRW 2020)",
    description="edge intensity: mean Sobel gradient magnitude", column=11, fn=ei))

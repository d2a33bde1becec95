"""Laplacian-pyramid (LP) and ratio-of-low-pass-pyramid (RP) fusion.

Both follow the pyramid construction of O. Rockinger's Image Fusion Toolbox (``fuse_lap.m`` /
``fuse_rat.m``), used with the defaults of the MST fusion toolbox of Liu et al. (2015)
(``lp_fuse(A, B, 4, 3, 3)`` / ``rp_fuse(A, B, 4, 3, 3)``): four levels, the 5-tap binomial
generating kernel ``[1 4 6 4 1]/16``, symmetric border extension without repeating the edge
sample, an odd-sized level extended by one mirrored row/column before it is reduced, detail
coefficients combined with Li et al.'s consistency-verified max-abs rule and the top (base)
level averaged.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..base import Fuser, InputContract
from ..registry import register_fuser
from ._checks import check_int
from ._rules import check_rule, select_detail

_KERNEL = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
#: Rockinger's eps for the ratio pyramid (1e-6 on 0–255 images), expressed on the [0, 1] scale
_RP_EPS = 1e-6 / 255.0

_LIU_2015 = ("Y. Liu, S. Liu and Z. Wang, \"A general framework for image fusion based on multi-scale "
             "transform and sparse representation,\" Information Fusion, vol. 24, pp. 147-164, 2015 "
             "(MST toolbox defaults)")


def _filter(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable filtering with symmetric extension that does not repeat the edge sample."""
    return cv2.sepFilter2D(x, cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_REFLECT_101)


def _extend_to_even(x: np.ndarray) -> np.ndarray:
    """Append one mirrored row/column where a side is odd (Rockinger's ``adb``)."""
    return np.pad(x, ((0, x.shape[0] % 2), (0, x.shape[1] % 2)), mode="reflect")


def _reduce(x_even: np.ndarray) -> np.ndarray:
    """Low-pass filter and keep every second sample (REDUCE of Burt & Adelson)."""
    return _filter(x_even, _KERNEL)[::2, ::2]


def _expand(x: np.ndarray) -> np.ndarray:
    """Insert zeros, then interpolate with 2×kernel per axis (EXPAND); output is 2× the input."""
    up = np.zeros((2 * x.shape[0], 2 * x.shape[1]), dtype=np.float64)
    up[::2, ::2] = x
    return _filter(up, 2.0 * _KERNEL)


def pyramid_min_size(levels: int) -> int:
    """Smallest image side for which every one of ``levels`` levels is at least 3 samples wide."""
    return 2 ** levels + 1


def _fuse_pyramid(a: np.ndarray, b: np.ndarray, levels: int, rule: str, ratio: bool) -> np.ndarray:
    cur_a = np.asarray(a, dtype=np.float64)
    cur_b = np.asarray(b, dtype=np.float64)
    details: list[tuple[np.ndarray, tuple[int, int]]] = []
    for _ in range(levels):
        shape = cur_a.shape
        ext_a, ext_b = _extend_to_even(cur_a), _extend_to_even(cur_b)
        low_a, low_b = _reduce(ext_a), _reduce(ext_b)
        up_a, up_b = _expand(low_a), _expand(low_b)
        if ratio:
            coef_a, coef_b = ext_a / (up_a + _RP_EPS), ext_b / (up_b + _RP_EPS)
        else:
            coef_a, coef_b = ext_a - up_a, ext_b - up_b
        details.append((select_detail(coef_a, coef_b, rule), shape))
        cur_a, cur_b = low_a, low_b
    fused = 0.5 * (cur_a + cur_b)
    for coef, (h, w) in reversed(details):
        up = _expand(fused)
        fused = (up + _RP_EPS) * coef if ratio else up + coef
        fused = fused[:h, :w]
    return fused


class _PyramidFuser(Fuser):
    framework = "NumPy/OpenCV"
    output_policy = "clamp to [0, 1] (pyramid reconstruction can overshoot)"
    _ratio = False

    def __init__(self, levels: int = 4, rule: str = "consistency"):
        self.levels = check_int(levels, fuser=type(self).__name__, name="levels", minimum=1)
        self.rule = check_rule(rule, type(self).__name__)
        self.contract = InputContract(min_size=pyramid_min_size(self.levels), clamp_output=True)

    def fuse(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        return _fuse_pyramid(ir, vis_y, self.levels, self.rule, self._ratio)


@register_fuser(
    "lp", description="Laplacian pyramid, 4 levels; detail: max-abs with consistency check, base: average",
    reference=("P. J. Burt and E. H. Adelson, \"The Laplacian pyramid as a compact image code,\" IEEE Trans. "
               "Communications, vol. 31, no. 4, pp. 532-540, 1983; " + _LIU_2015),
    tags=("classical",))
class LaplacianPyramidFuser(_PyramidFuser):
    """Laplacian-pyramid fusion (Burt & Adelson, 1983).

    Each source is decomposed into ``levels`` band-pass (Laplacian) levels plus a low-pass top;
    band-pass coefficients are combined with ``rule`` (default ``"consistency"``: Li et al.'s
    3×3 max-abs activity with majority-filter consistency check; ``"maxabs"``: per-coefficient
    max-abs) and the top level is averaged; the fused pyramid is collapsed. Defaults are those of
    the MST toolbox (Liu, Liu & Wang, Information Fusion 24, 2015), whose ``lp_fuse`` is
    Rockinger's implementation.

    Odd sizes are handled natively (a mirrored row/column is appended per level and cropped on
    reconstruction). Output may leave [0, 1] and is clamped.
    """


@register_fuser(
    "rp", description="ratio of low-pass pyramid, 4 levels; ratios: max-abs with consistency check, base: average",
    reference=("A. Toet, \"Image fusion by a ratio of low-pass pyramid,\" Pattern Recognition Letters, vol. 9, "
               "no. 4, pp. 245-253, 1989; " + _LIU_2015),
    tags=("classical",))
class RatioPyramidFuser(_PyramidFuser):
    """Ratio-of-low-pass-pyramid fusion (Toet, 1989).

    Same pyramid as :class:`LaplacianPyramidFuser`, but each level stores the ratio
    ``G_k / (EXPAND(G_{k+1}) + eps)`` instead of the difference and reconstruction multiplies
    (``eps`` = 1e-6 on the 0–255 scale, as in Rockinger's ``fuse_rat.m``). Ratios are combined
    with ``rule`` exactly as the MST toolbox's ``rp_fuse(A, B, 4, 3, 3)`` does (Li et al.'s
    consistency-checked max-abs on the ratios), the top level is averaged. Output may leave
    [0, 1] and is clamped.
    """

    _ratio = True

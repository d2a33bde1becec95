"""Two-scale image fusion with saliency detection (TIF, Bavirisetti & Dhuli 2016)."""
from __future__ import annotations

import cv2
import numpy as np

from ..base import Fuser, InputContract
from ..registry import register_fuser
from ._checks import check_int


def _mean_circular(x: np.ndarray, size: int) -> np.ndarray:
    """size×size average with circular (wrap-around) borders, as MATLAB ``imfilter(..., 'circular')``."""
    r = size // 2
    padded = np.pad(np.asarray(x, dtype=np.float64), r, mode="wrap")
    return cv2.blur(padded, (size, size))[r:-r, r:-r] if r else padded


def _median_zero_padded(x: np.ndarray, size: int) -> np.ndarray:
    """size×size median with zero padding, as MATLAB ``medfilt2`` (default ``'zeros'``)."""
    r = size // 2
    padded = np.pad(np.asarray(x, dtype=np.float32), r, mode="constant")
    return cv2.medianBlur(padded, size)[r:-r, r:-r].astype(np.float64) if r else padded.astype(np.float64)


@register_fuser(
    "tif", description="two-scale fusion: mean-filter base averaged, details weighted by mean-median saliency",
    reference=("D. P. Bavirisetti and R. Dhuli, \"Two-scale image fusion of visible and infrared images using "
               "saliency detection,\" Infrared Physics & Technology, vol. 76, pp. 52-64, 2016"),
    tags=("classical",))
class TIFFuser(Fuser):
    """Two-scale image fusion (Bavirisetti & Dhuli, Infrared Phys. Technol. 76, 2016).

    For each source ``I``: base ``B = mean_35×35(I)``, detail ``D = I − B``, saliency
    ``S = (B − median_3×3(I))²``. The detail weights are ``w_k = S_k / (S_1 + S_2)`` and
    ``F = 0.5·(B_1 + B_2) + w_1·D_1 + w_2·D_2``.

    Filter sizes (35, 3), the squared mean–median distance and the borders (circular for the mean
    filter, zero padding for the median) are those of the authors' code distributed with VIFB.
    Where both saliencies are exactly zero the authors' code divides 0/0 (NaN, written as black);
    here both detail weights are 0.5 there. Output may leave [0, 1] and is clamped.
    """

    framework = "NumPy/OpenCV"
    output_policy = "clamp to [0, 1] (base/detail recombination can overshoot)"
    contract = InputContract(min_size=1, clamp_output=True)

    def __init__(self, mean_size: int = 35, median_size: int = 3):
        self.mean_size = check_int(mean_size, fuser="tif", name="mean_size", minimum=1, odd=True)
        if median_size not in (1, 3, 5):
            raise ValueError(f"tif: median_size must be 1, 3 or 5, got {median_size!r}")
        self.median_size = int(median_size)

    def fuse(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        bases, details, saliencies = [], [], []
        for img in (vis_y, ir):  # the authors' argument order: TIF(visible, infrared)
            img64 = np.asarray(img, dtype=np.float64)
            base = _mean_circular(img64, self.mean_size)
            bases.append(base)
            details.append(img64 - base)
            saliencies.append((base - _median_zero_padded(img, self.median_size)) ** 2)
        total = saliencies[0] + saliencies[1]
        safe = np.where(total > 0, total, 1.0)
        w0 = np.where(total > 0, saliencies[0] / safe, 0.5)
        w1 = np.where(total > 0, saliencies[1] / safe, 0.5)
        return 0.5 * (bases[0] + bases[1]) + w0 * details[0] + w1 * details[1]

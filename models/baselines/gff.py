"""Guided-filtering-based fusion (GFF, Li, Kang & Hu 2013)."""
from __future__ import annotations

import cv2
import numpy as np

from ..base import Fuser, InputContract
from ..registry import register_fuser
from ._checks import check_int


def box_sum(x: np.ndarray, radius: int) -> np.ndarray:
    """Sum over the (2r+1)² window clipped to the image (zeros outside)."""
    k = 2 * radius + 1
    return cv2.boxFilter(x, cv2.CV_64F, (k, k), normalize=False, borderType=cv2.BORDER_CONSTANT)


def _window_counts(height: int, width: int, radius: int) -> np.ndarray:
    """Number of in-image pixels in each clipped (2r+1)² window."""
    def counts(n: int) -> np.ndarray:
        idx = np.arange(n)
        return (np.minimum(idx + radius, n - 1) - np.maximum(idx - radius, 0) + 1).astype(np.float64)

    return np.outer(counts(height), counts(width))


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Grey-scale guided filter of K. He, J. Sun and X. Tang (ECCV 2010 / TPAMI 2013).

    Local means are taken over (2r+1)² windows clipped at the image border, as in the authors'
    ``guidedfilter.m`` (box sums divided by the number of in-image pixels).
    """
    guide = np.asarray(guide, dtype=np.float64)
    src = np.asarray(src, dtype=np.float64)
    n = _window_counts(guide.shape[0], guide.shape[1], radius)
    mean_i = box_sum(guide, radius) / n
    mean_p = box_sum(src, radius) / n
    cov_ip = box_sum(guide * src, radius) / n - mean_i * mean_p
    var_i = box_sum(guide * guide, radius) / n - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return (box_sum(a, radius) / n) * guide + box_sum(b, radius) / n


_LAPLACIAN = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


@register_fuser(
    "gff", description="guided filtering fusion: two-scale, saliency weights refined by guided filters",
    reference=("S. Li, X. Kang and J. Hu, \"Image fusion with guided filtering,\" IEEE Trans. Image Processing, "
               "vol. 22, no. 7, pp. 2864-2875, 2013"),
    tags=("classical",))
class GFFFuser(Fuser):
    """Image fusion with guided filtering (Li, Kang & Hu, IEEE TIP 2013).

    1. Two-scale decomposition: base ``B = mean_31×31(I)`` (replicated border), detail ``D = I − B``.
    2. Saliency ``S = Gaussian_11×11,σ=5(|Laplacian(I)|)``; initial weights ``P`` are the
       winner-take-all maps of the saliencies (ties go to the visible image, which is the first
       source in VIFB's call).
    3. Weight refinement with guided filters guided by each source: ``W_B = GF(P; r1=45,
       ε1=0.3)``, ``W_D = GF(P; r2=7, ε2=1e-6)``, clipped to [0, 1] and normalised to sum to 1
       (+1e-12 against division by zero).
    4. ``F = Σ W_B·B + W_D·D``.

    Parameters and border handling are the authors' defaults (their ``GFF.m``, used by VIFB).
    Deviation: the authors' code quantises the refined weights to 8 bits (``uint8(W*255)``) only
    to clip them to [0, 1]; here they are clipped without quantising. Output may leave [0, 1]
    slightly and is clamped.
    """

    framework = "NumPy/OpenCV"
    output_policy = "clamp to [0, 1] (base/detail recombination can overshoot)"
    contract = InputContract(min_size=1, clamp_output=True)

    def __init__(self, r1: int = 45, eps1: float = 0.3, r2: int = 7, eps2: float = 1e-6):
        for label, e in (("eps1", eps1), ("eps2", eps2)):
            if not e > 0:
                raise ValueError(f"gff: {label} must be > 0, got {e!r}")
        self.r1 = check_int(r1, fuser="gff", name="r1", minimum=1)
        self.r2 = check_int(r2, fuser="gff", name="r2", minimum=1)
        self.eps1, self.eps2 = float(eps1), float(eps2)

    @staticmethod
    def _saliency(img: np.ndarray) -> np.ndarray:
        lap = np.abs(cv2.filter2D(img, cv2.CV_64F, _LAPLACIAN, borderType=cv2.BORDER_REPLICATE))
        return cv2.GaussianBlur(lap, (11, 11), 5.0, borderType=cv2.BORDER_REPLICATE)

    def _refine(self, sources, masks, radius, eps) -> list[np.ndarray]:
        w = [np.clip(guided_filter(img, m, radius, eps), 0.0, 1.0) + 1e-12 for img, m in zip(sources, masks)]
        total = w[0] + w[1]
        return [x / total for x in w]

    def fuse(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        sources = [np.asarray(vis_y, dtype=np.float64), np.asarray(ir, dtype=np.float64)]  # VIFB order
        s_vis, s_ir = (self._saliency(img) for img in sources)
        p_vis = (s_vis >= s_ir).astype(np.float64)  # argmax, ties to the first source
        masks = [p_vis, 1.0 - p_vis]
        w_base = self._refine(sources, masks, self.r1, self.eps1)
        w_detail = self._refine(sources, masks, self.r2, self.eps2)
        fused = np.zeros_like(sources[0])
        for img, wb, wd in zip(sources, w_base, w_detail):
            base = cv2.blur(img, (31, 31), borderType=cv2.BORDER_REPLICATE)
            fused += wb * base + wd * (img - base)
        return fused

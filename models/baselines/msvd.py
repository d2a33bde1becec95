"""Multi-resolution singular value decomposition fusion (MSVD, Naidu 2011)."""
from __future__ import annotations

import numpy as np

from ..base import Fuser, InputContract
from ..registry import register_fuser


def msvd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-level MSVD of an even-sized image.

    Every non-overlapping 2×2 block becomes a column ``[x00, x10, x01, x11]`` (column-major, as
    in Naidu's ``MSVD.m``) of a 4×(mn) matrix ``A``; ``U`` holds the left singular vectors of
    ``A`` (eigenvectors of ``A·Aᵀ``, decreasing singular value) and the coefficients are
    ``T = Uᵀ·A``, returned as a 4×(H/2)×(W/2) array (LL, then the three detail bands).
    """
    h, w = x.shape
    if h % 2 or w % 2:
        raise ValueError(f"msvd: image sides must be even, got {h}×{w}")
    blocks = x.reshape(h // 2, 2, w // 2, 2).transpose(3, 1, 0, 2).reshape(4, -1)
    evals, evecs = np.linalg.eigh(blocks @ blocks.T)
    u = evecs[:, ::-1]
    # fix the sign of each singular vector (largest-magnitude entry positive) for determinism
    pivots = np.abs(u).argmax(axis=0)
    u = u * np.where(u[pivots, np.arange(4)] < 0, -1.0, 1.0)
    coeffs = (u.T @ blocks).reshape(4, h // 2, w // 2)
    return coeffs, u


def imsvd(coeffs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse of :func:`msvd`: ``A = U·T`` and the 2×2 blocks are put back in place."""
    _, m, n = coeffs.shape
    blocks = u @ coeffs.reshape(4, -1)
    return blocks.reshape(2, 2, m, n).transpose(2, 1, 3, 0).reshape(2 * m, 2 * n)


def fuse_msvd(t1: np.ndarray, u1: np.ndarray, t2: np.ndarray, u2: np.ndarray) -> np.ndarray:
    """Fuse two MSVD decompositions: LL averaged, details max-abs (ties to the first), U averaged.

    The second basis is sign-aligned with the first before averaging (a singular vector and its
    coefficients may be negated together without changing the decomposition), which makes the
    result independent of the SVD's arbitrary signs.
    """
    flip = np.where(np.einsum("ik,ik->k", u1, u2) < 0, -1.0, 1.0)
    u2 = u2 * flip
    t2 = t2 * flip[:, None, None]
    fused = np.where(np.abs(t1) >= np.abs(t2), t1, t2)
    fused[0] = 0.5 * (t1[0] + t2[0])
    return imsvd(fused, 0.5 * (u1 + u2))


@register_fuser(
    "msvd", description="one-level multi-resolution SVD: LL averaged, detail bands max-abs, U averaged",
    reference=("V. P. S. Naidu, \"Image fusion technique using multi-resolution singular value decomposition,\" "
               "Defence Science Journal, vol. 61, no. 5, pp. 479-484, 2011"),
    tags=("classical",))
class MSVDFuser(Fuser):
    """MSVD fusion (Naidu, Defence Science Journal 61(5), 2011), one level as in VIFB.

    Each source is decomposed by :func:`msvd`; the fused coefficients take the average of the
    LL bands and, per coefficient of the three detail bands, the one with the larger magnitude
    (ties to the infrared image, as ``abs(Y1) - abs(Y2) >= 0`` in the reference); the fused image
    is ``IMSVD(T_F, (U_1 + U_2)/2)``.

    Deviations from the reference script: odd sides are reflect-padded to even by the harness
    (the script resizes the image instead); the singular vectors of the visible image are
    sign-aligned with those of the infrared image before averaging (SVD signs are arbitrary and
    averaging opposite signs would cancel the basis); no min–max stretch of the output (the
    script applies ``mat2gray`` to grey images) — values outside [0, 1] are clamped.
    """

    framework = "NumPy"
    output_policy = "clamp to [0, 1] (the averaged basis is not orthogonal; no min-max stretch)"
    contract = InputContract(pad_multiple=2, min_size=2, clamp_output=True)

    def fuse(self, ir: np.ndarray, vis_y: np.ndarray) -> np.ndarray:
        return fuse_msvd(*msvd(np.asarray(ir, dtype=np.float64)), *msvd(np.asarray(vis_y, dtype=np.float64)))

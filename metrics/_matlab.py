"""MATLAB / OpenCV / PIL emulation: rounding, uint8 saturation and the three colour-to-grey rules.

Vectorised numpy code reproducing the exact semantics of the operations the reference
implementations rely on: MATLAB rounding (half away from zero) and ``uint8()`` saturation,
MATLAB ``rgb2gray``, OpenCV float ``cvtColor(BGR2GRAY)`` and PIL ``convert('L')``. Octave's
summation orders are in :mod:`metrics._octave`; PyTorch's float32 operations in
:mod:`metrics._torch_f32`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["EPS", "MATLAB_GREY_WEIGHTS", "OPENCV_GREY_WEIGHTS", "PIL_GREY_WEIGHTS", "integer_valued",
           "matlab_round", "to_uint8", "rgb2gray_matlab", "rgb2gray_opencv_f32", "rgb2gray_pil"]

EPS = float(np.finfo(np.float64).eps)  # MATLAB eps = 2.220446049250313e-16

# MATLAB rgb2gray: first row of inv([1 0.956 0.621; 1 -0.272 -0.647; 1 -1.106 1.703]), bit for bit
# as reference LAPACK (dgetrf + dgetri, no FMA) computes it; printed to 15 digits these are the
# familiar 0.298936021293775, 0.587043074451121, 0.114020904255103. The last bits matter only for
# unrounded conversions of double data (VIFB's Qabf), where they decide exact ties.
MATLAB_GREY_WEIGHTS = (0.2989360212937755, 0.5870430744511212, 0.1140209042551033)
# OpenCV cvtColor(BGR2GRAY) on float32 images: single-precision BT.601 weights.
OPENCV_GREY_WEIGHTS = (np.float32(0.299), np.float32(0.587), np.float32(0.114))
# PIL Image.convert('L'): ITU-R 601-2 luma in 16-bit fixed point, rounded.
PIL_GREY_WEIGHTS = (19595, 38470, 7471)


def integer_valued(x: np.ndarray) -> bool:
    """Whether every element of ``x`` is integer-valued (``array_equal(x, floor(x))``), tested in
    blocks of elements that stay in cache and stopping at the first block that fails."""
    flat = np.asarray(x).reshape(-1)
    if flat.dtype.kind in "biu":
        return True
    block = 1 << 17
    buf = np.empty(min(block, flat.size), dtype=flat.dtype)
    for i0 in range(0, flat.size, block):  # blocks of elements, not pixels
        b = flat[i0:i0 + block]
        f = np.floor(b, out=buf[:b.size])
        if not np.array_equal(f, b):
            return False
    return True


def matlab_round(x: np.ndarray) -> np.ndarray:
    """MATLAB ``round``: half away from zero (numpy's ``round`` is half to even)."""
    a = np.abs(x)
    r = np.floor(a)
    r += (a - r) >= 0.5  # a - floor(a) is exact, so the tie test is exact
    return np.copysign(r, x)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """MATLAB ``uint8(x)`` on doubles: round half away from zero, saturate to [0, 255] (as float64).

    Saturating first gives the same result (0 and 255 are integers) and leaves only non-negative
    values, for which rounding half away from zero is floor plus an exact tie test.
    """
    y = np.clip(x, 0.0, 255.0)
    r = np.floor(y)
    r += (y - r) >= 0.5
    return r


def rgb2gray_matlab(rgb: np.ndarray, *, as_uint8: bool = True) -> np.ndarray:
    """MATLAB ``rgb2gray``.

    For uint8 images (``as_uint8=True``) the weighted sum is computed in double, rounded half away
    from zero and saturated; for double images (``as_uint8=False``) it is returned unrounded. The
    sum is accumulated R, G, B in that order without fused multiply-adds (the order of a reference
    BLAS ``dgemv``), which reproduces MATLAB/Octave to the last bit.
    """
    wr, wg, wb = MATLAB_GREY_WEIGHTS
    out = np.empty(rgb.shape[:2])
    rows = max(1, (1 << 15) // max(1, rgb.shape[1]))
    for i0 in range(0, rgb.shape[0], rows):  # blocks of rows (cache-resident), not pixels
        blk, g = rgb[i0:i0 + rows], out[i0:i0 + rows]
        np.multiply(blk[:, :, 0], wr, out=g)
        g += blk[:, :, 1] * wg
        g += blk[:, :, 2] * wb
        if as_uint8:
            g[...] = to_uint8(g)
    return out


def rgb2gray_opencv_f32(rgb: np.ndarray) -> np.ndarray:
    """OpenCV ``cvtColor(BGR2GRAY)`` on a float32 image, returned as float32.

    OpenCV's vectorised kernel evaluates ``fma(R, 0.299f, fma(B, 0.114f, G * 0.587f))`` in single
    precision. Products of an 8-bit value with a float32 weight, and their sums, are exact in
    float64, so rounding to float32 at the same three places reproduces it bit for bit (checked
    against OpenCV on all 2**24 colours; OpenCV's scalar tail loop, used for the last < 16 pixels of
    an image whose pixel count is not a multiple of 16, can differ in the last bit).
    """
    wr, wg, wb = (np.float64(w) for w in OPENCV_GREY_WEIGHTS)
    r = rgb[:, :, 0].astype(np.float32).astype(np.float64)
    g = rgb[:, :, 1].astype(np.float32).astype(np.float64)
    b = rgb[:, :, 2].astype(np.float32).astype(np.float64)
    t = (g * wg).astype(np.float32).astype(np.float64)
    t = (b * wb + t).astype(np.float32).astype(np.float64)
    return (r * wr + t).astype(np.float32)


def rgb2gray_pil(rgb: np.ndarray) -> np.ndarray:
    """PIL ``Image.convert('L')`` on 8-bit RGB: ``(19595 R + 38470 G + 7471 B + 32768) >> 16``."""
    q = rgb.astype(np.int64)
    wr, wg, wb = PIL_GREY_WEIGHTS
    return ((wr * q[:, :, 0] + wg * q[:, :, 1] + wb * q[:, :, 2] + 32768) >> 16).astype(np.float64)

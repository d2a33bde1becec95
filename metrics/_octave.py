"""Octave's float64 arithmetic, reproduced where a decision of the reference code depends on it.

The reference values of the MATLAB conventions come from the original ``.m`` files run in GNU
Octave 7.3 with the image package 2.14. In flat or nearly flat windows the clamps of the VIF core
and VIFF's gain selection compare pure rounding noise with a threshold, so their outcome depends on
the exact sequence of floating-point operations. This module reproduces that sequence:

* ``fspecial('gaussian', n, sigma)`` bit for bit (:func:`fspecial_gaussian_octave`);
* ``filter2(h, x, 'valid')`` = ``conv2(x, rot90(h, 2), 'valid')``: liboctave's ``dconv2i`` adds,
  for every output, ``b(i, j) * x(...)`` over the kernel columns j (outer loop) and rows i (inner
  loop), starting from 0, through the BLAS routine ``daxpy`` (:func:`filter2_octave_at`,
  :func:`filter2_octave_const`).

**Which BLAS Octave loads decides the rounding of each step** (measured with Octave 7.3.0 on
Debian 12, AMD EPYC): with the reference BLAS (``libblas3``, built for generic x86-64) ``daxpy``
multiplies and adds with two roundings; with OpenBLAS (``libopenblas0``, which Debian installs
with Octave's recommended packages) it uses fused multiply-adds on every CPU that has them (x86-64
since Haswell / Piledriver, all aarch64), one rounding. The project's reference values were
produced with the reference BLAS (they match it bit for bit and OpenBLAS only to 1e-6), which is
the default here; ``fma=True`` reproduces an OpenBLAS Octave (used to measure how much the
reference itself depends on its BLAS, see ``docs/metrics.md``).

Portability: only IEEE-754 float64 additions and multiplications in a fixed order (NumPy
elementwise operations and ``cumsum``, which numpy never contracts into FMAs or reorders), so the
results are the same on every x86-64 and aarch64 CPU. The fused multiply-add is emulated exactly
with error-free transformations (:func:`fma64`), not taken from the hardware.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["fma64", "fspecial_gaussian_octave", "filter2_octave_at", "filter2_octave_const"]

_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's splitting constant for float64


def _two_sum(a, b):
    """Knuth's TwoSum: ``s + e == a + b`` exactly, ``s = fl(a + b)``."""
    s = a + b
    bp = s - a
    return s, (a - (s - bp)) + (b - bp)


def _two_prod(a, b):
    """Dekker's TwoProduct without FMA: ``p + e == a * b`` exactly, ``p = fl(a * b)``."""
    p = a * b
    c = _SPLIT * a
    ah = c - (c - a)
    al = a - ah
    c = _SPLIT * b
    bh = c - (c - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def fma64(a, b, c) -> np.ndarray:
    """``a * b + c`` rounded once to float64 (a fused multiply-add), elementwise, emulated exactly.

    Boldo & Melquiond's algorithm ("Emulation of FMA and correctly rounded sums: proved algorithms
    using rounding to odd", IEEE Trans. Computers 57(4), 2008): the exact product and sum are split
    into float64 pairs, the low parts added with rounding to odd, and the result rounded once to
    nearest. Valid without overflow or underflow (operands here are grey levels, their squares and
    window weights).
    """
    uh, ul = _two_prod(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    th, tl = _two_sum(np.asarray(c, dtype=np.float64), uh)
    v, err = _two_sum(tl, ul)
    bits = v.view(np.int64)
    even = (err != 0) & ((bits & 1) == 0)  # inexact with an even last bit: move towards err
    if np.any(even):
        step = np.where((err > 0) == (v > 0), 1, -1)
        v = np.where(even, (bits + step).view(np.float64), v)
    return th + v


def fspecial_gaussian_octave(n: int, sigma: float) -> np.ndarray:
    """``fspecial('gaussian', n, sigma)`` bit for bit as Octave's image package computes it:
    ``exp(-(x.^2 + y.^2) / (2*sigma^2))`` with the C library's ``exp``, divided by its column-major
    sequential sum (no truncation occurs for the windows used here)."""
    r = [k - (n - 1) / 2.0 for k in range(n)]
    s2 = 2.0 * sigma ** 2
    h = np.array([[math.exp(-(r[j] ** 2 + r[i] ** 2) / s2) for j in range(n)] for i in range(n)])
    total = 0.0
    for j in range(n):  # column-major sequential sum over the (<= 17 x 17) window entries
        for i in range(n):
            total += h[i, j]
    return h / total


def _taps(h: np.ndarray) -> np.ndarray:
    """Weights in Octave's accumulation order: tap t = j*n + i takes b(i, j) = h(n-1-i, n-1-j)."""
    return h[::-1, ::-1].T.ravel()


def _accumulate(w: np.ndarray, v: np.ndarray, fma: bool) -> np.ndarray:
    """Sequential sum over the last axis of ``w * v`` starting from 0: separate multiply and add
    (reference BLAS ``daxpy``), or one fused multiply-add per term (``fma``). ``v`` is modified."""
    if not fma:
        v *= w
        return np.cumsum(v, axis=-1)[..., -1]
    acc = np.zeros(v.shape[:-1])
    for t in range(v.shape[-1]):  # loop over the (<= 289) taps, vectorised over outputs
        acc = fma64(w[t], v[..., t], acc)
    return acc


def filter2_octave_at(h: np.ndarray, x: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                      step: int = 1, *, moments: bool = False, fma: bool = False,
                      saturate: bool = False) -> np.ndarray:
    """``filter2(h, x, 'valid')`` at selected outputs, summed exactly as Octave does.

    Outputs are the windows whose top-left corner is ``(rows * step, cols * step)`` in the last
    two axes of ``x`` (a leading axis is a batch of images). With ``moments=True`` and a stack
    (refs..., dist), the result stacks the filtered images, their squares and each ref times dist
    (products formed per pixel, as MATLAB's ``x.*x`` before filtering; with ``saturate`` capped
    at 255 as uint8 products of integer images are, Tang 2022's first scale). ``fma`` selects the
    OpenBLAS arithmetic (see the module docstring). The windows are gathered as views, the products
    formed for all taps at once and accumulated in Octave's order, in blocks of outputs.
    """
    n = h.shape[0]
    # tap t = j*n + i multiplies x(r + n-1-i, c + n-1-j)
    wt = _taps(h)
    win = sliding_window_view(x, (n, n), axis=(-2, -1))  # (..., R, C, n, n) view
    r0 = np.asarray(rows).ravel() * step
    c0 = np.asarray(cols).ravel() * step
    nk = x.shape[0] if moments else 0
    out = np.empty(((3 * nk - 1,) if moments else x.shape[:-2]) + r0.shape)
    block = max(1, (1 << 20) // (n * n * max(1, 3 * nk)))
    for b0 in range(0, r0.size, block):  # blocks of outputs, bounded memory
        v = win[..., r0[b0:b0 + block], c0[b0:b0 + block], ::-1, ::-1]
        v = np.swapaxes(v, -1, -2).reshape(v.shape[:-2] + (n * n,))
        if moments:
            v = np.concatenate((v, v * v, v[:-1] * v[-1]))
            if saturate:
                np.minimum(v[nk:], 255.0, out=v[nk:])
        else:
            v = v.copy()
        out[..., b0:b0 + block] = _accumulate(wt, v, fma)
    return out


def filter2_octave_const(h: np.ndarray, c, *, fma: bool = False) -> np.ndarray:
    """:func:`filter2_octave_at` on windows whose entries all equal ``c`` (vectorised over the
    distinct values of ``c``)."""
    vals, inv = np.unique(np.asarray(c, dtype=np.float64), return_inverse=True)
    wt = _taps(h)
    table = _accumulate(wt, np.repeat(vals[:, None], wt.size, axis=1), fma)
    return table[inv].reshape(np.shape(c))

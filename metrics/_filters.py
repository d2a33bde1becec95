"""Windows and filters: MATLAB ``fspecial('gaussian')``, separable 'valid' correlation (``filter2``),
tiling helpers, MATLAB ``conv2`` with its tap accumulation order, Sobel, ``gradient`` and the 2x2
symmetric down-sampling of MEF-MS-SSIM.

Python loops run only over kernel taps, tiles, or blocks of rows or outputs (a few dozen
iterations at most), never over pixels or windows.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._matlab import EPS

__all__ = ["fspecial_gaussian", "gaussian_factor", "correlate1d_valid", "correlate_valid",
           "correlate_valid_t", "correlate_valid_tiled", "TILE_ROWS", "TILE_COLS", "tiles",
           "padded_tile", "SOBEL_X", "SOBEL_Y", "conv2_valid_matlab", "conv2_same_matlab",
           "sobel_valid", "gradient_matlab", "mean2x2_symmetric_decimate"]


# --------------------------------------------------------------------------------------------------
# Windows
# --------------------------------------------------------------------------------------------------
def fspecial_gaussian(n: int, sigma: float) -> np.ndarray:
    """MATLAB ``fspecial('gaussian', n, sigma)`` (with its eps*max truncation), 2-D."""
    r = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    h = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2.0 * sigma * sigma))
    h[h < EPS * h.max()] = 0.0
    return h / h.sum()


def gaussian_factor(n: int, sigma: float) -> np.ndarray:
    """1-D factor ``g`` with ``outer(g, g) == fspecial_gaussian(n, sigma)`` to rounding error.

    Raises if ``fspecial`` would truncate entries (then the window would not be separable).
    """
    r = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    g = np.exp(-(r * r) / (2.0 * sigma * sigma))
    if g[0] * g[0] < EPS:  # the corner entry relative to the centre (= 1)
        raise RuntimeError(f"fspecial('gaussian', {n}, {sigma}) truncates; not separable")
    return g / g.sum()


# --------------------------------------------------------------------------------------------------
# Separable correlation (banded matrix products: BLAS speed, no per-pixel Python loop)
# --------------------------------------------------------------------------------------------------
# Outputs per banded block. A block of b outputs of an n-tap kernel costs (b - 1 + n) multiply-adds
# per output; small blocks waste the fewest, and OpenBLAS's small-matrix kernels keep them fast
# (measured on AMD EPYC, n = 9..17: b = 4 is 5-20 % faster per filtering than b = 8 or 16).
_BLOCK = 4
_BAND_CACHE: dict = {}


def _band(g: np.ndarray, block: int, step: int) -> np.ndarray:
    """Banded (span x block) matrix whose column j holds ``g`` at rows j*step .. j*step+len(g)-1."""
    key = (g.tobytes(), block, step)
    t = _BAND_CACHE.get(key)
    if t is None:
        n = g.size
        t = np.zeros(((block - 1) * step + n, block))
        for j in range(block):  # loop over the block's outputs (at most 16), not over pixels
            t[j * step:j * step + n, j] = g
        if len(_BAND_CACHE) > 256:
            _BAND_CACHE.clear()
        _BAND_CACHE[key] = t
    return t


def _windows(x: np.ndarray, axis: int, nb: int, span: int, hop: int) -> np.ndarray:
    """Read-only overlapping windows of ``span`` samples every ``hop`` along ``axis`` (-1 or -2):
    shape (..., R, nb, span) for axis -1, (..., nb, span, C) for axis -2."""
    st = x.strides
    if axis == -1:
        shape = x.shape[:-1] + (nb, span)
        strides = st[:-1] + (hop * st[-1], st[-1])
    else:
        shape = x.shape[:-2] + (nb, span, x.shape[-1])
        strides = st[:-2] + (hop * st[-2], st[-2], st[-1])
    return as_strided(x, shape=shape, strides=strides, writeable=False)


def _block_plan(length: int, n: int, step: int) -> list[tuple[int, int, int]]:
    """Blocks of a 'valid' correlation of ``length`` samples with an ``n``-tap kernel, keeping
    every ``step``-th output: (outputs per block, number of such blocks, first output) for the full
    blocks of ``_BLOCK`` outputs and the remainder."""
    if length < n:
        raise ValueError(f"correlate1d_valid: length {length} < kernel {n}")
    nout = (length - n) // step + 1
    block = min(_BLOCK, nout)
    nb, rest = divmod(nout, block)
    return [(count, nblk, start) for count, nblk, start in ((block, nb, 0), (rest, 1, nb * block))
            if count and nblk]


def correlate1d_valid(x: np.ndarray, g: np.ndarray, axis: int, step: int = 1) -> np.ndarray:
    """'valid' 1-D correlation along ``axis`` (-1: columns, -2: rows; leading axes are a batch),
    keeping every ``step``-th output: ``out[i] = sum_k g[k] * x[i*step + k]``.

    Implemented as batched products with a banded matrix (BLAS speed, no loop over pixels). With
    integer (or dyadic) data and an integer kernel the sums are exact.
    """
    axis = axis - x.ndim if axis >= 0 else axis
    n = g.size
    parts = []
    for count, nblk, start in _block_plan(x.shape[axis], n, step):
        span = (count - 1) * step + n
        sub = x[..., start * step:] if axis == -1 else x[..., start * step:, :]
        win = _windows(sub, axis, nblk, span, count * step)
        t = _band(g, count, step)
        if axis == -1:
            out = np.matmul(win, t)
            parts.append(out.reshape(out.shape[:-2] + (nblk * count,)))
        else:
            out = np.matmul(t.T, win)
            parts.append(out.reshape(out.shape[:-3] + (nblk * count, out.shape[-1])))
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axis)


def _correlate_rows_t(x: np.ndarray, g: np.ndarray, step: int = 1) -> np.ndarray:
    """:func:`correlate1d_valid` along the rows (axis -2) of ``x`` (..., R, C), returned
    **transposed** as a new C-contiguous (..., C, R') array.

    The banded products are formed as (windows^T @ band), which BLAS writes straight into the
    transposed layout: the same products as :func:`correlate1d_valid` (the same values) without
    a transpose copy afterwards.
    """
    n = g.size
    length, width = x.shape[-2:]
    plan = _block_plan(length, n, step)
    nout = sum(count * nblk for count, nblk, _ in plan)
    out = np.empty(x.shape[:-2] + (width, nout))
    st = out.strides
    for count, nblk, start in plan:
        span = (count - 1) * step + n
        win = _windows(x[..., start * step:, :], -2, nblk, span, count * step)  # (nblk, span, C)
        # out[..., start + b*count + j] viewed as (..., nblk, C, count)
        dst = as_strided(out[..., start:], shape=out.shape[:-2] + (nblk, width, count),
                         strides=st[:-2] + (count * st[-1], st[-2], st[-1]))
        np.matmul(np.swapaxes(win, -1, -2), _band(g, count, step), out=dst)
    return out


def correlate_valid(x: np.ndarray, g: np.ndarray, step: int = 1) -> np.ndarray:
    """2-D 'valid' correlation with the separable window ``outer(g, g)`` (MATLAB ``filter2(w, x,
    'valid')``) over the last two axes, optionally keeping rows/columns 0, step, 2*step, ...

    The first 1-D pass writes its output transposed (:func:`_correlate_rows_t`) so that the second
    also runs along the second-to-last axis (the fast case of the banded products); the result is
    returned as a (non-contiguous) view.
    """
    h = correlate1d_valid(_correlate_rows_t(x, g, step), g, -2, step)
    return np.swapaxes(h, -1, -2)


def correlate_valid_t(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """:func:`correlate_valid` of a stack ``x`` (..., R, C), returned **transposed** as
    (..., C', R').

    Both passes run along the second-to-last axis, where the banded products are fastest, the
    first writing its output transposed (no transpose copy). Callers that only combine the
    results elementwise and sum them can work on the transposed layout.
    """
    return correlate1d_valid(_correlate_rows_t(x, g), g, -2)


TILE_ROWS = 64
TILE_COLS = 256


def tiles(rows: int, cols: int, halo: int = 0):
    """Split a ``rows`` x ``cols`` output region into tiles of about ``TILE_ROWS`` x ``TILE_COLS``
    outputs (at least ``4 * halo`` on each side, so that re-reading the ``halo`` a filter needs
    stays cheap) so that per-tile temporaries stay in the L2 cache. Yields (i0, i1, j0, j1).
    The loop runs over a few dozen tiles, never over pixels or windows.
    """
    th = max(TILE_ROWS, 4 * halo)
    tw = max(TILE_COLS, 4 * halo)
    if cols - tw < tw // 2:  # do not leave a thin last column of tiles
        tw = cols
    for i0 in range(0, rows, th):
        i1 = rows if rows - (i0 + th) < th // 2 else i0 + th
        for j0 in range(0, cols, tw):
            yield i0, i1, j0, min(cols, j0 + tw)
        if i1 == rows:
            break


def padded_tile(x: np.ndarray, i0: int, i1: int, j0: int, j1: int, pad: int,
                mode: str = "constant") -> np.ndarray:
    """``np.pad(x, pad, mode)[i0:i1 + 2*pad, j0:j1 + 2*pad]`` without padding the whole image:
    interior tiles are plain slices, border tiles are padded locally."""
    m, n = x.shape
    r0, r1 = max(i0 - pad, 0), min(i1 + pad, m)
    c0, c1 = max(j0 - pad, 0), min(j1 + pad, n)
    sub = x[r0:r1, c0:c1]
    widths = ((r0 - (i0 - pad), (i1 + pad) - r1), (c0 - (j0 - pad), (j1 + pad) - c1))
    if widths == ((0, 0), (0, 0)):
        return sub
    return np.pad(sub, widths, mode=mode)


def correlate_valid_tiled(x: np.ndarray, g: np.ndarray, step: int = 1) -> np.ndarray:
    """:func:`correlate_valid` of a stack (K, R, C) computed tile by tile into a new C-contiguous
    array (cache-friendly for large images)."""
    n = g.size
    rows = (x.shape[-2] - n) // step + 1
    cols = (x.shape[-1] - n) // step + 1
    out = np.empty(x.shape[:-2] + (rows, cols))
    for i0, i1, j0, j1 in tiles(rows, cols, n - 1):
        sub = x[..., i0 * step:(i1 - 1) * step + n, j0 * step:(j1 - 1) * step + n]
        out[..., i0:i1, j0:j1] = correlate_valid(sub, g, step)
    return out


# --------------------------------------------------------------------------------------------------
# 3x3 kernels: MATLAB conv2 order, Sobel
# --------------------------------------------------------------------------------------------------
SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])  # h3 = fspecial('sobel')'
SOBEL_Y = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])  # h1 = fspecial('sobel')


def conv2_valid_matlab(pp: np.ndarray, h: np.ndarray) -> np.ndarray:
    """True 2-D convolution of an already zero-padded array, 'valid' part, accumulated in MATLAB's
    ``conv2`` order.

    ``conv2(p, h, 'same')`` for an odd kernel equals this applied to ``p`` zero-padded by
    ``(kr-1)//2`` rows and ``(kc-1)//2`` columns. Every output accumulates ``h[r, c] * p`` over the
    kernel elements in column-major order (row index fastest), starting from 0. On non-integer data
    this order decides ties such as ``Sx == 0`` in Qabf; zero taps add exact zeros and
    are skipped.
    """
    kr, kc = h.shape
    m, n = pp.shape[0] - kr + 1, pp.shape[1] - kc + 1
    out = np.zeros((m, n))
    for c in range(kc):  # loop over the (<= 9) taps, not over pixels
        for r in range(kr):
            if h[r, c] != 0.0:
                out += h[r, c] * pp[kr - 1 - r:kr - 1 - r + m, kc - 1 - c:kc - 1 - c + n]
    return out


def conv2_same_matlab(p: np.ndarray, h: np.ndarray) -> np.ndarray:
    """MATLAB ``conv2(p, h, 'same')`` for an odd kernel, with MATLAB's accumulation order."""
    kr, kc = h.shape
    return conv2_valid_matlab(np.pad(p, ((kr // 2, kr // 2), (kc // 2, kc // 2))), h)


def sobel_valid(pp: np.ndarray, *, exact_order: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sobel responses ``(Sx, Sy)`` of a padded array, valid part: with ``pp`` = ``p`` padded by one
    pixel (zeros, or replicated edges) this is ``(conv2(p, h3, 'same'), conv2(p, h1, 'same'))``.

    ``exact_order=True`` accumulates the taps in MATLAB's ``conv2`` order (needed for non-integer
    data, see :func:`conv2_valid_matlab`); otherwise a separable form is used, exact for integers.
    """
    if exact_order:
        return conv2_valid_matlab(pp, SOBEL_X), conv2_valid_matlab(pp, SOBEL_Y)
    v = pp[:-2] + 2.0 * pp[1:-1] + pp[2:]            # [1 2 1] down the rows
    sx = v[:, :-2] - v[:, 2:]                        # conv with [-1 0 1] along the columns
    hs = pp[:, :-2] + 2.0 * pp[:, 1:-1] + pp[:, 2:]  # [1 2 1] along the columns
    sy = hs[2:] - hs[:-2]
    return sx, sy


# --------------------------------------------------------------------------------------------------
# Gradient, pooling
# --------------------------------------------------------------------------------------------------
def gradient_matlab(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB ``[gx, gy] = gradient(x)``: central differences inside, one-sided at the borders."""
    gy, gx = np.gradient(x)
    return gx, gy


def mean2x2_symmetric_decimate(x: np.ndarray) -> np.ndarray:
    """MATLAB ``y = imfilter(x, ones(2)/4, 'symmetric', 'same'); y = y(1:2:end, 1:2:end)``.

    The even kernel is anchored at element (1,1), so ``y(i,j) = mean(x(i:i+1, j:j+1))`` with the
    last row/column mirrored (repeated) beyond the bottom/right border.
    """
    m, n = x.shape
    xp = np.pad(x, ((0, m % 2), (0, n % 2)), mode="edge") if m % 2 or n % 2 else x
    y = xp[0::2, 0::2] + xp[1::2, 0::2]
    y += xp[0::2, 1::2]
    y += xp[1::2, 1::2]
    y *= 0.25
    return y

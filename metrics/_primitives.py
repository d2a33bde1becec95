"""Shared numerical building blocks of :mod:`metrics` (the single home of all of them).

Vectorised numpy code reproducing the exact semantics of the MATLAB / Octave / OpenCV / PIL
operations the reference implementations rely on (spec ``metrics.md`` sections 3 and 6):

* input validation (shapes, dtype, NaN/Inf, 0-255 range, minimum sizes);
* MATLAB rounding (half away from zero) and uint8 saturation arithmetic;
* the three colour-to-grey rules (MATLAB ``rgb2gray``, OpenCV float ``cvtColor``, PIL ``convert('L')``);
* MATLAB ``fspecial('gaussian')``, separable 'valid' correlation (``filter2``; exact box sums on
  integer data; Octave's exact summation order is in :mod:`metrics._octave`), MATLAB ``conv2``
  with its tap accumulation order, Sobel filters, tiling helpers;
* MATLAB ``gradient``; 256-bin and 256x256 histograms and entropies;
* MATLAB's 2x2 down-sampling (``imfilter(ones(2)/4, 'symmetric')`` + ``1:2:end``).

The operations of reference code that is itself PyTorch run in PyTorch (``_torch_f32.py``).

Python loops run only over kernel taps, tiles, or blocks of rows or outputs (a few dozen iterations
at most), never over pixels, windows or histogram bins.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._errors import (
    ImageTooSmallError,
    InputRangeWarning,
    MetricInputError,
    QuantizationWarning,
)

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

IMAGE_NAMES = ("fused", "ir", "vis")


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckedImage:
    """A validated input image.

    ``data`` is float64, C-contiguous, H x W or H x W x 3, values in [0, 255]; ``integer`` tells
    whether every value is an integer (always true for uint8 input), i.e. whether the image is
    exactly what an 8-bit file would hold; ``dtype``, ``lo`` and ``hi`` are the dtype and the
    value range of the array as given (for the scale checks of :func:`check_triplet`).
    """

    name: str
    data: np.ndarray
    integer: bool
    dtype: np.dtype
    lo: float
    hi: float

    @property
    def unit_scale(self) -> bool:
        """Float data in [0, 1] that is not all zero: [0, 1]-scaled data, by all appearances."""
        return self.dtype.kind == "f" and 0.0 < self.hi <= 1.0

    @property
    def byte_scale(self) -> bool:
        """Integer-typed data, or data above 1: on the 0-255 scale."""
        return self.dtype.kind in "ui" or self.hi > 1.0

    def describe(self) -> str:
        return f"{self.name} ({self.dtype}, min {self.lo:g}, max {self.hi:g})"

    @property
    def channels(self) -> int:
        return 1 if self.data.ndim == 2 else self.data.shape[2]

    @property
    def hw(self) -> tuple[int, int]:
        return self.data.shape[0], self.data.shape[1]

    def channel(self, k: int) -> "CheckedImage":
        """Channel ``k`` of a colour image (the image itself when it is grey)."""
        if self.data.ndim == 2:
            return self
        return CheckedImage(self.name, np.ascontiguousarray(self.data[:, :, k]), self.integer,
                            self.dtype, self.lo, self.hi)


def check_image(x, name: str) -> CheckedImage:
    """Validate one input image and return it as a :class:`CheckedImage`.

    Accepted: array-likes of dtype uint8 (or another integer type with values in 0-255) or float
    with values in [0, 255], shaped H x W, H x W x 1 or H x W x 3 (RGB order).
    """
    a = np.asarray(x)
    kind = a.dtype.kind
    if kind not in "uif":
        raise MetricInputError(
            f"{name}: unsupported dtype {a.dtype}; expected uint8 or float with values in 0-255")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 3 and a.shape[2] != 3:
        hint = " (RGBA? drop the alpha channel)" if a.shape[2] == 4 else ""
        raise MetricInputError(
            f"{name}: expected H x W or H x W x 3 (RGB), got shape {a.shape}{hint}")
    if a.ndim not in (2, 3):
        raise MetricInputError(
            f"{name}: expected a 2-D (H x W) or 3-D (H x W x 3) array, got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise MetricInputError(f"{name}: empty image, shape {a.shape}")
    if kind == "f":
        finite = np.isfinite(a)
        if not finite.all():
            n_nan = int(np.isnan(a).sum())
            n_inf = int(a.size - finite.sum() - n_nan)
            raise MetricInputError(
                f"{name}: contains {n_nan} NaN and {n_inf} infinite values; metrics need finite "
                f"grey levels in [0, 255]")
    lo, hi = float(a.min()), float(a.max())
    if a.dtype != np.uint8:
        if lo < 0.0 or hi > 255.0:
            hint = ""
            if kind == "f" and lo >= -1.0 and hi <= 1.0:
                hint = "; it looks like [-1, 1] data: map it to [0, 255] first"
            elif kind == "f":
                hint = ("; metrics expect 0-255 grey levels: scale [0, 1] data by 255 and clip to "
                        "[0, 255], as saving an 8-bit image would")
            raise MetricInputError(
                f"{name}: values outside [0, 255] (min {lo:g}, max {hi:g}){hint}")
    data = np.ascontiguousarray(a, dtype=np.float64)
    if kind == "f":
        integer = integer_valued(data)
    else:
        integer = True
    return CheckedImage(name, data, integer, a.dtype, lo, hi)


def check_triplet(fused, ir, vis) -> tuple[CheckedImage, CheckedImage, CheckedImage]:
    """Validate ``fused``, ``ir`` and ``vis`` and check that their sizes and scales agree.

    Scale rule (every metric expects 0-255 grey levels): a float image whose values lie in
    [0, 1] (maximum <= 1, not all zero) next to an image on the 0-255 scale (integer dtype such
    as uint8, or maximum > 1) is refused with a :class:`MetricInputError`: scored as it is, it
    would give silently wrong numbers (a [0, 1] fused image with uint8 sources: EN 1.0, VIFF 0.0).
    An all-zero float image has no scale (0 * 255 = 0) and is accepted; a float image that really
    holds 0-255 levels no brighter than 1 can be passed as uint8. When all images are floats in
    [0, 1] the triplet is scored as given, with an :class:`InputRangeWarning`.
    """
    imgs = tuple(check_image(x, n) for x, n in zip((fused, ir, vis), IMAGE_NAMES))
    if len({im.hw for im in imgs}) != 1:
        desc = ", ".join(f"{im.name} has shape {im.data.shape}" for im in imgs)
        raise MetricInputError(
            f"image sizes differ: {desc}; fused, ir and vis must have the same height and width")
    unit = [im for im in imgs if im.unit_scale]
    byte = [im for im in imgs if im.byte_scale]
    if unit and byte:
        names = " and ".join(im.name for im in unit)
        raise MetricInputError(
            f"images on different scales: {', '.join(im.describe() for im in unit)} "
            f"{'holds' if len(unit) == 1 else 'hold'} float values in [0, 1] while "
            f"{', '.join(im.describe() for im in byte)} {'is' if len(byte) == 1 else 'are'} on "
            f"the 0-255 scale; metrics expect 0-255 grey levels for every image: multiply {names} "
            f"by 255 (round and clip to 0-255, as saving an 8-bit image would), or pass it as "
            f"uint8 if it really holds 0-255 levels no brighter than 1")
    if unit:
        warnings.warn(
            "all three images are float with values <= 1; metrics expect the 0-255 scale: "
            "multiply [0, 1] data by 255", InputRangeWarning, stacklevel=3)
    return imgs  # type: ignore[return-value]


def check_min_size(hw: tuple[int, int], minimum: int, what: str) -> None:
    """Raise :class:`ImageTooSmallError` unless both image sides are >= ``minimum``."""
    if min(hw) < minimum:
        raise ImageTooSmallError(
            f"{what} needs images of at least {minimum} x {minimum} pixels (smaller side >= "
            f"{minimum}), got {hw[0]} x {hw[1]}")


# --------------------------------------------------------------------------------------------------
# Rounding and 8-bit arithmetic
# --------------------------------------------------------------------------------------------------
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


def levels(img: CheckedImage | np.ndarray, integer: bool | None = None, what: str = "") -> np.ndarray:
    """Grey levels 0..255 as a ``uint8`` array, for histogram indexing.

    Integer-valued data are used as they are. Non-integer float data are rounded with MATLAB
    ``uint8()`` semantics and a :class:`QuantizationWarning` is emitted.
    """
    if isinstance(img, CheckedImage):
        data, integer = img.data, img.integer
    else:
        data = img
        if integer is None:
            integer = integer_valued(data)
    if not integer:
        warnings.warn(
            f"{what or 'histogram metric'}: non-integer float input rounded to 8-bit grey levels "
            f"(MATLAB uint8 semantics), as the reference code only ever sees 8-bit images",
            QuantizationWarning, stacklevel=3)
        data = to_uint8(data)
    return data.astype(np.uint8)


# --------------------------------------------------------------------------------------------------
# Colour to grey
# --------------------------------------------------------------------------------------------------
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
SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])  # h3 (spec 3.2)
SOBEL_Y = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])  # h1 = fspecial('sobel')


def conv2_valid_matlab(pp: np.ndarray, h: np.ndarray) -> np.ndarray:
    """True 2-D convolution of an already zero-padded array, 'valid' part, accumulated in MATLAB's
    ``conv2`` order.

    ``conv2(p, h, 'same')`` for an odd kernel equals this applied to ``p`` zero-padded by
    ``(kr-1)//2`` rows and ``(kc-1)//2`` columns. Every output accumulates ``h[r, c] * p`` over the
    kernel elements in column-major order (row index fastest), starting from 0. On non-integer data
    this order decides ties such as ``Sx == 0`` in Qabf (spec 4.9); zero taps add exact zeros and
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


# --------------------------------------------------------------------------------------------------
# Histograms, entropies
# --------------------------------------------------------------------------------------------------
def hist256(q: np.ndarray) -> np.ndarray:
    """256-bin histogram of grey levels 0..255 (``imhist`` of a uint8 image)."""
    return np.bincount(q.ravel(), minlength=256)


def joint_hist256(a: np.ndarray, b: np.ndarray, top: int = 255) -> np.ndarray:
    """256 x 256 joint histogram ``h[a, b]`` of two grey-level arrays, one ``bincount`` of the
    combined index per block of rows (cache-friendly). Levels above ``top`` are counted as ``top``
    (Tang's MI: ``top=254``, from ``x + 1`` saturating in uint8)."""
    out = np.zeros(65536, dtype=np.int64)
    rows = max(1, (1 << 16) // max(1, a.shape[-1]))
    for i0 in range(0, a.shape[0], rows):  # blocks of rows, not pixels
        ia = a[i0:i0 + rows].astype(np.intp)
        ib = b[i0:i0 + rows].astype(np.intp)
        if top < 255:
            np.minimum(ia, top, out=ia)
            np.minimum(ib, top, out=ib)
        ia *= 256
        ia += ib
        out += np.bincount(ia.ravel(), minlength=65536)
    return out.reshape(256, 256)


def entropy(counts: np.ndarray, base: float = 2.0) -> float:
    """Shannon entropy ``-sum p log p`` of a histogram (empty bins skipped), in log-``base`` units."""
    c = counts[counts > 0].astype(np.float64)
    p = c / c.sum()
    return float(-(p * np.log(p)).sum() / np.log(base))
